package procore

import (
	"context"
	"iter"
	"net/url"
)

// Submittal is a submittal (one revision of it) as GET
// /rest/v1.1/projects/{project_id}/submittals/{id} shows it; the list
// carries the same fields except Attachments and DistributedSubmittals.
type Submittal struct {
	ID                    int64                  `json:"id"`
	Number                FlexString             `json:"number"`
	FormattedNumber       string                 `json:"formatted_number"`
	Title                 string                 `json:"title"`
	Description           string                 `json:"description"`
	Revision              FlexString             `json:"revision"`
	CurrentRevision       bool                   `json:"current_revision"`
	Private               bool                   `json:"private"`
	Status                *SubmittalStatus       `json:"status"`
	Type                  *Named                 `json:"type"`
	DueDate               string                 `json:"due_date"`
	IssueDate             string                 `json:"issue_date"`
	ReceivedDate          string                 `json:"received_date"`
	CreatedAt             Timestamp              `json:"created_at"`
	UpdatedAt             Timestamp              `json:"updated_at"`
	DistributedAt         Timestamp              `json:"distributed_at"`
	ClosedAt              Timestamp              `json:"closed_at"`
	DeletedAt             Timestamp              `json:"deleted_at"`
	CreatedBy             *Person                `json:"created_by"`
	SubmittalManager      *Person                `json:"submittal_manager"`
	ReceivedFrom          *Person                `json:"received_from"`
	ResponsibleContractor *Named                 `json:"responsible_contractor"`
	SpecificationSection  *SpecSection           `json:"specification_section"`
	Attachments           []Attachment           `json:"attachments"`
	AssociatedAttachments []SubmittalAttachment  `json:"associated_attachments"`
	Approvers             []SubmittalApprover    `json:"approvers"`
	DistributedSubmittals []DistributedSubmittal `json:"distributed_submittals"`
}

// SubmittalStatus is a submittal's status.
type SubmittalStatus struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// SpecSection is a specification section.
type SpecSection struct {
	ID          int64  `json:"id"`
	Number      string `json:"number"`
	Description string `json:"description"`
}

// SubmittalAttachment is one of a submittal's associated attachments.
type SubmittalAttachment struct {
	ID           int64     `json:"id"`
	AttachmentID int64     `json:"attachment_id"`
	Filename     string    `json:"filename"`
	URL          string    `json:"url"`
	UpdatedAt    Timestamp `json:"updated_at"`
}

// SubmittalApprover is one approver of a submittal's workflow, with the
// files they returned.
type SubmittalApprover struct {
	ID           int64        `json:"id"`
	Comment      string       `json:"comment"`
	ReturnedDate string       `json:"returned_date"`
	SentDate     string       `json:"sent_date"`
	User         *Person      `json:"user"`
	Response     *Named       `json:"response"`
	Attachments  []Attachment `json:"attachments"`
}

// DistributedSubmittal is one distribution of a submittal with its final
// attachments.
type DistributedSubmittal struct {
	ID               int64        `json:"id"`
	Message          string       `json:"message"`
	SentAt           Timestamp    `json:"sent_at"`
	DistributedBy    *Person      `json:"distributed_by"`
	FinalAttachments []Attachment `json:"final_attachments"`
}

// SubmittalsService handles a project's submittals (v1.1).
type SubmittalsService service

func submittalPath(projectID int64, rest string) string {
	return "/rest/v1.1/projects/" + itoa(projectID) + "/submittals" + rest
}

// List iterates over the project's live submittals (every revision) with
// GET /rest/v1.1/projects/{project_id}/submittals.
func (s *SubmittalsService) List(ctx context.Context, projectID int64, opts *RecordListOptions) iter.Seq2[Submittal, error] {
	return listAll[Submittal](ctx, s.c, submittalPath(projectID, ""), nil, opts)
}

// Get returns one submittal with its attachments, approvers' attachments
// and distributions (GET /rest/v1.1/projects/{project_id}/submittals/{id}).
func (s *SubmittalsService) Get(ctx context.Context, projectID, id int64) (*Submittal, *Response, error) {
	return getOne[Submittal](ctx, s.c, submittalPath(projectID, "/"+itoa(id)))
}

// Recycled iterates over the submittals in the recycle bin
// (GET /rest/v1.1/projects/{project_id}/submittals/recycle_bin).
func (s *SubmittalsService) Recycled(ctx context.Context, projectID int64, opts *ListOptions) iter.Seq2[Submittal, error] {
	return listAll[Submittal](ctx, s.c, submittalPath(projectID, "/recycle_bin"), url.Values{}, recordOptions(opts))
}

// PDFURL is the URL of Procore's own PDF of a submittal
// (GET /rest/v1.1/projects/{project_id}/submittals/{id}.pdf).
func (s *SubmittalsService) PDFURL(projectID, id int64) string {
	return s.c.apiURL(submittalPath(projectID, "/"+itoa(id)+".pdf"))
}
