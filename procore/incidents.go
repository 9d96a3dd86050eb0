package procore

import (
	"context"
	"iter"
	"net/url"
)

// Incident is an incident report. The list gives no attachments (only
// attachments_count); Get gives them.
type Incident struct {
	ID                    int64        `json:"id"`
	Number                FlexString   `json:"number"`
	Title                 string       `json:"title"`
	Description           string       `json:"description"`
	Status                string       `json:"status"`
	EventDate             Timestamp    `json:"event_date"`
	TimeUnknown           bool         `json:"time_unknown"`
	Private               bool         `json:"private"`
	Recordable            bool         `json:"recordable"`
	CreatedAt             Timestamp    `json:"created_at"`
	UpdatedAt             Timestamp    `json:"updated_at"`
	DeletedAt             Timestamp    `json:"deleted_at"`
	AttachmentsCount      int          `json:"attachments_count"`
	Location              *Named       `json:"location"`
	Hazard                *Named       `json:"hazard"`
	ContributingBehavior  *Named       `json:"contributing_behavior"`
	ContributingCondition *Named       `json:"contributing_condition"`
	Attachments           []Attachment `json:"attachments"`
}

// IncidentsService handles a project's incidents.
type IncidentsService service

func incidentPath(projectID int64, rest string) string {
	return "/rest/v1.0/projects/" + itoa(projectID) + "/" + rest
}

// List iterates over the project's live incidents
// (GET /rest/v1.0/projects/{project_id}/incidents; per_page at most 1000).
func (s *IncidentsService) List(ctx context.Context, projectID int64, opts *RecordListOptions) iter.Seq2[Incident, error] {
	return listAll[Incident](ctx, s.c, incidentPath(projectID, "incidents"), nil, opts)
}

// Get returns one incident with its attachments
// (GET /rest/v1.0/projects/{project_id}/incidents/{id}).
func (s *IncidentsService) Get(ctx context.Context, projectID, id int64) (*Incident, *Response, error) {
	return getOne[Incident](ctx, s.c, incidentPath(projectID, "incidents/"+itoa(id)))
}

// Recycled iterates over the incidents in the recycle bin
// (GET /rest/v1.0/projects/{project_id}/recycle_bin/incidents).
func (s *IncidentsService) Recycled(ctx context.Context, projectID int64, opts *ListOptions) iter.Seq2[Incident, error] {
	return listAll[Incident](ctx, s.c, incidentPath(projectID, "recycle_bin/incidents"), url.Values{}, recordOptions(opts))
}
