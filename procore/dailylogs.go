package procore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"
)

// DailyLogType is one type of a project's Daily Log (weather, manpower,
// notes, …): a list endpoint under /rest/v1.0/projects/{project_id}/
// (/rest/v1.1/projects/{project_id}/daily_logs/ for weather) that takes
// log_date or start_date and end_date, and has no filters[updated_at].
type DailyLogType struct {
	// Resource is the endpoint's last path element ("weather_logs").
	Resource string
	// Name is the log's name as Procore's web UI shows it ("Weather").
	Name string
	// Path is the list path below /rest/, with %d for the project ID.
	Path string
	// Paged is false for lists without page and per_page
	// (plan_revision_logs returns the whole window at once).
	Paged bool
	// Status is true for lists that take filters[status]
	// (pending|approved|all).
	Status bool
}

// DailyLogTypes are the project Daily Log types that have a date, in the
// order Procore's web UI shows them. Time-and-material and managed
// equipment logs have no date parameters and are not part of the daily
// log.
var DailyLogTypes = []DailyLogType{
	{Resource: "weather_logs", Name: "Weather", Path: "v1.1/projects/%d/daily_logs/weather_logs", Paged: true, Status: true},
	{Resource: "manpower_logs", Name: "Manpower", Path: "v1.0/projects/%d/manpower_logs", Paged: true, Status: true},
	{Resource: "notes_logs", Name: "Notes", Path: "v1.0/projects/%d/notes_logs", Paged: true, Status: true},
	{Resource: "equipment_logs", Name: "Equipment", Path: "v1.0/projects/%d/equipment_logs", Paged: true},
	{Resource: "visitor_logs", Name: "Visitors", Path: "v1.0/projects/%d/visitor_logs", Paged: true},
	{Resource: "call_logs", Name: "Phone Calls", Path: "v1.0/projects/%d/call_logs", Paged: true},
	{Resource: "inspection_logs", Name: "Inspections", Path: "v1.0/projects/%d/inspection_logs", Paged: true},
	{Resource: "delivery_logs", Name: "Deliveries", Path: "v1.0/projects/%d/delivery_logs", Paged: true, Status: true},
	{Resource: "safety_violation_logs", Name: "Safety Violations", Path: "v1.0/projects/%d/safety_violation_logs", Paged: true},
	{Resource: "accident_logs", Name: "Accidents", Path: "v1.0/projects/%d/accident_logs", Paged: true},
	{Resource: "quantity_logs", Name: "Quantities", Path: "v1.0/projects/%d/quantity_logs", Paged: true},
	{Resource: "productivity_logs", Name: "Productivity", Path: "v1.0/projects/%d/productivity_logs", Paged: true},
	{Resource: "dumpster_logs", Name: "Dumpster", Path: "v1.0/projects/%d/dumpster_logs", Paged: true},
	{Resource: "waste_logs", Name: "Waste", Path: "v1.0/projects/%d/waste_logs", Paged: true},
	{Resource: "work_logs", Name: "Scheduled Work", Path: "v1.0/projects/%d/work_logs", Paged: true},
	{Resource: "delay_logs", Name: "Delays", Path: "v1.0/projects/%d/delay_logs", Paged: true},
	{Resource: "plan_revision_logs", Name: "Plan Revisions", Path: "v1.0/projects/%d/plan_revision_logs"},
	{Resource: "daily_construction_report_logs", Name: "Daily Construction Report", Path: "v1.0/projects/%d/daily_construction_report_logs", Paged: true, Status: true},
}

// DailyLogTypeByResource returns the type whose Resource is r.
func DailyLogTypeByResource(r string) (DailyLogType, bool) {
	for _, t := range DailyLogTypes {
		if t.Resource == r {
			return t, true
		}
	}
	return DailyLogType{}, false
}

// ErrBadDate is matched (errors.Is) by the error of a Daily Log call given
// a malformed date or an end before its start.
var ErrBadDate = errors.New("procore: bad daily log date")

// DateLayout is the layout of Daily Log dates (log_date, start_date,
// end_date, an entry's date): YYYY-MM-DD.
const DateLayout = "2006-01-02"

// ParseLogDate parses a YYYY-MM-DD Daily Log date.
func ParseLogDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	return t, nil
}

// DailyLogEntry is one entry of a Daily Log type. Every log type has its
// own columns: the common ones are decoded into fields, and Raw keeps the
// whole object as Procore sent it (for printing every field a person
// sees).
type DailyLogEntry struct {
	ID          int64        `json:"id"`
	Date        string       `json:"date"` // YYYY-MM-DD
	Datetime    Timestamp    `json:"datetime"`
	CreatedAt   Timestamp    `json:"created_at"`
	UpdatedAt   Timestamp    `json:"updated_at"`
	DeletedAt   Timestamp    `json:"deleted_at"` // set on deleted entries (v1.1 weather logs list them)
	Position    int          `json:"position"`
	Status      string       `json:"status"`
	CreatedBy   *User        `json:"created_by"`
	Attachments []Attachment `json:"attachments"`
	// Raw is every field of the entry as sent.
	Raw map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the common fields and keeps the whole object in
// Raw.
func (e *DailyLogEntry) UnmarshalJSON(b []byte) error {
	type plain DailyLogEntry
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = DailyLogEntry(p)
	e.Raw = raw
	return nil
}

// Deleted reports whether the entry carries a deleted_at stamp.
func (e *DailyLogEntry) Deleted() bool { return !e.DeletedAt.IsZero() }

// DailyLogListOptions select the entries of a date window.
type DailyLogListOptions struct {
	ListOptions
	// LogDate asks for one day (YYYY-MM-DD); otherwise StartDate and
	// EndDate (both YYYY-MM-DD) bound the window. Procore answers a list
	// without any date with today's entries only.
	LogDate            string
	StartDate, EndDate string
	// Status is sent as filters[status] to the types that take it
	// ("pending", "approved", "all"; "": the endpoint's default).
	Status string
}

func (o *DailyLogListOptions) query(t DailyLogType) (url.Values, error) {
	q := url.Values{}
	if o == nil {
		return q, nil
	}
	if t.Paged {
		o.ListOptions.apply(q)
	}
	if err := setDates(q, o.LogDate, o.StartDate, o.EndDate); err != nil {
		return nil, err
	}
	if o.Status != "" && t.Status {
		q.Set("filters[status]", o.Status)
	}
	return q, nil
}

// setDates validates and sets log_date or start_date and end_date.
func setDates(q url.Values, logDate, start, end string) error {
	if logDate != "" {
		if _, err := ParseLogDate(logDate); err != nil {
			return err
		}
		q.Set("log_date", logDate)
		return nil
	}
	if (start == "") != (end == "") {
		return fmt.Errorf("%w: start_date and end_date go together", ErrBadDate)
	}
	if start == "" {
		return nil
	}
	s, err := ParseLogDate(start)
	if err != nil {
		return err
	}
	e, err := ParseLogDate(end)
	if err != nil {
		return err
	}
	if e.Before(s) {
		return fmt.Errorf("%w: end_date %s before start_date %s", ErrBadDate, end, start)
	}
	q.Set("start_date", start)
	q.Set("end_date", end)
	return nil
}

// DailyLogCount is how many entries of one log type match a window
// (GET /rest/v1.0/projects/{project_id}/daily_logs/count).
type DailyLogCount struct {
	ModuleName string `json:"module_name"`
	Count      int    `json:"count"`
	Position   int    `json:"position"`
}

// DailyLogHeader is a day of the Daily Log
// (GET /rest/v1.0/projects/{project_id}/daily_log_headers/index): the day
// and whether it was completed and distributed. Images filed on a day
// carry its ID as daily_log_header_id.
type DailyLogHeader struct {
	ID            int64     `json:"id"`
	LogDate       string    `json:"log_date"`
	LogDatetime   Timestamp `json:"log_datetime"`
	Completed     bool      `json:"completed"`
	CompletedBy   *User     `json:"completed_by"`
	CompletedAt   Timestamp `json:"completed_at"`
	Distributed   bool      `json:"distributed"`
	DistributedBy *User     `json:"distributed_by"`
	DistributedAt Timestamp `json:"distributed_at"`
}

// DailyLogsService reads a project's Daily Log.
type DailyLogsService service

func dailyLogPath(t DailyLogType, projectID int64, q url.Values) string {
	p := "/rest/" + fmt.Sprintf(t.Path, projectID)
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// List returns one page of log type t's entries in a window
// (GET /rest/v1.0/projects/{project_id}/<type>, weather on v1.1).
func (s *DailyLogsService) List(ctx context.Context, projectID int64, t DailyLogType, opts *DailyLogListOptions) ([]DailyLogEntry, *Response, error) {
	q, err := opts.query(t)
	if err != nil {
		return nil, nil, err
	}
	var out []DailyLogEntry
	resp, err := s.c.get(ctx, dailyLogPath(t, projectID, q), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over every entry of log type t in the window, page after
// page (one request for types that are not paged).
func (s *DailyLogsService) All(ctx context.Context, projectID int64, t DailyLogType, opts *DailyLogListOptions) iter.Seq2[DailyLogEntry, error] {
	o := DailyLogListOptions{}
	if opts != nil {
		o = *opts
	}
	if !t.Paged {
		return func(yield func(DailyLogEntry, error) bool) {
			items, _, err := s.List(ctx, projectID, t, &o)
			if err != nil {
				yield(DailyLogEntry{}, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
	return paginate(ctx, o.Page, func(page int) ([]DailyLogEntry, *Response, error) {
		o.Page = page
		return s.List(ctx, projectID, t, &o)
	})
}

// Counts returns how many entries each log type has in a window (start
// and end YYYY-MM-DD) with GET /rest/v1.0/projects/{project_id}/daily_logs/count.
// status is sent as filters[status] ("": the endpoint's default, approved
// entries).
func (s *DailyLogsService) Counts(ctx context.Context, projectID int64, start, end, status string) ([]DailyLogCount, *Response, error) {
	q := url.Values{}
	if err := setDates(q, "", start, end); err != nil {
		return nil, nil, err
	}
	if status != "" {
		q.Set("filters[status]", status)
	}
	var out []DailyLogCount
	resp, err := s.c.get(ctx, "/rest/v1.0/projects/"+itoa(projectID)+"/daily_logs/count?"+q.Encode(), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Headers iterates over the days of a window that have a Daily Log header
// (GET /rest/v1.0/projects/{project_id}/daily_log_headers/index).
func (s *DailyLogsService) Headers(ctx context.Context, projectID int64, start, end string, perPage int) iter.Seq2[DailyLogHeader, error] {
	return paginate(ctx, 1, func(page int) ([]DailyLogHeader, *Response, error) {
		q := url.Values{}
		if err := setDates(q, "", start, end); err != nil {
			return nil, nil, err
		}
		(&ListOptions{Page: page, PerPage: perPage}).apply(q)
		var out []DailyLogHeader
		resp, err := s.c.get(ctx, "/rest/v1.0/projects/"+itoa(projectID)+"/daily_log_headers/index?"+q.Encode(), &out)
		if err != nil {
			return nil, resp, err
		}
		return out, resp, nil
	})
}

// MatchCountModule returns the log type a daily_logs/count module_name
// names. Procore documents module_name only as "the name of the log type";
// the resource ("weather_logs"), its singular, and the UI name ("Weather")
// in any case and spacing are recognised.
func MatchCountModule(name string) (DailyLogType, bool) {
	norm := func(s string) string {
		s = strings.ToLower(s)
		var b strings.Builder
		for _, r := range s {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		out := b.String()
		for _, suf := range []string{"logs", "log"} {
			if strings.HasSuffix(out, suf) && len(out) > len(suf) {
				return strings.TrimSuffix(out, suf)
			}
		}
		return out
	}
	n := norm(name)
	for _, t := range DailyLogTypes {
		if norm(t.Resource) == n || norm(t.Name) == n || strings.TrimSuffix(norm(t.Name), "s") == n {
			return t, true
		}
	}
	return DailyLogType{}, false
}
