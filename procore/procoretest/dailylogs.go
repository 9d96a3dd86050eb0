package procoretest

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// The Daily Log: one list endpoint per log type under
// /rest/v1.0/projects/{project_id}/<type> (weather also under
// /rest/v1.1/projects/{project_id}/daily_logs/weather_logs), the counts by
// type (daily_logs/count) and the day headers (daily_log_headers/index).
// Lists take log_date or start_date+end_date (no date: today's entries,
// as Procore answers) and have no filters[updated_at]. Deleted entries
// leave the v1.0 lists; the v1.1 weather list shows them with deleted_at.
// Adding an attachment to an entry does not change the entry's updated_at
// (a client must look at the attachments too).

// dlKind describes one log type of the fake: its resource, operation id
// stem, the attachment keys its entries carry (nil: no attachments) and
// whether entries have created_at/updated_at.
type dlKind struct {
	resource   string
	op         string // operation id without the method suffix
	pattern    string // route pattern without the method
	attachKeys []string
	stamps     bool
	paged      bool
	sample     func(i int) map[string]any // type columns of a realistic entry
}

var (
	attShort = []string{"id", "name", "url", "filename"}
	attLong  = []string{"id", "name", "url", "filename", "content_type", "share_url", "viewable_type", "viewable_url"}
)

var vendors = []string{"Müller Concrete GmbH", "Ørsted Electric", "Acme Steel", "Smith & Sons Plumbing", "北京建筑 Co."}

func vendor(i int) map[string]any {
	return map[string]any{"id": 7000 + i%len(vendors), "name": vendors[i%len(vendors)]}
}

var dlKinds = []dlKind{
	{resource: "weather_logs", op: "RestV11ProjectsProjectIdDailyLogsWeatherLogs", pattern: "/rest/v1.1/projects/{project_id}/daily_logs/weather_logs",
		attachKeys: []string{"id", "name", "url"}, stamps: true, paged: true, sample: func(i int) map[string]any {
			skies := []string{"Clear", "Partly Cloudy", "Overcast", "Rain"}
			return map[string]any{"temperature": fmt.Sprint(12 + i%15), "sky": skies[i%len(skies)], "precipitation": "None",
				"wind": "Light", "ground": "Dry", "calamity": "None", "average": "Average", "comments": "Morning reading",
				"time": "08:00", "is_weather_delay": "false"}
		}},
	{resource: "manpower_logs", op: "RestV10ProjectsProjectIdManpowerLogs", pattern: "/rest/v1.0/projects/{project_id}/manpower_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"num_workers": 3 + i%9, "num_hours": "8.0", "man_hours": fmt.Sprint(8 * (3 + i%9)),
				"notes": "Crew on level " + fmt.Sprint(1+i%6), "vendor": vendor(i), "status": "approved"}
		}},
	{resource: "notes_logs", op: "RestV10ProjectsProjectIdNotesLogs", pattern: "/rest/v1.0/projects/{project_id}/notes_logs",
		attachKeys: attLong, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"comment": "Ø 12 rebar delivered and checked against the schedule (note " + fmt.Sprint(i) + ")",
				"is_issue_day": i%7 == 0, "status": "approved"}
		}},
	{resource: "equipment_logs", op: "RestV10ProjectsProjectIdEquipmentLogs", pattern: "/rest/v1.0/projects/{project_id}/equipment_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"hours_operating": "6", "hours_idle": "2", "inspected": true, "notes": "Crane " + fmt.Sprint(1+i%2),
				"equipment": map[string]any{"id": 900 + i%2, "name": "Tower crane " + fmt.Sprint(1+i%2)}}
		}},
	{resource: "visitor_logs", op: "RestV10ProjectsProjectIdVisitorLogs", pattern: "/rest/v1.0/projects/{project_id}/visitor_logs",
		stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"subject": "Owner walkthrough", "details": "Visited levels 1-3", "begin_hour": 10, "begin_minute": 0,
				"end_hour": 11, "end_minute": 30, "vendor": vendor(i)}
		}},
	{resource: "call_logs", op: "RestV10ProjectsProjectIdCallLogs", pattern: "/rest/v1.0/projects/{project_id}/call_logs",
		attachKeys: attLong, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"subject_from": "Site office", "subject_to": "Architect", "description": "Clarified door schedule",
				"start_hour": 9, "start_minute": 15, "end_hour": 9, "end_minute": 30}
		}},
	{resource: "inspection_logs", op: "RestV10ProjectsProjectIdInspectionLogs", pattern: "/rest/v1.0/projects/{project_id}/inspection_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"inspection_type": "Fire stopping", "inspector_name": "J. Müller", "inspecting_entity": "City",
				"area": "Level " + fmt.Sprint(1+i%6), "comments": "Passed", "start_hour": 13, "start_minute": 0, "end_hour": 14, "end_minute": 0}
		}},
	{resource: "delivery_logs", op: "RestV10ProjectsProjectIdDeliveryLogs", pattern: "/rest/v1.0/projects/{project_id}/delivery_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"delivery_from": vendors[i%len(vendors)], "tracking_number": fmt.Sprintf("TRK-%05d", i),
				"contents": "Rebar bundles", "comments": "Unloaded at gate 2", "time_hour": 7, "time_minute": 45, "status": "approved"}
		}},
	{resource: "safety_violation_logs", op: "RestV10ProjectsProjectIdSafetyViolationLogs", pattern: "/rest/v1.0/projects/{project_id}/safety_violation_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"subject": "Missing harness", "issued_to": "Sub crew", "safety_notice": "Verbal warning",
				"compliance_due": "2026-12-31", "comments": "Corrected on site", "time_hour": 10, "time_minute": 5}
		}},
	{resource: "accident_logs", op: "RestV10ProjectsProjectIdAccidentLogs", pattern: "/rest/v1.0/projects/{project_id}/accident_logs",
		attachKeys: attLong, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"involved_name": "Worker " + fmt.Sprint(i), "involved_company": vendors[i%len(vendors)],
				"comments": "First aid only", "time_hour": 15, "time_minute": 20}
		}},
	{resource: "quantity_logs", op: "RestV10ProjectsProjectIdQuantityLogs", pattern: "/rest/v1.0/projects/{project_id}/quantity_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"description": "Concrete poured", "quantity": 20 + i%30, "unit": "m³"}
		}},
	{resource: "productivity_logs", op: "RestV10ProjectsProjectIdProductivityLogs", pattern: "/rest/v1.0/projects/{project_id}/productivity_logs",
		stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"company": vendors[i%len(vendors)], "contract": "PO-12", "notes": "On schedule",
				"quantity_used": "12", "quantity_delivered": "15"}
		}},
	{resource: "dumpster_logs", op: "RestV10ProjectsProjectIdDumpsterLogs", pattern: "/rest/v1.0/projects/{project_id}/dumpster_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"quantity_delivered": 1, "quantity_removed": 1, "comments": "Swap", "vendor": vendor(i)}
		}},
	{resource: "waste_logs", op: "RestV10ProjectsProjectIdWasteLogs", pattern: "/rest/v1.0/projects/{project_id}/waste_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"material": "Timber", "disposal_location": "Recycling yard", "method_of_disposal": "Recycled",
				"approximate_quantity": 3, "description": "Formwork offcuts"}
		}},
	{resource: "work_logs", op: "RestV10ProjectsProjectIdWorkLogs", pattern: "/rest/v1.0/projects/{project_id}/work_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"resource_name": "Drywall", "workers": 4, "hours": 8.0, "comments": "Level 2 east", "showed": true}
		}},
	{resource: "delay_logs", op: "RestV10ProjectsProjectIdDelayLogs", pattern: "/rest/v1.0/projects/{project_id}/delay_logs",
		attachKeys: attShort, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"delay_type": "Weather", "duration": 2, "comments": "Rain stopped the pour", "status": "approved"}
		}},
	{resource: "plan_revision_logs", op: "RestV10ProjectsProjectIdPlanRevisionLogs", pattern: "/rest/v1.0/projects/{project_id}/plan_revision_logs",
		attachKeys: attShort, sample: func(i int) map[string]any {
			return map[string]any{"plan_number": fmt.Sprintf("A-%03d", 100+i%50), "title": "Floor plan", "revision": fmt.Sprint(1 + i%4),
				"category": "Architectural", "comments": "Issued for construction"}
		}},
	{resource: "daily_construction_report_logs", op: "RestV10ProjectsProjectIdDailyConstructionReportLogs", pattern: "/rest/v1.0/projects/{project_id}/daily_construction_report_logs",
		attachKeys: []string{"id", "name", "url", "filename"}, stamps: true, paged: true, sample: func(i int) map[string]any {
			return map[string]any{"notes": "Report", "number_of_foreman_workers": 1, "foreman_hours": "8", "status": "approved",
				"vendor": vendor(i)}
		}},
}

// DailyLogTypes are the resources of the fake's Daily Log types
// ("weather_logs", "manpower_logs", …), in the web UI's order.
func DailyLogTypes() []string {
	out := make([]string, len(dlKinds))
	for i, k := range dlKinds {
		out[i] = k.resource
	}
	return out
}

func dlKindOf(resource string) *dlKind {
	for i := range dlKinds {
		if dlKinds[i].resource == resource {
			return &dlKinds[i]
		}
	}
	return nil
}

type dlAttachment struct {
	ID   int64
	Name string
	Key  string
	Size int64
}

type dlEntry struct {
	ID, ProjectID        int64
	Kind                 string
	Date                 string
	Fields               map[string]any
	Attachments          []dlAttachment
	CreatedAt, UpdatedAt time.Time
	DeletedAt            time.Time
	CreatedBy            int64
	Position             int
}

type dlHeader struct {
	ID, ProjectID int64
	Date          string
}

type dailyLogState struct {
	entries map[int64]*dlEntry
	headers map[string]*dlHeader // "<project>/<date>"
}

// dailyLogs returns the Daily Log state. Caller holds s.mu.
func (s *Server) dailyLogs() *dailyLogState {
	if s.dl == nil {
		s.dl = &dailyLogState{entries: map[int64]*dlEntry{}, headers: map[string]*dlHeader{}}
	}
	return s.dl
}

// dailyLogHeader returns (making it when missing) the header of a
// project's day. Caller holds s.mu.
func (s *Server) dailyLogHeader(projectID int64, date string) *dlHeader {
	st := s.dailyLogs()
	k := itoa(projectID) + "/" + date
	h := st.headers[k]
	if h == nil {
		h = &dlHeader{ID: s.newID(), ProjectID: projectID, Date: date}
		st.headers[k] = h
	}
	return h
}

func (s *Server) dailyLogRoutes(r func(pattern, op string, mode authMode, h handler)) {
	for i := range dlKinds {
		k := &dlKinds[i]
		r("GET "+k.pattern, k.op+"Get", authCompany, func(c *call) { c.listDailyLog(k, false) })
	}
	// The v1.0 weather list (live entries only).
	wk := *dlKindOf("weather_logs")
	wk.attachKeys = attShort
	r("GET /rest/v1.0/projects/{project_id}/weather_logs", "RestV10ProjectsProjectIdWeatherLogsGet", authCompany,
		func(c *call) { c.listDailyLog(&wk, true) })
	r("GET /rest/v1.0/projects/{project_id}/daily_logs/count", "RestV10ProjectsProjectIdDailyLogsCountGet", authCompany, (*call).dailyLogCount)
	r("GET /rest/v1.0/projects/{project_id}/daily_log_headers/index", "RestV10ProjectsProjectIdDailyLogHeadersIndexGet", authCompany, (*call).dailyLogHeaders)
}

// dateWindow reads log_date or start_date+end_date; with none it is
// today (the fake's clock), as Procore answers. all makes "no dates" mean
// every day instead (daily_log_headers/index).
func (c *call) dateWindow(all bool) (from, to string, ok bool) {
	q := c.r.URL.Query()
	bad := func(msg string) (string, string, bool) {
		writeError(c.w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
		return "", "", false
	}
	valid := func(s string) bool { _, err := time.Parse("2006-01-02", s); return err == nil }
	if d := q.Get("log_date"); d != "" {
		if !valid(d) {
			return bad("log_date is invalid")
		}
		return d, d, true
	}
	from, to = q.Get("start_date"), q.Get("end_date")
	switch {
	case from == "" && to == "":
		if all {
			return "0000-01-01", "9999-12-31", true
		}
		c.s.mu.Lock()
		today := c.s.now().Format("2006-01-02")
		c.s.mu.Unlock()
		return today, today, true
	case from == "" || to == "":
		return bad("start_date and end_date must be given together")
	case !valid(from) || !valid(to):
		return bad("start_date or end_date is invalid")
	case to < from:
		return bad("end_date is before start_date")
	}
	return from, to, true
}

func (c *call) listDailyLog(k *dlKind, liveOnly bool) {
	sc, from, to, ok := c.windowed(false)
	if !ok {
		return
	}
	showDeleted := k.resource == "weather_logs" && !liveOnly
	s := c.s
	s.mu.Lock()
	var list []*dlEntry
	for _, e := range s.dailyLogs().entries {
		if e.ProjectID == sc.projectID && e.Kind == k.resource && e.Date >= from && e.Date <= to && (showDeleted || e.DeletedAt.IsZero()) {
			list = append(list, e)
		}
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Date != b.Date {
			return a.Date < b.Date
		}
		if a.Position != b.Position {
			return a.Position < b.Position
		}
		return a.ID < b.ID
	})
	writePage(c, list, k.paged, func(e *dlEntry) any { return s.dailyLogJSON(sc, k, e, showDeleted) })
}

// writePage writes one page of list (all of it when not paged, as
// endpoints without page and per_page answer), each item rendered under
// s.mu.
func writePage[T any](c *call, list []T, paged bool, render func(T) any) {
	lo, hi := 0, len(list)
	if paged {
		var ok bool
		if lo, hi, ok = c.paginate(len(list)); !ok {
			return
		}
	}
	c.s.mu.Lock()
	out := make([]any, 0, hi-lo)
	for _, it := range list[lo:hi] {
		out = append(out, render(it))
	}
	c.s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// windowed resolves the {project_id} path value and the date window (see
// dateWindow).
func (c *call) windowed(all bool) (sc *docScope, from, to string, ok bool) {
	if sc = c.recordProject(); sc == nil {
		return nil, "", "", false
	}
	from, to, ok = c.dateWindow(all)
	return sc, from, to, ok
}

// dailyLogJSON renders an entry. Caller holds s.mu.
func (s *Server) dailyLogJSON(sc *docScope, k *dlKind, e *dlEntry, withDeleted bool) map[string]any {
	day, _ := time.Parse("2006-01-02", e.Date)
	m := map[string]any{"id": e.ID, "date": e.Date, "datetime": ts(day.Add(12 * time.Hour)), "position": e.Position,
		"created_by": s.userJSON(e.CreatedBy)}
	if k.stamps {
		m["created_at"], m["updated_at"] = ts(e.CreatedAt), ts(e.UpdatedAt)
	}
	if withDeleted {
		m["deleted_at"] = nullableTime(e.DeletedAt)
	}
	for key, v := range e.Fields {
		m[key] = v
	}
	if k.attachKeys != nil {
		atts := []any{}
		for _, a := range e.Attachments {
			u := s.downloadURL(sc, &version{Key: a.Key})
			full := map[string]any{"id": a.ID, "name": a.Name, "url": u, "filename": a.Name, "content_type": contentType(a.Name),
				"share_url": u, "viewable_type": "Attachment", "viewable_url": u}
			one := map[string]any{}
			for _, key := range k.attachKeys {
				one[key] = full[key]
			}
			atts = append(atts, one)
		}
		m["attachments"] = atts
	}
	return m
}

func (c *call) dailyLogCount() {
	sc, from, to, ok := c.windowed(false)
	if !ok {
		return
	}
	s := c.s
	s.mu.Lock()
	counts := map[string]int{}
	for _, e := range s.dailyLogs().entries {
		if e.ProjectID == sc.projectID && e.Date >= from && e.Date <= to && e.DeletedAt.IsZero() {
			counts[e.Kind]++
		}
	}
	s.mu.Unlock()
	out := []any{}
	for i, k := range dlKinds {
		out = append(out, map[string]any{"module_name": k.resource, "count": counts[k.resource], "position": i + 1})
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) dailyLogHeaders() {
	sc, from, to, ok := c.windowed(true)
	if !ok {
		return
	}
	s := c.s
	s.mu.Lock()
	var list []*dlHeader
	for _, h := range s.dailyLogs().headers {
		if h.ProjectID == sc.projectID && h.Date >= from && h.Date <= to {
			list = append(list, h)
		}
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Date < list[j].Date })
	writePage(c, list, true, func(h *dlHeader) any {
		day, _ := time.Parse("2006-01-02", h.Date)
		return map[string]any{"id": h.ID, "log_date": h.Date, "log_datetime": ts(day.Add(12 * time.Hour)),
			"completed": false, "completed_by": nil, "completed_at": nil, "completable": true,
			"distributed": false, "distributed_by": nil, "distributed_at": nil, "distributable": true}
	})
}

// ---- the web UI ----

// UIAddDailyLogEntry adds an entry of log type resource ("notes_logs", …)
// on date (YYYY-MM-DD) to project projectID's Daily Log, as a person
// would in the web UI. fields are the type's columns (nil: a realistic
// sample). It returns the entry's ID.
func (s *Server) UIAddDailyLogEntry(projectID int64, resource, date string, fields map[string]any) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDailyLogEntry(projectID, resource, date, fields)
}

// addDailyLogEntry adds an entry. Caller holds s.mu.
func (s *Server) addDailyLogEntry(projectID int64, resource, date string, fields map[string]any) (int64, error) {
	k := dlKindOf(resource)
	if k == nil {
		return 0, fmt.Errorf("procoretest: unknown daily log type %q", resource)
	}
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return 0, fmt.Errorf("procoretest: bad date %q", date)
	}
	sc := s.scopes[projectScopeKey(projectID)]
	if sc == nil {
		return 0, fmt.Errorf("procoretest: unknown project %d", projectID)
	}
	st := s.dailyLogs()
	id := s.newID()
	if fields == nil {
		fields = k.sample(int(id % 1000))
	}
	pos := 1
	for _, e := range st.entries {
		if e.ProjectID == projectID && e.Kind == resource && e.Date == date {
			pos++
		}
	}
	now := s.now()
	st.entries[id] = &dlEntry{ID: id, ProjectID: projectID, Kind: resource, Date: date, Fields: copyFields(fields),
		CreatedAt: now, UpdatedAt: now, CreatedBy: s.UserID, Position: pos}
	s.dailyLogHeader(projectID, date)
	s.emitDailyLog(sc, resource, "create", id)
	return id, nil
}

// emitDailyLog sends the webhook event of a log type's entry on the
// resource named after the type ("notes_logs" → "Notes Logs"), only when
// Procore offers that resource and event ("Weather Logs" has no delete
// event; types not in the listing send none). Caller holds s.mu.
func (s *Server) emitDailyLog(sc *docScope, resource, event string, id int64) {
	words := strings.Split(resource, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	name := strings.Join(words, " ")
	if r, ok := webhookResources[name]; !ok || slices.Contains(r.except, event) {
		return
	}
	s.emit(sc.companyID, sc.projectID, name, event, id, s.UserID)
}

func copyFields(f map[string]any) map[string]any {
	out := make(map[string]any, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

// UIEditDailyLogEntry changes columns of a live entry (its updated_at
// moves on).
func (s *Server) UIEditDailyLogEntry(id int64, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dailyLogs().entries[id]
	if e == nil || !e.DeletedAt.IsZero() {
		return fmt.Errorf("procoretest: no live daily log entry %d", id)
	}
	for k, v := range fields {
		e.Fields[k] = v
	}
	e.UpdatedAt = s.now()
	if sc := s.scopes[projectScopeKey(e.ProjectID)]; sc != nil {
		s.emitDailyLog(sc, e.Kind, "update", id)
	}
	return nil
}

// UIDeleteDailyLogEntry deletes an entry: it leaves the v1.0 lists, and
// the v1.1 weather list shows it with deleted_at.
func (s *Server) UIDeleteDailyLogEntry(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dailyLogs().entries[id]
	if e == nil || !e.DeletedAt.IsZero() {
		return fmt.Errorf("procoretest: no live daily log entry %d", id)
	}
	e.DeletedAt, e.UpdatedAt = s.now(), s.now()
	if sc := s.scopes[projectScopeKey(e.ProjectID)]; sc != nil {
		s.emitDailyLog(sc, e.Kind, "delete", id)
	}
	return nil
}

// UIAddDailyLogAttachment attaches a file to an entry, on the file host.
// As in Procore, the entry's updated_at does not change.
func (s *Server) UIAddDailyLogAttachment(entryID int64, name string, content []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dailyLogs().entries[entryID]
	if e == nil || !e.DeletedAt.IsZero() {
		return 0, fmt.Errorf("procoretest: no live daily log entry %d", entryID)
	}
	if k := dlKindOf(e.Kind); k.attachKeys == nil {
		return 0, fmt.Errorf("procoretest: %s entries take no attachments", e.Kind)
	}
	sc := s.scopes[projectScopeKey(e.ProjectID)]
	key := "companies/" + itoa(sc.companyID) + "/" + itoa(s.newID())
	s.blobs[key] = append([]byte(nil), content...)
	a := dlAttachment{ID: s.newID(), Name: name, Key: key, Size: int64(len(content))}
	e.Attachments = append(e.Attachments, a)
	return a.ID, nil
}

// SeedDailyLogs fills project projectID's Daily Log for days days ending
// with last (YYYY-MM-DD), deterministically: every day has weather,
// manpower and notes entries, and in turn the other types; every fifth
// entry has an attachment, and some entries were deleted. It returns the
// number of live entries added.
func (s *Server) SeedDailyLogs(projectID int64, last string, days int) (int, error) {
	end, err := time.Parse("2006-01-02", last)
	if err != nil {
		return 0, fmt.Errorf("procoretest: bad date %q", last)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for d := 0; d < days; d++ {
		date := end.AddDate(0, 0, -d).Format("2006-01-02")
		kinds := []string{"weather_logs", "manpower_logs", "manpower_logs", "notes_logs"}
		kinds = append(kinds, dlKinds[3+d%(len(dlKinds)-3)].resource)
		for i, kind := range kinds {
			id, err := s.addDailyLogEntry(projectID, kind, date, nil)
			if err != nil {
				return n, err
			}
			e := s.dailyLogs().entries[id]
			if (d+i)%5 == 0 && dlKindOf(kind).attachKeys != nil {
				sc := s.scopes[projectScopeKey(projectID)]
				key := "companies/" + itoa(sc.companyID) + "/" + itoa(s.newID())
				body := []byte(fmt.Sprintf("photo of %s %s #%d", kind, date, i))
				s.blobs[key] = body
				e.Attachments = append(e.Attachments, dlAttachment{ID: s.newID(), Name: "site photo.jpg", Key: key, Size: int64(len(body))})
			}
			if d%11 == 3 && i == 3 {
				e.DeletedAt = s.now()
				continue
			}
			n++
		}
	}
	return n, nil
}

// UIDailyLogEntries returns the IDs of project projectID's live entries
// on date, by log type.
func (s *Server) UIDailyLogEntries(projectID int64, date string) map[string][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]int64{}
	for _, e := range s.dailyLogs().entries {
		if e.ProjectID == projectID && e.Date == date && e.DeletedAt.IsZero() {
			out[e.Kind] = append(out[e.Kind], e.ID)
		}
	}
	for _, ids := range out {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	}
	return out
}

// UIAddDailyLogPhoto adds a photo to a day of project projectID's Daily
// Log (an image with log_date), as a person would in the web UI. It
// returns the image ID.
func (s *Server) UIAddDailyLogPhoto(projectID int64, date, filename string, content []byte) (int64, error) {
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return 0, fmt.Errorf("procoretest: bad date %q", date)
	}
	id, err := s.UIAddPhoto(projectID, "", filename, content)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.photos().images[id].LogDate = date
	s.dailyLogHeader(projectID, date)
	return id, nil
}

// fieldRoutes registers the Daily Log and Drawings endpoints.
func (s *Server) fieldRoutes(r func(pattern, op string, mode authMode, h handler)) {
	s.dailyLogRoutes(r)
	s.drawingRoutes(r)
}
