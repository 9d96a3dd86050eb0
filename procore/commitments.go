package procore

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// CommitmentKind is a kind of commitment contract, named by its API
// resource.
type CommitmentKind string

// The commitment contract kinds.
const (
	WorkOrderContracts     CommitmentKind = "work_order_contracts"
	PurchaseOrderContracts CommitmentKind = "purchase_order_contracts"
)

// Commitment is a work order or purchase order contract. The list
// (compact view) has no attachments or payments; Get has them.
type Commitment struct {
	ID               int64        `json:"id"`
	Number           FlexString   `json:"number"`
	Title            string       `json:"title"`
	Status           string       `json:"status"`
	Description      string       `json:"description"`
	Executed         bool         `json:"executed"`
	Private          bool         `json:"private"`
	ContractDate     string       `json:"contract_date"`
	ExecutionDate    string       `json:"execution_date"`
	IssuedOnDate     string       `json:"issued_on_date"`
	GrandTotal       FlexString   `json:"grand_total"`
	RevisedContract  FlexString   `json:"revised_contract"`
	TotalPayments    FlexString   `json:"total_payments"`
	RetainagePercent FlexString   `json:"retainage_percent"`
	Inclusions       string       `json:"inclusions"`
	Exclusions       string       `json:"exclusions"`
	PaymentTerms     string       `json:"payment_terms"`
	CreatedAt        Timestamp    `json:"created_at"`
	UpdatedAt        Timestamp    `json:"updated_at"`
	DeletedAt        Timestamp    `json:"deleted_at"`
	Vendor           *Vendor      `json:"vendor"`
	Attachments      []Attachment `json:"attachments"`
	PaymentsIssued   []Payment    `json:"payments_issued"`
}

// Vendor is a commitment's vendor.
type Vendor struct {
	ID      int64  `json:"id"`
	Company string `json:"company"`
}

// Payment is a payment issued on a commitment, with its attachments.
type Payment struct {
	ID            int64        `json:"id"`
	Amount        FlexString   `json:"amount"`
	Date          string       `json:"date"`
	InvoiceNumber string       `json:"invoice_number"`
	PaymentNumber FlexString   `json:"payment_number"`
	CheckNumber   string       `json:"check_number"`
	Notes         string       `json:"notes"`
	CreatedAt     Timestamp    `json:"created_at"`
	Attachments   []Attachment `json:"attachments"`
}

// CommitmentsService handles a project's work order and purchase order
// contracts (v1.0).
type CommitmentsService service

// CommitmentListOptions filter commitment listings.
type CommitmentListOptions struct {
	RecordListOptions
	// IncludeDeleted sends filters[include_deleted]: "with" lists deleted
	// contracts too (their deleted_at set), "only" only them.
	IncludeDeleted string
}

// List iterates over the project's contracts of one kind
// (GET /rest/v1.0/{work_order_contracts|purchase_order_contracts}?project_id=).
func (s *CommitmentsService) List(ctx context.Context, kind CommitmentKind, projectID int64, opts *CommitmentListOptions) iter.Seq2[Commitment, error] {
	q := url.Values{"project_id": {itoa(projectID)}}
	var ro *RecordListOptions
	if opts != nil {
		ro = &opts.RecordListOptions
		if opts.IncludeDeleted != "" {
			q.Set("filters[include_deleted]", opts.IncludeDeleted)
		}
	}
	return listAll[Commitment](ctx, s.c, "/rest/v1.0/"+string(kind), q, ro)
}

// Get returns one contract with its attachments and payments
// (GET /rest/v1.0/{kind}/{id}?project_id=).
func (s *CommitmentsService) Get(ctx context.Context, kind CommitmentKind, projectID, id int64) (*Commitment, *Response, error) {
	return getOne[Commitment](ctx, s.c, "/rest/v1.0/"+string(kind)+"/"+itoa(id)+"?project_id="+itoa(projectID))
}

// CommitmentContract is a contract as the v2.0 commitment_contracts list
// shows it: both kinds in one listing, told apart by Type
// ("WorkOrderContract", "PurchaseOrderContract").
type CommitmentContract struct {
	ID        FlexString `json:"id"`
	Type      string     `json:"type"`
	Number    FlexString `json:"number"`
	Title     string     `json:"title"`
	Status    string     `json:"status"`
	CreatedAt Timestamp  `json:"created_at"`
	UpdatedAt Timestamp  `json:"updated_at"`
	DeletedAt Timestamp  `json:"deleted_at"`
}

// Kind is the v1.0 resource of the contract's type ("" when unknown).
func (cc CommitmentContract) Kind() CommitmentKind {
	switch cc.Type {
	case "WorkOrderContract":
		return WorkOrderContracts
	case "PurchaseOrderContract":
		return PurchaseOrderContracts
	}
	return ""
}

// Contracts iterates over the project's commitment contracts of both kinds
// in one listing (GET
// /rest/v2.0/companies/{company_id}/projects/{project_id}/commitment_contracts,
// {"data": […]}, per_page at most 100), with filters[updated_at] and
// filters[include_deleted] from opts.
func (s *CommitmentsService) Contracts(ctx context.Context, projectID int64, opts *CommitmentListOptions) iter.Seq2[CommitmentContract, error] {
	q := url.Values{}
	ro := &RecordListOptions{}
	if opts != nil {
		*ro = opts.RecordListOptions
		if opts.IncludeDeleted != "" {
			q.Set("filters[include_deleted]", opts.IncludeDeleted)
		}
	}
	if ro.PerPage <= 0 || ro.PerPage > 100 {
		ro.PerPage = 100
	}
	q = ro.values(q)
	p := "/rest/v2.0/companies/" + itoa(s.c.CompanyID) + "/projects/" + itoa(projectID) + "/commitment_contracts"
	return paginate(ctx, ro.first(), func(page int) ([]CommitmentContract, *Response, error) {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(page))
		var out struct {
			Data []CommitmentContract `json:"data"`
		}
		resp, err := s.c.get(ctx, p+"?"+qq.Encode(), &out)
		return out.Data, resp, err
	})
}
