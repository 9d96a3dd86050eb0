package procore

import (
	"context"
	"iter"
	"net/url"
)

// RFI is a request for information. The list gives questions without
// answers; Get gives every question with its answers and attachments.
type RFI struct {
	ID                    int64         `json:"id"`
	Number                FlexString    `json:"number"`
	FullNumber            string        `json:"full_number"`
	Subject               string        `json:"subject"`
	Status                string        `json:"status"`
	Private               bool          `json:"private"`
	Reference             string        `json:"reference"`
	DueDate               string        `json:"due_date"`
	InitiatedAt           Timestamp     `json:"initiated_at"`
	TimeResolved          Timestamp     `json:"time_resolved"`
	CreatedAt             Timestamp     `json:"created_at"`
	UpdatedAt             Timestamp     `json:"updated_at"`
	Deleted               bool          `json:"deleted"`
	DeletedAt             Timestamp     `json:"deleted_at"`
	Assignee              *Person       `json:"assignee"`
	RFIManager            *Person       `json:"rfi_manager"`
	ReceivedFrom          *Person       `json:"received_from"`
	CreatedBy             *Person       `json:"created_by"`
	ResponsibleContractor *Named        `json:"responsible_contractor"`
	Location              *Named        `json:"location"`
	CostImpact            *Impact       `json:"cost_impact"`
	ScheduleImpact        *Impact       `json:"schedule_impact"`
	Questions             []RFIQuestion `json:"questions"`
}

// Impact is an RFI's cost or schedule impact.
type Impact struct {
	Status string     `json:"status"`
	Value  FlexString `json:"value"`
}

// RFIQuestion is one question of an RFI with its answers.
type RFIQuestion struct {
	ID            int64        `json:"id"`
	Body          string       `json:"body"`
	PlainTextBody string       `json:"plain_text_body"`
	QuestionDate  Timestamp    `json:"question_date"`
	CreatedBy     *Person      `json:"created_by"`
	Attachments   []Attachment `json:"attachments"`
	Answers       []RFIAnswer  `json:"answers"`
}

// RFIAnswer is a response to an RFI question.
type RFIAnswer struct {
	ID            int64        `json:"id"`
	Official      bool         `json:"official"`
	PlainTextBody string       `json:"plain_text_body"`
	AnswerDate    Timestamp    `json:"answer_date"`
	CreatedBy     *Person      `json:"created_by"`
	Attachments   []Attachment `json:"attachments"`
}

// RFIsService handles a project's RFIs (GET /rest/v1.0/projects/{project_id}/rfis …).
type RFIsService service

func rfiPath(projectID int64, rest string) string {
	return "/rest/v1.0/projects/" + itoa(projectID) + "/rfis" + rest
}

// List iterates over the project's live RFIs with
// GET /rest/v1.0/projects/{project_id}/rfis (filters[updated_at] from
// opts), page by page.
func (s *RFIsService) List(ctx context.Context, projectID int64, opts *RecordListOptions) iter.Seq2[RFI, error] {
	return listAll[RFI](ctx, s.c, rfiPath(projectID, ""), nil, opts)
}

// Get returns one RFI with its questions, answers and their attachments
// (GET /rest/v1.0/projects/{project_id}/rfis/{id}). A recycled RFI gives a
// 404.
func (s *RFIsService) Get(ctx context.Context, projectID, id int64) (*RFI, *Response, error) {
	return getOne[RFI](ctx, s.c, rfiPath(projectID, "/"+itoa(id)))
}

// Recycled iterates over the RFIs in the project's recycle bin
// (GET /rest/v1.0/projects/{project_id}/rfis/recycle_bin).
func (s *RFIsService) Recycled(ctx context.Context, projectID int64, opts *ListOptions) iter.Seq2[RFI, error] {
	return listAll[RFI](ctx, s.c, rfiPath(projectID, "/recycle_bin"), url.Values{}, recordOptions(opts))
}

// PDFURL is the URL of Procore's own PDF of an RFI
// (GET /rest/v1.0/projects/{project_id}/rfis/{id}.pdf), for
// Client.Download.
func (s *RFIsService) PDFURL(projectID, id int64) string {
	return s.c.apiURL(rfiPath(projectID, "/"+itoa(id)+".pdf"))
}
