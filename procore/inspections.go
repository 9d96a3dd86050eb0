package procore

import (
	"context"
	"iter"
	"net/url"
)

// ChecklistList is an inspection (a checklist) as
// GET /rest/v1.0/projects/{project_id}/checklist/lists shows it: the list
// and the show carry the same fields, attachments and signatures
// included; the items' own attachments come from ListItemAttachments.
type ChecklistList struct {
	ID                    int64              `json:"id"`
	Number                FlexString         `json:"number"`
	Name                  string             `json:"name"`
	Status                string             `json:"status"`
	Description           string             `json:"description"`
	ListTemplateName      string             `json:"list_template_name"`
	InspectionDate        string             `json:"inspection_date"`
	DueAt                 Timestamp          `json:"due_at"`
	ClosedAt              Timestamp          `json:"closed_at"`
	CreatedAt             Timestamp          `json:"created_at"`
	UpdatedAt             Timestamp          `json:"updated_at"`
	Deleted               bool               `json:"deleted"`
	Private               bool               `json:"private"`
	InspectionType        *Named             `json:"inspection_type"`
	Location              *Named             `json:"location"`
	Trade                 *Named             `json:"trade"`
	ResponsibleContractor *Named             `json:"responsible_contractor"`
	CreatedBy             *Person            `json:"created_by"`
	ClosedBy              *Person            `json:"closed_by"`
	PointOfContact        *Person            `json:"point_of_contact"`
	Inspectors            []Person           `json:"inspectors"`
	SignatureRequests     []SignatureRequest `json:"signature_requests"`
	Attachments           []Attachment       `json:"attachments"`
	ItemCount             int                `json:"item_count"`
	ConformingItemCount   int                `json:"conforming_item_count"`
	DeficientItemCount    int                `json:"deficient_item_count"`
}

// SignatureRequest is a request for a signature on an inspection, with the
// signature once captured.
type SignatureRequest struct {
	ID        int64      `json:"id"`
	Signatory *Person    `json:"signatory"`
	Signature *Signature `json:"signature"`
}

// Signature is a captured signature: its image is an attachment.
type Signature struct {
	ID         int64       `json:"id"`
	CapturedAt Timestamp   `json:"captured_at"`
	Attachment *Attachment `json:"attachment"`
}

// ChecklistItem is one item of an inspection with its response.
type ChecklistItem struct {
	ID           int64                  `json:"id"`
	ListID       int64                  `json:"list_id"`
	Name         string                 `json:"name"`
	Details      string                 `json:"details"`
	Position     int                    `json:"position"`
	ItemResponse *ChecklistItemResponse `json:"item_response"`
	UpdatedAt    Timestamp              `json:"updated_at"`
}

// ChecklistItemResponse is an item's response.
type ChecklistItemResponse struct {
	Status      string    `json:"status"`
	RespondedAt Timestamp `json:"responded_at"`
	Responder   *Person   `json:"responder"`
}

// ChecklistItemAttachment is a file attached to an inspection item.
type ChecklistItemAttachment struct {
	ID         int64      `json:"id"`
	ItemID     int64      `json:"item_id"`
	CreatedAt  Timestamp  `json:"created_at"`
	CreatedBy  *Person    `json:"created_by"`
	Attachment Attachment `json:"attachment"`
}

// InspectionsService handles a project's inspections (checklists).
type InspectionsService service

func checklistPath(projectID int64, rest string) string {
	return "/rest/v1.0/projects/" + itoa(projectID) + "/checklist/" + rest
}

// List iterates over the project's live inspections
// (GET /rest/v1.0/projects/{project_id}/checklist/lists).
func (s *InspectionsService) List(ctx context.Context, projectID int64, opts *RecordListOptions) iter.Seq2[ChecklistList, error] {
	return listAll[ChecklistList](ctx, s.c, checklistPath(projectID, "lists"), nil, opts)
}

// Get returns one inspection
// (GET /rest/v1.0/projects/{project_id}/checklist/lists/{id}).
func (s *InspectionsService) Get(ctx context.Context, projectID, id int64) (*ChecklistList, *Response, error) {
	return getOne[ChecklistList](ctx, s.c, checklistPath(projectID, "lists/"+itoa(id)))
}

// Items iterates over the items of the project's inspections, of one
// inspection when listID is not 0 (filters[list_id])
// (GET /rest/v1.0/projects/{project_id}/checklist/list_items).
func (s *InspectionsService) Items(ctx context.Context, projectID, listID int64, opts *RecordListOptions) iter.Seq2[ChecklistItem, error] {
	q := url.Values{}
	if listID != 0 {
		q.Set("filters[list_id]", itoa(listID))
	}
	return listAll[ChecklistItem](ctx, s.c, checklistPath(projectID, "list_items"), q, opts)
}

// ItemAttachments iterates over the files attached to inspection items,
// of the given items only when itemIDs is not empty (filters[item_id][])
// (GET /rest/v1.0/projects/{project_id}/checklist/list_item_attachments).
func (s *InspectionsService) ItemAttachments(ctx context.Context, projectID int64, itemIDs []int64, opts *RecordListOptions) iter.Seq2[ChecklistItemAttachment, error] {
	q := url.Values{}
	for _, id := range itemIDs {
		q.Add("filters[item_id][]", itoa(id))
	}
	return listAll[ChecklistItemAttachment](ctx, s.c, checklistPath(projectID, "list_item_attachments"), q, opts)
}

// Recycled iterates over the inspections in the recycle bin
// (GET /rest/v1.0/projects/{project_id}/recycle_bin/checklist/lists).
func (s *InspectionsService) Recycled(ctx context.Context, projectID int64, opts *ListOptions) iter.Seq2[ChecklistList, error] {
	return listAll[ChecklistList](ctx, s.c, "/rest/v1.0/projects/"+itoa(projectID)+"/recycle_bin/checklist/lists", url.Values{}, recordOptions(opts))
}

// ItemsByID iterates over the inspection items with the given IDs
// (filters[id][] on GET /rest/v1.0/projects/{project_id}/checklist/list_items).
func (s *InspectionsService) ItemsByID(ctx context.Context, projectID int64, ids []int64, opts *RecordListOptions) iter.Seq2[ChecklistItem, error] {
	q := url.Values{}
	for _, id := range ids {
		q.Add("filters[id][]", itoa(id))
	}
	return listAll[ChecklistItem](ctx, s.c, checklistPath(projectID, "list_items"), q, opts)
}
