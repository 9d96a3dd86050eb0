package procoretest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RecordTool names one of the fake's one-way record tools.
type RecordTool string

// The record tools the fake serves.
const (
	ToolRFIs           RecordTool = "rfis"
	ToolSubmittals     RecordTool = "submittals"
	ToolObservations   RecordTool = "observations"
	ToolInspections    RecordTool = "inspections"
	ToolIncidents      RecordTool = "incidents"
	ToolForms          RecordTool = "forms"
	ToolWorkOrders     RecordTool = "work_order_contracts"
	ToolPurchaseOrders RecordTool = "purchase_order_contracts"
	// ToolFormTemplates is company-level: its helpers take the company
	// ID where the others take a project ID.
	ToolFormTemplates RecordTool = "form_templates"
)

// The places an attachment can hang from, for UIAddAttachment. SlotRecord
// is the record's own attachments (every tool).
const (
	SlotRecord      = ""            // the record itself
	SlotQuestion    = "question"    // RFIs: the first question
	SlotAnswer      = "answer"      // RFIs: a new answer to the first question
	SlotAssociated  = "associated"  // Submittals: associated attachments
	SlotApprover    = "approver"    // Submittals: a new approver's response
	SlotDistributed = "distributed" // Submittals: a new distribution
	SlotItem        = "item"        // Inspections: the first item (does not touch the inspection's updated_at)
	SlotSignature   = "signature"   // Inspections: a new captured signature
	SlotPayment     = "payment"     // Commitments: a new payment
	SlotFillable    = "fillable"    // Forms: the fillable PDF (replaces it)
)

// recFile is an attachment held on the file host.
type recFile struct {
	ID        int64
	Name      string
	Key       string
	Size      int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// recEntry is a question, answer, approver response, distribution,
// inspection item, signature or payment.
type recEntry struct {
	ID        int64
	Kind      string
	Body      string
	Status    string
	UserID    int64
	At        time.Time
	Files     []*recFile
	CreatedAt time.Time
	UpdatedAt time.Time
}

// fakeRecord is one record of a record tool.
type fakeRecord struct {
	Tool        RecordTool
	ID          int64
	ProjectID   int64 // the owner: the company for company-level tools
	Number      string
	Title       string
	Status      string
	Description string
	UserID      int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   time.Time // in the recycle bin (or deleted, for contracts)
	Files       []*recFile
	Fillable    *recFile // Forms
	Entries     []*recEntry
}

type recordState struct {
	recs map[int64]*fakeRecord
}

// recordStore returns the record state. Caller holds s.mu.
func (s *Server) recordStore() *recordState {
	if s.rec == nil {
		s.rec = &recordState{recs: map[int64]*fakeRecord{}}
	}
	return s.rec
}

// recordResource is the webhook resource name of a tool's events.
var recordResource = map[RecordTool]string{ToolRFIs: "RFIs", ToolSubmittals: "Submittals",
	ToolObservations: "Observation Items", ToolInspections: "Inspection Checklists", ToolIncidents: "Incidents",
	ToolForms: "Forms", ToolWorkOrders: "Work Order Contracts", ToolPurchaseOrders: "Purchase Order Contracts",
	ToolFormTemplates: ""}

// recordRoutes registers the record tools' endpoints.
func (s *Server) recordRoutes(mux *http.ServeMux) {
	r := func(pattern, op string, h handler) {
		mux.Handle(pattern, s.wrap(HostAPI, op, authCompany, pattern, h))
	}
	// pdfOr serves {id} as the show or, for "{id}.pdf", the PDF export:
	// Procore's paths put the extension on the ID segment.
	pdfOr := func(pattern, showOp, pdfOp string, show, pdf handler) {
		sh := s.wrap(HostAPI, showOp, authCompany, pattern, show)
		ph := s.wrap(HostAPI, pdfOp, authCompany, pattern, pdf)
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.PathValue("id"), ".pdf") {
				ph.ServeHTTP(w, req)
				return
			}
			sh.ServeHTTP(w, req)
		}))
	}
	list := func(t RecordTool) handler { return func(c *call) { c.listRecords(t, false) } }
	bin := func(t RecordTool) handler { return func(c *call) { c.listRecords(t, true) } }
	show := func(t RecordTool) handler { return func(c *call) { c.showRecord(t) } }
	pdf := func(t RecordTool) handler { return func(c *call) { c.recordPDF(t) } }

	r("GET /rest/v1.0/projects/{project_id}/rfis", "RestV10ProjectsProjectIdRfisGet", list(ToolRFIs))
	r("GET /rest/v1.0/projects/{project_id}/rfis/recycle_bin", "RestV10ProjectsProjectIdRfisRecycleBinGet", bin(ToolRFIs))
	pdfOr("GET /rest/v1.0/projects/{project_id}/rfis/{id}", "RestV10ProjectsProjectIdRfisIdGet",
		"RestV10ProjectsProjectIdRfisIdpdfGet", show(ToolRFIs), pdf(ToolRFIs))

	r("GET /rest/v1.1/projects/{project_id}/submittals", "RestV11ProjectsProjectIdSubmittalsGet", list(ToolSubmittals))
	r("GET /rest/v1.1/projects/{project_id}/submittals/recycle_bin", "RestV11ProjectsProjectIdSubmittalsRecycleBinGet", bin(ToolSubmittals))
	pdfOr("GET /rest/v1.1/projects/{project_id}/submittals/{id}", "RestV11ProjectsProjectIdSubmittalsIdGet",
		"RestV11ProjectsProjectIdSubmittalsIdpdfGet", show(ToolSubmittals), pdf(ToolSubmittals))

	r("GET /rest/v1.0/observations/items", "RestV10ObservationsItemsGet", list(ToolObservations))
	r("GET /rest/v1.0/observations/items/{id}", "RestV10ObservationsItemsIdGet", show(ToolObservations))
	r("GET /rest/v1.0/observations/items/{id}/pdf", "RestV10ObservationsItemsIdPdfGet", (*call).observationPDF)
	r("GET /rest/v1.0/projects/{project_id}/recycle_bin/observations/items", "RestV10ProjectsProjectIdRecycleBinObservationsItemsGet", bin(ToolObservations))

	r("GET /rest/v1.0/projects/{project_id}/checklist/lists", "RestV10ProjectsProjectIdChecklistListsGet", list(ToolInspections))
	r("GET /rest/v1.0/projects/{project_id}/checklist/lists/{id}", "RestV10ProjectsProjectIdChecklistListsIdGet", show(ToolInspections))
	r("GET /rest/v1.0/projects/{project_id}/checklist/list_items", "RestV10ProjectsProjectIdChecklistListItemsGet", (*call).listChecklistItems)
	r("GET /rest/v1.0/projects/{project_id}/checklist/list_item_attachments", "RestV10ProjectsProjectIdChecklistListItemAttachmentsGet", (*call).listItemAttachments)
	r("GET /rest/v1.0/projects/{project_id}/recycle_bin/checklist/lists", "RestV10ProjectsProjectIdRecycleBinChecklistListsGet", bin(ToolInspections))

	r("GET /rest/v1.0/projects/{project_id}/incidents", "RestV10ProjectsProjectIdIncidentsGet", list(ToolIncidents))
	r("GET /rest/v1.0/projects/{project_id}/incidents/{id}", "RestV10ProjectsProjectIdIncidentsIdGet", show(ToolIncidents))
	r("GET /rest/v1.0/projects/{project_id}/recycle_bin/incidents", "RestV10ProjectsProjectIdRecycleBinIncidentsGet", bin(ToolIncidents))

	r("GET /rest/v1.1/projects/{project_id}/forms", "RestV11ProjectsProjectIdFormsGet", list(ToolForms))
	r("GET /rest/v1.0/projects/{project_id}/forms/{id}", "RestV10ProjectsProjectIdFormsIdGet", show(ToolForms))
	r("GET /rest/v1.0/projects/{project_id}/recycle_bin/forms", "RestV10ProjectsProjectIdRecycleBinFormsGet", bin(ToolForms))

	r("GET /rest/v1.0/companies/{company_id}/form_templates", "RestV10CompaniesCompanyIdFormTemplatesGet", list(ToolFormTemplates))
	r("GET /rest/v1.0/companies/{company_id}/form_templates/{id}", "RestV10CompaniesCompanyIdFormTemplatesIdGet", show(ToolFormTemplates))
	r("GET /rest/v1.0/companies/{company_id}/recycle_bin/form_templates", "RestV10CompaniesCompanyIdRecycleBinFormTemplatesGet", bin(ToolFormTemplates))

	r("GET /rest/v1.0/work_order_contracts", "RestV10WorkOrderContractsGet", list(ToolWorkOrders))
	r("GET /rest/v1.0/work_order_contracts/{id}", "RestV10WorkOrderContractsIdGet", show(ToolWorkOrders))
	r("GET /rest/v1.0/purchase_order_contracts", "RestV10PurchaseOrderContractsGet", list(ToolPurchaseOrders))
	r("GET /rest/v1.0/purchase_order_contracts/{id}", "RestV10PurchaseOrderContractsIdGet", show(ToolPurchaseOrders))
	r("GET /rest/v2.0/companies/{company_id}/projects/{project_id}/commitment_contracts",
		"RestV20CompaniesCompanyIdProjectsProjectIdCommitmentContractsGet", (*call).listCommitmentContracts)
}

// owner is the ID records of scope sc are kept under: the project, or
// the company for company-level tools.
func owner(sc *docScope) int64 {
	if sc.projectID != 0 {
		return sc.projectID
	}
	return sc.companyID
}

// recordProject resolves the scope of a record request: {project_id} in
// the path, else the project_id query parameter, else (company-level
// tools) {company_id}.
func (c *call) recordProject() *docScope {
	if c.r.PathValue("project_id") == "" && c.r.PathValue("company_id") != "" {
		return c.companyScope()
	}
	if c.r.PathValue("project_id") != "" {
		id, ok := c.pathInt("project_id")
		if !ok {
			return nil
		}
		return c.projectScopeByID(id)
	}
	if !c.r.URL.Query().Has("project_id") {
		writeError(c.w, http.StatusBadRequest, "bad_request", "project_id is required")
		return nil
	}
	return c.projectScope()
}

// recordWindow resolves the project and parses filters[updated_at] (ok
// false: an error response was written).
func (c *call) recordWindow() (sc *docScope, from, to time.Time, ok bool) {
	if sc = c.recordProject(); sc == nil {
		return nil, from, to, false
	}
	v := c.r.URL.Query().Get("filters[updated_at]")
	if v == "" {
		return sc, from, to, true
	}
	from, to, err := parseRange(v)
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_request", "invalid filters[updated_at]")
		return nil, from, to, false
	}
	return sc, from, to, true
}

// records returns the project's records of tool, sorted by ID. Caller
// holds s.mu.
func (s *Server) records(projectID int64, tool RecordTool, pick func(*fakeRecord) bool) []*fakeRecord {
	var out []*fakeRecord
	for _, r := range s.recordStore().recs {
		if r.ProjectID == projectID && r.Tool == tool && pick(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *call) listRecords(tool RecordTool, recycled bool) {
	sc, from, to, ok := c.recordWindow()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	includeDeleted := q.Get("filters[include_deleted]")
	if tool == ToolIncidents && q.Get("per_page") != "" {
		if n, err := strconv.Atoi(q.Get("per_page")); err != nil || n > 1000 {
			writeError(c.w, http.StatusBadRequest, "bad_request", "per_page must be at most 1000")
			return
		}
	}
	s := c.s
	s.mu.Lock()
	list := s.records(owner(sc), tool, func(r *fakeRecord) bool {
		deleted := !r.DeletedAt.IsZero()
		switch {
		case recycled:
			return deleted
		case includeDeleted == "only":
			return deleted && inRange(r.UpdatedAt, from, to)
		case includeDeleted == "with":
			return inRange(r.UpdatedAt, from, to)
		}
		return !deleted && inRange(r.UpdatedAt, from, to)
	})
	s.mu.Unlock()
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	s.mu.Lock()
	out := []any{}
	for _, r := range list[lo:hi] {
		out = append(out, s.recordJSON(sc, r, false))
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// lookupRecord resolves {id} to a live record of tool. Caller holds s.mu.
func (c *call) lookupRecord(sc *docScope, tool RecordTool) *fakeRecord {
	raw := strings.TrimSuffix(c.r.PathValue("id"), ".pdf")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil
	}
	r := c.s.recordStore().recs[id]
	if r == nil || r.Tool != tool || r.ProjectID != owner(sc) || !r.DeletedAt.IsZero() {
		return nil
	}
	return r
}

func (c *call) showRecord(tool RecordTool) {
	sc := c.recordProject()
	if sc == nil {
		return
	}
	s := c.s
	s.mu.Lock()
	r := c.lookupRecord(sc, tool)
	var body map[string]any
	if r != nil {
		body = s.recordJSON(sc, r, true)
	}
	s.mu.Unlock()
	if r == nil {
		writeError(c.w, http.StatusNotFound, "not_found", "Record not found")
		return
	}
	writeJSON(c.w, http.StatusOK, body)
}

// recordPDF serves Procore's PDF of an RFI or submittal.
func (c *call) recordPDF(tool RecordTool) {
	sc := c.recordProject()
	if sc == nil {
		return
	}
	c.s.mu.Lock()
	r := c.lookupRecord(sc, tool)
	var data []byte
	if r != nil {
		data = recordPDFBytes(r)
	}
	c.s.mu.Unlock()
	if r == nil {
		writeError(c.w, http.StatusNotFound, "not_found", "Record not found")
		return
	}
	c.w.Header().Set("Content-Type", "application/pdf")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(data)
}

// observationPDF answers the URL of an observation's PDF on the file host.
func (c *call) observationPDF() {
	sc := c.recordProject()
	if sc == nil {
		return
	}
	s := c.s
	s.mu.Lock()
	r := c.lookupRecord(sc, ToolObservations)
	var u string
	if r != nil {
		key := "pdf/observations/" + itoa(r.ID) + "/" + strconv.FormatInt(r.UpdatedAt.UnixNano(), 10)
		s.blobs[key] = recordPDFBytes(r)
		u = s.downloadURL(sc, &version{Key: key})
	}
	s.mu.Unlock()
	if r == nil {
		writeError(c.w, http.StatusNotFound, "not_found", "Record not found")
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"url": u})
}

// listChecklistItems serves inspection items (filters[list_id],
// filters[id][], filters[updated_at]).
func (c *call) listChecklistItems() {
	c.checklistItems(false)
}

func (c *call) listItemAttachments() {
	c.checklistItems(true)
}

func (c *call) checklistItems(attachments bool) {
	sc, from, to, ok := c.recordWindow()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	ids := map[int64]bool{}
	itemIDs := map[int64]bool{}
	for _, v := range append(q["filters[id][]"], q["filters[id]"]...) {
		n, _ := strconv.ParseInt(v, 10, 64)
		ids[n] = true
	}
	for _, v := range append(q["filters[item_id][]"], q["filters[item_id]"]...) {
		n, _ := strconv.ParseInt(v, 10, 64)
		itemIDs[n] = true
	}
	var listID int64
	if v := q.Get("filters[list_id]"); v != "" {
		listID, _ = strconv.ParseInt(v, 10, 64)
	}
	s := c.s
	s.mu.Lock()
	type row struct {
		list *fakeRecord
		item *recEntry
		file *recFile
	}
	var rows []row
	for _, r := range s.records(sc.projectID, ToolInspections, func(r *fakeRecord) bool { return r.DeletedAt.IsZero() }) {
		if listID != 0 && r.ID != listID {
			continue
		}
		for _, it := range r.Entries {
			if it.Kind != SlotItem {
				continue
			}
			if !attachments {
				if (len(ids) == 0 || ids[it.ID]) && inRange(it.UpdatedAt, from, to) {
					rows = append(rows, row{r, it, nil})
				}
				continue
			}
			if len(itemIDs) > 0 && !itemIDs[it.ID] {
				continue
			}
			for _, f := range it.Files {
				if (len(ids) == 0 || ids[f.ID]) && inRange(f.UpdatedAt, from, to) {
					rows = append(rows, row{r, it, f})
				}
			}
		}
	}
	s.mu.Unlock()
	lo, hi, ok := c.paginate(len(rows))
	if !ok {
		return
	}
	s.mu.Lock()
	out := []any{}
	for _, rw := range rows[lo:hi] {
		if attachments {
			out = append(out, map[string]any{"id": rw.file.ID, "created_at": ts(rw.file.CreatedAt), "item_id": rw.item.ID,
				"created_by": s.personJSON(rw.item.UserID, "company_name", "login"),
				"attachment": map[string]any{"id": rw.file.ID, "name": rw.file.Name, "filename": rw.file.Name,
					"content_type": contentType(rw.file.Name), "url": s.downloadURL(sc, &version{Key: rw.file.Key}),
					"thumbnail_url": nil, "viewable_document_id": nil, "attached_to_item_id": rw.item.ID,
					"attached_to_item_type": "Checklist::ListItem", "viewer_url": nil}})
			continue
		}
		resp := map[string]any{"item_id": rw.item.ID, "status": rw.item.Status, "responded_at": nullableTime(rw.item.At),
			"responder": s.personJSON(rw.item.UserID, "login"), "item_type": nil, "payload": nil}
		out = append(out, map[string]any{"id": rw.item.ID, "list_id": rw.list.ID, "name": rw.item.Body, "details": "",
			"position": rw.item.ID, "status": rw.item.Status, "updated_at": ts(rw.item.UpdatedAt), "item_response": resp,
			"responded_with": rw.item.Status, "section_id": nil, "template_item_id": nil, "response_type_id": nil})
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// listCommitmentContracts serves the v2.0 unified commitments listing.
func (c *call) listCommitmentContracts() {
	if c.companyScope() == nil {
		return
	}
	sc, from, to, ok := c.recordWindow()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	if n, err := strconv.Atoi(q.Get("per_page")); q.Get("per_page") != "" && (err != nil || n > 100) {
		writeError(c.w, http.StatusBadRequest, "bad_request", "per_page must be at most 100")
		return
	}
	inc := q.Get("filters[include_deleted]")
	s := c.s
	s.mu.Lock()
	pick := func(r *fakeRecord) bool {
		deleted := !r.DeletedAt.IsZero()
		if !inRange(r.UpdatedAt, from, to) {
			return false
		}
		switch inc {
		case "with":
			return true
		case "only":
			return deleted
		}
		return !deleted
	}
	list := append(s.records(sc.projectID, ToolWorkOrders, pick), s.records(sc.projectID, ToolPurchaseOrders, pick)...)
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	s.mu.Unlock()
	if q.Get("per_page") == "" {
		q.Set("per_page", "10") // v2.0 default
		c.r.URL.RawQuery = q.Encode()
	}
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	out := []any{}
	for _, r := range list[lo:hi] {
		typ := "WorkOrderContract"
		if r.Tool == ToolPurchaseOrders {
			typ = "PurchaseOrderContract"
		}
		out = append(out, map[string]any{"id": itoa(r.ID), "type": typ, "number": r.Number, "title": r.Title,
			"status": r.Status, "created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "deleted_at": nullableTime(r.DeletedAt)})
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

// ---- JSON shapes ----

// personJSON is a user with id and name and the extra keys asked for
// (the record tools' user objects differ). Caller holds s.mu.
func (s *Server) personJSON(id int64, extra ...string) any {
	u := s.users[id]
	if u == nil {
		return nil
	}
	m := map[string]any{"id": u.ID, "name": u.Name}
	for _, k := range extra {
		switch k {
		case "login":
			m["login"] = u.Login
		case "company_name":
			m["company_name"] = "Fake Construction"
		case "vendor":
			m["vendor"] = nil
		}
	}
	return m
}

func contentType(name string) string {
	switch strings.ToLower(name[strings.LastIndex(name, ".")+1:]) {
	case "pdf":
		return "application/pdf"
	case "jpg", "jpeg":
		return "image/jpeg"
	case "png":
		return "image/png"
	}
	return "application/octet-stream"
}

// recFileJSON is an attachment with the given keys. Caller holds s.mu.
func (s *Server) recFileJSON(sc *docScope, f *recFile, keys ...string) map[string]any {
	m := map[string]any{"url": s.downloadURL(sc, &version{Key: f.Key})}
	for _, k := range keys {
		switch k {
		case "id":
			m["id"] = f.ID
		case "name":
			m["name"] = f.Name
		case "filename":
			m["filename"] = f.Name
		case "content_type":
			m["content_type"] = contentType(f.Name)
		case "thumbnail_url":
			m["thumbnail_url"] = nil
		case "viewable":
			m["viewable"], m["can_be_viewed"] = true, true
		case "viewable_document_id":
			m["viewable_document_id"] = nil
		}
	}
	return m
}

func (s *Server) filesJSON(sc *docScope, files []*recFile, keys ...string) []any {
	out := []any{}
	for _, f := range files {
		out = append(out, s.recFileJSON(sc, f, keys...))
	}
	return out
}

func (r *fakeRecord) entries(kind string) []*recEntry {
	var out []*recEntry
	for _, e := range r.Entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// recordJSON is a record as its tool's list (full false) or show (full
// true) returns it. Caller holds s.mu.
func (s *Server) recordJSON(sc *docScope, r *fakeRecord, full bool) map[string]any {
	switch r.Tool {
	case ToolRFIs:
		return s.rfiJSON(sc, r, full)
	case ToolSubmittals:
		return s.submittalJSON(sc, r, full)
	case ToolObservations:
		return s.observationJSON(sc, r, full)
	case ToolInspections:
		return s.checklistJSON(sc, r)
	case ToolIncidents:
		return s.incidentJSON(sc, r, full)
	case ToolForms:
		return s.formJSON(sc, r)
	case ToolFormTemplates:
		return s.formTemplateJSON(sc, r)
	default:
		return s.contractJSON(sc, r, full)
	}
}

func (s *Server) rfiJSON(sc *docScope, r *fakeRecord, full bool) map[string]any {
	var questions []any
	for _, q := range r.entries(SlotQuestion) {
		qm := map[string]any{"id": q.ID, "body": q.Body, "errors": []any{}}
		if full {
			var answers []any
			for _, a := range r.entries(SlotAnswer) {
				answers = append(answers, map[string]any{"id": a.ID, "official": a.Status == "official",
					"answer_date": ts(a.At), "plain_text_body": a.Body, "rich_text_body": "<p>" + a.Body + "</p>",
					"created_by": s.personJSON(a.UserID, "login"), "created_by_id": a.UserID,
					"attachments": s.filesJSON(sc, a.Files, "id", "name", "filename")})
			}
			if answers == nil {
				answers = []any{}
			}
			qm["question_date"] = ts(q.At)
			qm["plain_text_body"] = q.Body
			qm["rich_text_body"] = "<p>" + q.Body + "</p>"
			qm["created_by"] = s.personJSON(q.UserID, "login")
			qm["attachments"] = s.filesJSON(sc, q.Files, "id", "name", "filename")
			qm["answers"] = answers
		}
		questions = append(questions, qm)
	}
	if questions == nil {
		questions = []any{}
	}
	m := map[string]any{"id": r.ID, "number": r.Number, "full_number": r.Number, "prefix": nil, "subject": r.Title,
		"status": r.Status, "translated_status": r.Status, "private": false, "due_date": nil, "initiated_at": ts(r.CreatedAt),
		"time_resolved": nil, "created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "deleted": !r.DeletedAt.IsZero(),
		"deleted_at": nullableTime(r.DeletedAt), "questions": questions, "assignee": s.personJSON(r.UserID, "login"),
		"rfi_manager": s.personJSON(r.UserID, "login"), "created_by": s.personJSON(r.UserID, "login"),
		"received_from": nil, "responsible_contractor": nil, "location": nil, "reference": "",
		"cost_impact":     map[string]any{"status": "no_impact", "value": nil},
		"schedule_impact": map[string]any{"status": "no_impact", "value": nil}, "custom_fields": map[string]any{}}
	if full {
		m["drawing_ids"] = []any{}
		m["accepted"] = false
	}
	return m
}

func (s *Server) submittalJSON(sc *docScope, r *fakeRecord, full bool) map[string]any {
	var assoc []any
	for _, f := range r.Files {
		if !strings.HasPrefix(f.Key, "assoc/") {
			continue
		}
		assoc = append(assoc, map[string]any{"id": f.ID + 1, "attachment_id": f.ID, "filename": f.Name,
			"url": s.downloadURL(sc, &version{Key: f.Key}), "updated_at": ts(f.UpdatedAt), "attached_at": ts(f.CreatedAt),
			"content_type": contentType(f.Name), "state": "ready"})
	}
	if assoc == nil {
		assoc = []any{}
	}
	var approvers []any
	for _, a := range r.entries(SlotApprover) {
		am := map[string]any{"id": a.ID, "comment": a.Body, "returned_date": a.At.Format("2006-01-02"),
			"sent_date": a.CreatedAt.Format("2006-01-02"), "user": s.personJSON(a.UserID),
			"response": map[string]any{"id": 1, "name": a.Status}, "response_required": true, "approver_type": "Approver",
			"associated_attachments": []any{}}
		if full {
			am["attachments"] = s.filesJSON(sc, a.Files, "id", "filename")
		}
		approvers = append(approvers, am)
	}
	if approvers == nil {
		approvers = []any{}
	}
	m := map[string]any{"id": r.ID, "number": r.Number, "formatted_number": r.Number, "title": r.Title,
		"description": r.Description, "revision": "0", "current_revision": true, "private": false,
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "due_date": nil, "issue_date": nil,
		"received_date": nil, "distributed_at": nil, "closed_at": nil,
		"created_by": s.personJSON(r.UserID), "submittal_manager": s.personJSON(r.UserID),
		"status":                 map[string]any{"id": 1, "name": r.Status, "status": r.Status},
		"type":                   map[string]any{"id": 1, "name": "Shop Drawing", "translated_name": "Shop Drawing"},
		"associated_attachments": assoc, "approvers": approvers, "drawing_ids": []any{}, "linked_drawing_ids": []any{},
		"distribution_members": []any{}, "ball_in_court": []any{}, "custom_fields": map[string]any{}}
	if full {
		var plain []*recFile
		for _, f := range r.Files {
			if !strings.HasPrefix(f.Key, "assoc/") {
				plain = append(plain, f)
			}
		}
		// The show's attachments carry no id (url and filename only).
		m["attachments"] = s.filesJSON(sc, plain, "filename")
		m["attachments_count"] = len(plain)
		var dist []any
		for _, d := range r.entries(SlotDistributed) {
			dist = append(dist, map[string]any{"id": d.ID, "message": d.Body, "sent_at": ts(d.At),
				"distributed_by": s.personJSON(d.UserID), "final_attachments": s.filesJSON(sc, d.Files, "id", "filename")})
		}
		if dist == nil {
			dist = []any{}
		}
		m["distributed_submittals"] = dist
	}
	return m
}

func (s *Server) observationJSON(sc *docScope, r *fakeRecord, full bool) map[string]any {
	m := map[string]any{"id": r.ID, "number": r.Number, "name": r.Title, "description": r.Description,
		"description_rich_text": "<p>" + r.Description + "</p>", "status": r.Status, "priority": "Medium",
		"date_notified": nil, "due_date": nil, "personal": false, "created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt),
		"closed_at": nil, "deleted_at": nullableTime(r.DeletedAt), "assignee": s.personJSON(r.UserID, "vendor"),
		"created_by": s.personJSON(r.UserID, "login"), "location": nil, "trade": nil, "specification_section": nil,
		"type": map[string]any{"id": 1, "name": "Safety", "category": "Safety", "category_id": 1}, "custom_fields": map[string]any{}}
	if full {
		m["attachments"] = s.filesJSON(sc, r.Files, "id", "name", "filename", "thumbnail_url")
		m["distribution_members"] = []any{}
		m["drawing_ids"] = []any{}
	} else {
		m["permissions"] = map[string]any{"can_edit": true}
	}
	return m
}

func (s *Server) checklistJSON(sc *docScope, r *fakeRecord) map[string]any {
	var sigs []any
	for _, e := range r.entries(SlotSignature) {
		var att any
		if len(e.Files) > 0 {
			att = s.recFileJSON(sc, e.Files[0], "id", "filename")
		}
		sigs = append(sigs, map[string]any{"id": e.ID, "signatory": s.personJSON(e.UserID, "login"),
			"signature": map[string]any{"id": e.ID, "captured_at": ts(e.At), "attachment": att}})
	}
	if sigs == nil {
		sigs = []any{}
	}
	items := r.entries(SlotItem)
	conforming := 0
	for _, it := range items {
		if it.Status == "conforming" {
			conforming++
		}
	}
	return map[string]any{"id": r.ID, "number": atoiOrNil(r.Number), "name": r.Title, "status": r.Status,
		"description": r.Description, "list_template_id": 1, "list_template_name": "Daily Safety", "template_id": 1,
		"inspection_date": r.CreatedAt.Format("2006-01-02"), "due_at": nil, "closed_at": nil,
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "deleted": !r.DeletedAt.IsZero(), "private": false,
		"overdue": false, "created_by": s.personJSON(r.UserID, "login", "company_name"), "closed_by": nil,
		"point_of_contact": nil, "responsible_contractor": nil, "trade": nil, "location": nil,
		"inspection_type": map[string]any{"id": 1, "name": "Safety"}, "inspectors": []any{s.personJSON(r.UserID, "login", "company_name")},
		"distribution_members": []any{}, "signature_requests": sigs,
		"attachments": s.filesJSON(sc, r.Files, "id", "name", "filename", "content_type", "thumbnail_url", "viewable_document_id"),
		"item_count":  len(items), "conforming_item_count": conforming, "deficient_item_count": len(items) - conforming,
		"not_applicable_item_count": 0, "neutral_item_count": 0, "inspected_item_count": len(items), "observations_count": 0,
		"closed_observations_count": 0, "drawing_ids": []any{}, "current_drawing_revision_ids": []any{},
		"custom_fields": map[string]any{}}
}

func atoiOrNil(s string) any {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return n
}

func (s *Server) incidentJSON(sc *docScope, r *fakeRecord, full bool) map[string]any {
	m := map[string]any{"id": r.ID, "number": atoiOrNil(r.Number), "title": r.Title, "description": r.Description,
		"status": r.Status, "event_date": ts(r.CreatedAt), "time_unknown": false, "private": false, "recordable": true,
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "deleted_at": nullableTime(r.DeletedAt),
		"records_count": 0, "open_observations_count": 0, "closed_observations_count": 0, "actions_count": 0,
		"witness_statements_count": 0, "attachments_count": len(r.Files), "created_by": s.personJSON(r.UserID, "login"),
		"location": nil, "hazard": nil, "contributing_behavior": nil, "contributing_condition": nil,
		"custom_fields": map[string]any{}}
	if full {
		m["attachments"] = s.filesJSON(sc, r.Files, "id", "name", "content_type", "thumbnail_url")
		m["distribution_members"] = []any{}
	}
	return m
}

func (s *Server) formJSON(sc *docScope, r *fakeRecord) map[string]any {
	var fillable any
	if r.Fillable != nil {
		fillable = s.recFileJSON(sc, r.Fillable, "id", "name", "filename", "viewable")
	}
	return map[string]any{"id": r.ID, "name": r.Title, "description": r.Description, "form_template_id": 1,
		"form_template_name": r.Number, "private": false, "created_by": s.personJSON(r.UserID, "login"),
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "fillable_pdf": fillable,
		"attachments": s.filesJSON(sc, r.Files, "id", "name", "filename", "viewable"), "attachment": nil,
		"thumbnail_url": nil, "viewable": true, "viewable_document_id": nil, "holder_class": "Form",
		"download_all_uuid": nil, "permissions": map[string]any{"can_edit": true}, "deleted": !r.DeletedAt.IsZero()}
}

func (s *Server) formTemplateJSON(sc *docScope, r *fakeRecord) map[string]any {
	var fillable, att any
	if r.Fillable != nil {
		fillable = s.recFileJSON(sc, r.Fillable, "id", "name", "filename")
	}
	if len(r.Files) > 0 {
		att = s.recFileJSON(sc, r.Files[0], "id", "name", "filename")
	}
	return map[string]any{"id": r.ID, "name": r.Title, "description": r.Description, "created_at": ts(r.CreatedAt),
		"updated_at": ts(r.UpdatedAt), "created_by": s.personJSON(r.UserID, "login"), "attachment": att,
		"fillable_pdf": fillable}
}

func (s *Server) contractJSON(sc *docScope, r *fakeRecord, full bool) map[string]any {
	m := map[string]any{"id": r.ID, "number": r.Number, "title": r.Title, "status": r.Status, "description": r.Description,
		"accounting_method": "amount", "executed": r.Status == "Approved", "private": false, "contract_date": nil,
		"execution_date": nil, "issued_on_date": nil, "grand_total": "1000.0", "revised_contract": "1000.0",
		"total_payments": "0.0", "retainage_percent": "10.0", "pending_change_orders": "0.0",
		"approved_change_orders": "0.0", "percentage_paid": "0.0", "remaining_balance_outstanding": "1000.0",
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt), "deleted_at": nullableTime(r.DeletedAt),
		"project": map[string]any{"id": sc.projectID, "name": "Project"},
		"vendor":  map[string]any{"id": 7, "company": "Müller Concrete GmbH"}}
	if r.Tool == ToolPurchaseOrders {
		m["payment_terms"] = "Net 30"
		m["ship_via"] = nil
	} else {
		m["exclusions"], m["inclusions"] = "", ""
	}
	if full {
		m["attachments"] = s.filesJSON(sc, r.Files, "id", "filename")
		var pays []any
		for _, p := range r.entries(SlotPayment) {
			pays = append(pays, map[string]any{"id": p.ID, "amount": "100.0", "check_number": "", "created_at": ts(p.CreatedAt),
				"date": p.At.Format("2006-01-02"), "draw_request_number": nil, "invoice_number": "INV-" + itoa(p.ID),
				"notes": p.Body, "payment_number": p.ID, "attachments": s.filesJSON(sc, p.Files, "id", "filename")})
		}
		if pays == nil {
			pays = []any{}
		}
		m["payments_issued"] = pays
		m["change_order_packages"] = []any{}
		m["potential_change_orders"] = []any{}
		m["created_by_id"] = r.UserID
	}
	return m
}

// ---- Procore's PDF of a record ----

// recordPDFBytes is a small, valid one-page PDF naming the record, as
// Procore's PDF export endpoints return one (deterministic for a given
// record state).
func recordPDFBytes(r *fakeRecord) []byte {
	return TinyPDF(fmt.Sprintf("%s %s - %s (%s) updated %s", r.Tool, r.Number, r.Title, r.Status, ts(r.UpdatedAt)))
}

// The record tools' webhook resources (a third-party sandbox listing;
// "Inspection Checklists" offers no delete event).
func init() {
	for name, r := range map[string]webhookResource{
		"RFIs":                           {"Project Management", "RFIs", true, nil},
		"RFI Replies":                    {"Project Management", "RFIs", true, nil},
		"Submittals":                     {"Project Management", "Submittals", true, nil},
		"Submittal Packages":             {"Project Management", "Submittals", true, nil},
		"Observation Items":              {"Project Management", "Observations", true, nil},
		"Inspection Checklists":          {"Project Management", "Inspections", true, []string{"delete"}},
		"Inspection Logs":                {"Project Management", "Inspections", true, nil},
		"Incidents":                      {"Project Management", "Incidents", true, nil},
		"Forms":                          {"Project Management", "Forms", true, nil},
		"Work Order Contracts":           {"Construction Financials", "Commitments", true, nil},
		"Purchase Order Contracts":       {"Construction Financials", "Commitments", true, nil},
		"Drawings":                       {"Project Management", "Drawings", true, nil},
		"Drawing Areas":                  {"Project Management", "Drawings", true, nil},
		"Daily Logs":                     {"Project Management", "Daily Log", true, nil},
		"Daily Log/Entries":              {"Project Management", "Daily Log", true, nil},
		"Daily Construction Report Logs": {"Project Management", "Daily Log", true, nil},
		"Accident Logs":                  {"Project Management", "Daily Log", true, nil},
		"Manpower Logs":                  {"Project Management", "Daily Log", true, nil},
		"Notes Logs":                     {"Project Management", "Daily Log", true, nil},
		"Weather Logs":                   {"Project Management", "Daily Log", true, []string{"delete"}},
	} {
		webhookResources[name] = r
	}
}
