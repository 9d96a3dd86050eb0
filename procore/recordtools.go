package procore

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// MapStorageError turns an error of the client (an *ErrorResponse, a
// *RateLimitError, …) into the *storage.Error of operation op on path p
// with the matching kind (storage.ErrNotFound for a 404, ErrThrottled for a
// 429, …), as the Documents and Photos storages report them. Storages over
// Procore built outside this package (procore/records) use it.
func MapStorageError(op, p string, err error) error { return mapErr(op, p, err) }

// FlexString is a value Procore sends as a JSON string in some tools and
// as a number in others (record numbers: an RFI's "12", an inspection's
// 12). It holds the text either way.
type FlexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = FlexString(n.String())
	return nil
}

// String returns the text.
func (f FlexString) String() string { return string(f) }

// Person is a user as record tools show one (created_by, assignee, …).
type Person struct {
	ID          int64  `json:"id"`
	Login       string `json:"login,omitempty"`
	Name        string `json:"name"`
	CompanyName string `json:"company_name,omitempty"`
}

// Named is a reference with a name (location, trade, vendor, status, …).
type Named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Attachment is a file attached to a record. Procore names it with name
// or, in older shapes, the deprecated filename. URL is on a Procore file
// host (it carries a signature that changes between reads) and is
// downloaded with Client.Download.
type Attachment struct {
	ID          int64  `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Filename    string `json:"filename,omitempty"`
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
}

// FileName is the attachment's name (name, else filename).
func (a Attachment) FileName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Filename
}

// RecordListOptions filter the listings of the record tools (RFIs,
// Submittals, Observations, Inspections, Incidents, Forms, Commitments).
type RecordListOptions struct {
	ListOptions
	// UpdatedFrom and UpdatedTo, when either is set, send
	// filters[updated_at]=<from>...<to> (RFC 3339, UTC; Procore's
	// filtering guide): only records updated in that window.
	UpdatedFrom, UpdatedTo time.Time
}

// DefaultRecordPerPage is the per_page the record listings ask for when
// RecordListOptions.PerPage is 0.
const DefaultRecordPerPage = 100

func (o *RecordListOptions) values(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	per := DefaultRecordPerPage
	if o != nil && o.PerPage > 0 {
		per = o.PerPage
	}
	q.Set("per_page", strconv.Itoa(per))
	if o != nil && (!o.UpdatedFrom.IsZero() || !o.UpdatedTo.IsZero()) {
		q.Set("filters[updated_at]", timeRange(o.UpdatedFrom, o.UpdatedTo))
	}
	return q
}

func timeRange(from, to time.Time) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return f(from) + "..." + f(to)
}

func (o *RecordListOptions) first() int {
	if o == nil {
		return 1
	}
	return o.Page
}

// listAll pages through a record listing at path with query q.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values, opts *RecordListOptions) iter.Seq2[T, error] {
	q = opts.values(q)
	return paginate(ctx, opts.first(), func(page int) ([]T, *Response, error) {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(page))
		var out []T
		resp, err := c.get(ctx, path+"?"+qq.Encode(), &out)
		return out, resp, err
	})
}

// getOne reads one object at path.
func getOne[T any](ctx context.Context, c *Client, path string) (*T, *Response, error) {
	var out T
	resp, err := c.get(ctx, path, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// recordOptions turns page options into record-listing options.
func recordOptions(opts *ListOptions) *RecordListOptions {
	if opts == nil {
		return nil
	}
	return &RecordListOptions{ListOptions: *opts}
}

// apiURL is the absolute URL of an API path (for downloads of Procore's
// PDF exports through Client.Download).
func (c *Client) apiURL(path string) string { return c.BaseURL.String() + path }

// The record tools a webhook event is mapped to (ToolOf, Receiver.Watch).
const (
	ToolRFIs         = "rfis"
	ToolSubmittals   = "submittals"
	ToolObservations = "observations"
	ToolInspections  = "inspections"
	ToolIncidents    = "incidents"
	ToolForms        = "forms"
	ToolCommitments  = "commitments"
	ToolDrawings     = "drawings"
	ToolDailyLog     = "dailylog"
)

// RecordResources are the webhook resource names of each record tool, to
// register with WebhooksService.RegisterHookV2 (which subscribes only the
// event types Procore offers for each) and to wake the tool's storage. GET …/webhooks/resources is the authority; these names come
// from a sandbox listing and are unconfirmed against a live tenant
// ("Inspection Checklists" offers create and update events only: a
// recycled inspection is seen by the deletion check, not by a wake-up).
var RecordResources = map[string][]string{
	ToolRFIs:         {"RFIs", "RFI Replies"},
	ToolSubmittals:   {"Submittals", "Submittal Packages"},
	ToolObservations: {"Observation Items"},
	ToolInspections:  {"Inspection Checklists", "Inspection Logs"},
	ToolIncidents:    {"Incidents"},
	ToolForms:        {"Forms"},
	ToolCommitments:  {"Work Order Contracts", "Purchase Order Contracts"},
	// Drawing revisions have no resource of their own in the listing;
	// "Drawings" covers new revisions of a drawing.
	ToolDrawings: {"Drawings", "Drawing Areas"},
	// "Weather Logs" offers create and update events only.
	ToolDailyLog: {"Daily Logs", "Daily Log/Entries", "Daily Construction Report Logs", "Accident Logs",
		"Manpower Logs", "Notes Logs", "Weather Logs"},
}

// recordToolOf maps a webhook resource name to a record tool ("" if
// none).
func recordToolOf(resource string) string {
	for tool, names := range RecordResources {
		for _, n := range names {
			if n == resource {
				return tool
			}
		}
	}
	return ""
}
