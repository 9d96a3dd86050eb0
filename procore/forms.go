package procore

import (
	"context"
	"iter"
	"net/url"
)

// Form is a project form: a filled-in form template. The list (v1.1) and
// the show carry the attachments and the fillable PDF.
type Form struct {
	ID               int64        `json:"id"`
	Name             string       `json:"name"`
	Description      string       `json:"description"`
	FormTemplateID   int64        `json:"form_template_id"`
	FormTemplateName string       `json:"form_template_name"`
	Private          bool         `json:"private"`
	Deleted          bool         `json:"deleted"`
	CreatedAt        Timestamp    `json:"created_at"`
	UpdatedAt        Timestamp    `json:"updated_at"`
	CreatedBy        *Person      `json:"created_by"`
	FillablePDF      *Attachment  `json:"fillable_pdf"`
	Attachment       *Attachment  `json:"attachment"`
	Attachments      []Attachment `json:"attachments"`
}

// FormsService handles a project's forms.
type FormsService service

// List iterates over the project's live forms
// (GET /rest/v1.1/projects/{project_id}/forms).
func (s *FormsService) List(ctx context.Context, projectID int64, opts *RecordListOptions) iter.Seq2[Form, error] {
	return listAll[Form](ctx, s.c, "/rest/v1.1/projects/"+itoa(projectID)+"/forms", nil, opts)
}

// Get returns one form (GET /rest/v1.0/projects/{project_id}/forms/{id}).
func (s *FormsService) Get(ctx context.Context, projectID, id int64) (*Form, *Response, error) {
	return getOne[Form](ctx, s.c, "/rest/v1.0/projects/"+itoa(projectID)+"/forms/"+itoa(id))
}

// Recycled iterates over the forms in the recycle bin
// (GET /rest/v1.0/projects/{project_id}/recycle_bin/forms).
func (s *FormsService) Recycled(ctx context.Context, projectID int64, opts *ListOptions) iter.Seq2[Form, error] {
	return listAll[Form](ctx, s.c, "/rest/v1.0/projects/"+itoa(projectID)+"/recycle_bin/forms", url.Values{}, recordOptions(opts))
}
