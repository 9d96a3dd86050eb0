package procoretest

import (
	"fmt"
	"strconv"
)

// The helpers below change record tools as a person in Procore's web UI
// would: every change sets the record's updated_at (except an attachment
// added to an inspection item, which Procore keeps on the item) and sends
// the tool's webhook event.

// ownerScope is the scope of a tool's records: project projectID's, or
// for a company-level tool company projectID's. Caller holds s.mu.
func (s *Server) ownerScope(projectID int64, tool RecordTool) (*docScope, error) {
	key := projectScopeKey(projectID)
	if tool == ToolFormTemplates {
		key = companyScopeKey(projectID)
	}
	sc := s.scopes[key]
	if sc == nil {
		return nil, fmt.Errorf("procoretest: unknown project or company %d", projectID)
	}
	return sc, nil
}

// emitRecord sends a record tool's webhook event (none for tools without
// webhook resources). Caller holds s.mu.
func (s *Server) emitRecord(sc *docScope, tool RecordTool, event string, id int64) {
	if res := recordResource[tool]; res != "" {
		s.emit(sc.companyID, sc.projectID, res, event, id, s.UserID)
	}
}

// lockedRecord finds a live record. Caller holds s.mu.
func (s *Server) lockedRecord(projectID int64, tool RecordTool, id int64) (*fakeRecord, *docScope, error) {
	sc, err := s.ownerScope(projectID, tool)
	if err != nil {
		return nil, nil, err
	}
	r := s.recordStore().recs[id]
	if r == nil || r.Tool != tool || r.ProjectID != projectID || !r.DeletedAt.IsZero() {
		return nil, nil, fmt.Errorf("procoretest: no live %s record %d", tool, id)
	}
	return r, sc, nil
}

// UICreateRecord adds a record to a tool of project projectID (for
// ToolFormTemplates: of company projectID): number
// ("12"; an inspection's or incident's number must be an integer; a
// form's "number" is its template name), title and status. RFIs get one
// question, inspections two items. It returns the record ID.
func (s *Server) UICreateRecord(projectID int64, tool RecordTool, number, title, status string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.ownerScope(projectID, tool)
	if err != nil {
		return 0, err
	}
	if _, ok := recordResource[tool]; !ok {
		return 0, fmt.Errorf("procoretest: unknown record tool %q", tool)
	}
	now := s.now()
	r := &fakeRecord{Tool: tool, ID: s.newID(), ProjectID: projectID, Number: number, Title: title, Status: status,
		Description: "Created in the web UI: " + title, UserID: s.UserID, CreatedAt: now, UpdatedAt: now}
	switch tool {
	case ToolRFIs:
		r.Entries = append(r.Entries, &recEntry{ID: s.newID(), Kind: SlotQuestion, Body: "What is " + title + "?",
			UserID: s.UserID, At: now, CreatedAt: now, UpdatedAt: now})
	case ToolInspections:
		for i, name := range []string{"Guardrails in place", "PPE worn"} {
			st := "conforming"
			if i == 1 {
				st = "deficient"
			}
			r.Entries = append(r.Entries, &recEntry{ID: s.newID(), Kind: SlotItem, Body: name, Status: st,
				UserID: s.UserID, At: now, CreatedAt: now, UpdatedAt: now})
		}
	}
	s.recordStore().recs[r.ID] = r
	s.emitRecord(sc, tool, "create", r.ID)
	return r.ID, nil
}

// UIEditRecord changes a record's title and status (empty: unchanged).
func (s *Server) UIEditRecord(projectID int64, tool RecordTool, id int64, title, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, sc, err := s.lockedRecord(projectID, tool, id)
	if err != nil {
		return err
	}
	if title != "" {
		r.Title = title
	}
	if status != "" {
		r.Status = status
	}
	r.UpdatedAt = s.now()
	s.emitRecord(sc, tool, "update", id)
	return nil
}

// UIAddAttachment attaches a file to a record at slot (SlotRecord, or the
// tool's own places: SlotAnswer for an RFI answer, SlotApprover, …) and
// returns the attachment's ID.
func (s *Server) UIAddAttachment(projectID int64, tool RecordTool, id int64, slot, name string, content []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, sc, err := s.lockedRecord(projectID, tool, id)
	if err != nil {
		return 0, err
	}
	now := s.now()
	f := &recFile{ID: s.newID(), Name: name, Size: int64(len(content)), CreatedAt: now, UpdatedAt: now}
	f.Key = "companies/" + itoa(sc.companyID) + "/records/" + itoa(f.ID)
	if slot == SlotAssociated {
		f.Key = "assoc/" + f.Key
	}
	s.blobs[f.Key] = append([]byte(nil), content...)
	newEntry := func(kind, body, status string) *recEntry {
		e := &recEntry{ID: s.newID(), Kind: kind, Body: body, Status: status, UserID: s.UserID, At: now,
			CreatedAt: now, UpdatedAt: now, Files: []*recFile{f}}
		r.Entries = append(r.Entries, e)
		return e
	}
	first := func(kind string) *recEntry {
		for _, e := range r.Entries {
			if e.Kind == kind {
				return e
			}
		}
		return nil
	}
	bump := true
	switch {
	case slot == SlotRecord && tool == ToolFormTemplates:
		r.Files = []*recFile{f} // a template has one attachment
	case slot == SlotRecord, slot == SlotAssociated && tool == ToolSubmittals:
		r.Files = append(r.Files, f)
	case slot == SlotQuestion && tool == ToolRFIs && first(SlotQuestion) != nil:
		q := first(SlotQuestion)
		q.Files = append(q.Files, f)
	case slot == SlotAnswer && tool == ToolRFIs:
		newEntry(SlotAnswer, "Answered with "+name, "official")
	case slot == SlotApprover && tool == ToolSubmittals:
		newEntry(SlotApprover, "Reviewed, see "+name, "Approved as Noted")
	case slot == SlotDistributed && tool == ToolSubmittals:
		newEntry(SlotDistributed, "Distributed "+name, "")
	case slot == SlotItem && tool == ToolInspections && first(SlotItem) != nil:
		it := first(SlotItem)
		it.Files = append(it.Files, f)
		it.UpdatedAt = now
		bump = false
	case slot == SlotSignature && tool == ToolInspections:
		newEntry(SlotSignature, "", "signed")
	case slot == SlotPayment && (tool == ToolWorkOrders || tool == ToolPurchaseOrders):
		newEntry(SlotPayment, "Payment with "+name, "")
	case slot == SlotFillable && (tool == ToolForms || tool == ToolFormTemplates):
		r.Fillable = f
	default:
		delete(s.blobs, f.Key)
		return 0, fmt.Errorf("procoretest: %s records have no attachment slot %q", tool, slot)
	}
	if bump {
		r.UpdatedAt = now
		s.emitRecord(sc, tool, "update", id)
	}
	return f.ID, nil
}

// UIRemoveAttachment removes an attachment from wherever it hangs.
func (s *Server) UIRemoveAttachment(projectID int64, tool RecordTool, id, attachmentID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, sc, err := s.lockedRecord(projectID, tool, id)
	if err != nil {
		return err
	}
	drop := func(list []*recFile) ([]*recFile, bool) {
		for i, f := range list {
			if f.ID == attachmentID {
				return append(list[:i:i], list[i+1:]...), true
			}
		}
		return list, false
	}
	found := false
	var ok bool
	if r.Files, ok = drop(r.Files); ok {
		found = true
	}
	for _, e := range r.Entries {
		if e.Files, ok = drop(e.Files); ok {
			found = true
		}
	}
	if r.Fillable != nil && r.Fillable.ID == attachmentID {
		r.Fillable, found = nil, true
	}
	if !found {
		return fmt.Errorf("procoretest: %s record %d has no attachment %d", tool, id, attachmentID)
	}
	r.UpdatedAt = s.now()
	s.emitRecord(sc, tool, "update", id)
	return nil
}

// UIRecycleRecord moves a record to its tool's recycle bin (contracts:
// deletes it; they are then listed only with filters[include_deleted]).
func (s *Server) UIRecycleRecord(projectID int64, tool RecordTool, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, sc, err := s.lockedRecord(projectID, tool, id)
	if err != nil {
		return err
	}
	now := s.now()
	r.DeletedAt, r.UpdatedAt = now, now
	s.emitRecord(sc, tool, "delete", id)
	return nil
}

// UIDeleteRecord deletes a record for good (also from the recycle bin).
func (s *Server) UIDeleteRecord(projectID int64, tool RecordTool, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recordStore().recs[id]
	if r == nil || r.Tool != tool || r.ProjectID != projectID {
		return fmt.Errorf("procoretest: no %s record %d", tool, id)
	}
	delete(s.recordStore().recs, id)
	if sc, err := s.ownerScope(projectID, tool); err == nil && r.DeletedAt.IsZero() {
		s.emitRecord(sc, tool, "delete", id)
	}
	return nil
}

// UIRecords lists the IDs of a tool's live records, in ID order.
func (s *Server) UIRecords(projectID int64, tool RecordTool) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, r := range s.records(projectID, tool, func(r *fakeRecord) bool { return r.DeletedAt.IsZero() }) {
		out = append(out, r.ID)
	}
	return out
}

// SeedRecords adds n records to a tool, numbered from 1, each with
// attachments records attachments of size bytes spread over the tool's
// places, for tests and benchmarks of a realistic project.
func (s *Server) SeedRecords(projectID int64, tool RecordTool, n, attachments, size int) error {
	slots := map[RecordTool][]string{ToolRFIs: {SlotQuestion, SlotAnswer}, ToolSubmittals: {SlotRecord, SlotApprover, SlotDistributed},
		ToolObservations: {SlotRecord}, ToolInspections: {SlotRecord, SlotItem, SlotSignature}, ToolIncidents: {SlotRecord},
		ToolForms: {SlotFillable, SlotRecord}, ToolWorkOrders: {SlotRecord, SlotPayment}, ToolPurchaseOrders: {SlotRecord, SlotPayment}}
	content := make([]byte, size)
	for i := range content {
		content[i] = byte('a' + i%26)
	}
	for i := 1; i <= n; i++ {
		id, err := s.UICreateRecord(projectID, tool, strconv.Itoa(i), fmt.Sprintf("%s record %d", tool, i), "open")
		if err != nil {
			return err
		}
		for k := 0; k < attachments; k++ {
			slot := slots[tool][k%len(slots[tool])]
			if _, err := s.UIAddAttachment(projectID, tool, id, slot, fmt.Sprintf("file-%d-%d.pdf", i, k), content); err != nil {
				return err
			}
		}
	}
	return nil
}
