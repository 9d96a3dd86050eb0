package procore

import (
	"context"
	"iter"
	"net/url"
)

// FormTemplate is a company form template: the blank form (its fillable
// PDF) that project forms are filled in from.
type FormTemplate struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	CreatedAt   Timestamp   `json:"created_at"`
	UpdatedAt   Timestamp   `json:"updated_at"`
	CreatedBy   *Person     `json:"created_by"`
	Attachment  *Attachment `json:"attachment"`
	FillablePDF *Attachment `json:"fillable_pdf"`
}

// FormTemplatesService handles a company's form templates.
type FormTemplatesService service

func formTemplatePath(companyID int64, rest string) string {
	return "/rest/v1.0/companies/" + itoa(companyID) + "/" + rest
}

// List iterates over the company's live form templates
// (GET /rest/v1.0/companies/{company_id}/form_templates).
func (s *FormTemplatesService) List(ctx context.Context, companyID int64, opts *RecordListOptions) iter.Seq2[FormTemplate, error] {
	return listAll[FormTemplate](ctx, s.c, formTemplatePath(companyID, "form_templates"), nil, opts)
}

// Get returns one form template
// (GET /rest/v1.0/companies/{company_id}/form_templates/{id}).
func (s *FormTemplatesService) Get(ctx context.Context, companyID, id int64) (*FormTemplate, *Response, error) {
	return getOne[FormTemplate](ctx, s.c, formTemplatePath(companyID, "form_templates/"+itoa(id)))
}

// Recycled iterates over the form templates in the company's recycle bin
// (GET /rest/v1.0/companies/{company_id}/recycle_bin/form_templates).
func (s *FormTemplatesService) Recycled(ctx context.Context, companyID int64, opts *ListOptions) iter.Seq2[FormTemplate, error] {
	return listAll[FormTemplate](ctx, s.c, formTemplatePath(companyID, "recycle_bin/form_templates"), url.Values{}, recordOptions(opts))
}
