package procore

import (
	"context"
	"fmt"
	"iter"
	"net/url"
)

// ObservationItem is an observation. The list has no attachments; Get
// has them.
type ObservationItem struct {
	ID                   int64        `json:"id"`
	Number               FlexString   `json:"number"`
	Name                 string       `json:"name"`
	Description          string       `json:"description"`
	Status               string       `json:"status"`
	Priority             string       `json:"priority"`
	DateNotified         string       `json:"date_notified"`
	DueDate              string       `json:"due_date"`
	Personal             bool         `json:"personal"`
	CreatedAt            Timestamp    `json:"created_at"`
	UpdatedAt            Timestamp    `json:"updated_at"`
	ClosedAt             Timestamp    `json:"closed_at"`
	DeletedAt            Timestamp    `json:"deleted_at"`
	Assignee             *Person      `json:"assignee"`
	CreatedBy            *Person      `json:"created_by"`
	Location             *Named       `json:"location"`
	Trade                *Named       `json:"trade"`
	Type                 *Named       `json:"type"`
	SpecificationSection *SpecSection `json:"specification_section"`
	Attachments          []Attachment `json:"attachments"`
}

// ObservationsService handles a project's observations.
type ObservationsService service

func observationPath(rest string, projectID int64, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("project_id", itoa(projectID))
	return "/rest/v1.0/observations/items" + rest + "?" + q.Encode()
}

// List iterates over the project's live observations with
// GET /rest/v1.0/observations/items?project_id=.
func (s *ObservationsService) List(ctx context.Context, projectID int64, opts *RecordListOptions) iter.Seq2[ObservationItem, error] {
	return listAll[ObservationItem](ctx, s.c, "/rest/v1.0/observations/items", url.Values{"project_id": {itoa(projectID)}}, opts)
}

// Get returns one observation with its attachments
// (GET /rest/v1.0/observations/items/{id}?project_id=).
func (s *ObservationsService) Get(ctx context.Context, projectID, id int64) (*ObservationItem, *Response, error) {
	return getOne[ObservationItem](ctx, s.c, observationPath("/"+itoa(id), projectID, nil))
}

// Recycled iterates over the observations in the recycle bin
// (GET /rest/v1.0/projects/{project_id}/recycle_bin/observations/items).
func (s *ObservationsService) Recycled(ctx context.Context, projectID int64, opts *ListOptions) iter.Seq2[ObservationItem, error] {
	return listAll[ObservationItem](ctx, s.c, "/rest/v1.0/projects/"+itoa(projectID)+"/recycle_bin/observations/items", url.Values{}, recordOptions(opts))
}

// PDFURL asks Procore for the URL of its PDF of an observation
// (GET /rest/v1.0/observations/items/{id}/pdf?project_id=, "Get
// Observation Item PDF url": an object whose url is on a Procore file
// host), for Client.Download.
func (s *ObservationsService) PDFURL(ctx context.Context, projectID, id int64) (string, *Response, error) {
	var out struct {
		URL string `json:"url"`
	}
	resp, err := s.c.get(ctx, observationPath("/"+itoa(id)+"/pdf", projectID, nil), &out)
	if err != nil {
		return "", resp, err
	}
	if out.URL == "" {
		return "", resp, fmt.Errorf("%w: observation %d PDF: no url in the response", ErrMalformedResponse, id)
	}
	return out.URL, resp, nil
}
