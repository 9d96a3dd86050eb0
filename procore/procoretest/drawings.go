package procoretest

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Drawings: areas (GET /rest/v1.0/projects/{project_id}/drawing_areas) and
// drawing revisions (GET …/drawing_revisions, GET …/drawing_revisions/{id})
// whose pdf_url is on the file host and serves a real small PDF. A new
// revision becomes the drawing's current one; the previous one stays
// listed with current false (its updated_at moves on). Deleted revisions
// leave the list and show with filters[deleted]=only|with; their
// updated_at is the deletion time. Renaming an area changes no revision's
// updated_at.

type dwArea struct {
	ID, ProjectID        int64
	Name                 string
	CreatedAt, UpdatedAt time.Time
}

type dwDrawing struct {
	ID, ProjectID, AreaID int64
	Number, Title         string
	Discipline            string
}

type dwRevision struct {
	ID, DrawingID int64
	Number        string // revision_number
	Key           string
	Size          int64
	Current       bool
	Date          string
	UpdatedAt     time.Time
	DeletedAt     time.Time
}

type drawingState struct {
	areas       map[int64]*dwArea
	drawings    map[int64]*dwDrawing
	revisions   map[int64]*dwRevision
	disciplines map[string]int64 // name → id
}

// drawings returns the Drawings state. Caller holds s.mu.
func (s *Server) drawingsState() *drawingState {
	if s.dw == nil {
		s.dw = &drawingState{areas: map[int64]*dwArea{}, drawings: map[int64]*dwDrawing{}, revisions: map[int64]*dwRevision{},
			disciplines: map[string]int64{}}
	}
	return s.dw
}

func (s *Server) drawingRoutes(r func(pattern, op string, mode authMode, h handler)) {
	r("GET /rest/v1.0/projects/{project_id}/drawing_areas", "RestV10ProjectsProjectIdDrawingAreasGet", authCompany, (*call).listDrawingAreas)
	r("GET /rest/v1.0/projects/{project_id}/drawing_revisions", "RestV10ProjectsProjectIdDrawingRevisionsGet", authCompany, (*call).listDrawingRevisions)
	r("GET /rest/v1.0/projects/{project_id}/drawing_revisions/{id}", "RestV10ProjectsProjectIdDrawingRevisionsIdGet", authCompany, (*call).getDrawingRevision)
}

func (c *call) listDrawingAreas() {
	sc := c.recordProject()
	if sc == nil {
		return
	}
	s := c.s
	s.mu.Lock()
	st := s.drawingsState()
	var list []*dwArea
	for _, a := range st.areas {
		if a.ProjectID == sc.projectID {
			list = append(list, a)
		}
	}
	counts := map[int64]int{}
	for _, d := range st.drawings {
		counts[d.AreaID]++
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	writePage(c, list, true, func(a *dwArea) any {
		return map[string]any{"id": a.ID, "name": a.Name, "drawings_count": counts[a.ID], "description": "",
			"drawing_sets": []any{}, "drawing_disciplines": []any{}, "created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt),
			"area_deletable": counts[a.ID] == 0}
	})
}

func (c *call) listDrawingRevisions() {
	sc, from, to, ok := c.recordWindow()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	intParam := func(name string) (int64, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid "+name)
			return 0, false
		}
		return n, true
	}
	areaID, ok := intParam("drawing_area_id")
	if !ok {
		return
	}
	drawingID, ok := intParam("drawing_id")
	if !ok {
		return
	}
	deleted := q.Get("filters[deleted]")
	if deleted != "" && deleted != "only" && deleted != "with" {
		writeError(c.w, http.StatusBadRequest, "bad_request", "invalid filters[deleted]")
		return
	}
	desc := q.Get("sort") == "-id"
	s := c.s
	s.mu.Lock()
	st := s.drawingsState()
	var list []*dwRevision
	for _, rv := range st.revisions {
		d := st.drawings[rv.DrawingID]
		if d == nil || d.ProjectID != sc.projectID || (areaID != 0 && d.AreaID != areaID) || (drawingID != 0 && d.ID != drawingID) {
			continue
		}
		isDel := !rv.DeletedAt.IsZero()
		if (deleted == "" && isDel) || (deleted == "only" && !isDel) || !inRange(rv.UpdatedAt, from, to) {
			continue
		}
		list = append(list, rv)
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return (list[i].ID < list[j].ID) != desc })
	writePage(c, list, true, func(rv *dwRevision) any { return s.revisionJSON(sc, rv) })
}

func (c *call) getDrawingRevision() {
	sc := c.recordProject()
	if sc == nil {
		return
	}
	id, ok := c.pathInt("id")
	if !ok {
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.drawingsState()
	rv := st.revisions[id]
	if rv == nil || !rv.DeletedAt.IsZero() || st.drawings[rv.DrawingID] == nil || st.drawings[rv.DrawingID].ProjectID != sc.projectID {
		writeError(c.w, http.StatusNotFound, "not_found", "Drawing revision not found")
		return
	}
	writeJSON(c.w, http.StatusOK, s.revisionJSON(sc, rv))
}

// revisionJSON renders a revision. Caller holds s.mu.
func (s *Server) revisionJSON(sc *docScope, rv *dwRevision) map[string]any {
	st := s.drawingsState()
	d := st.drawings[rv.DrawingID]
	u := s.downloadURL(sc, &version{Key: rv.Key})
	var area, disc any
	if d.AreaID != 0 {
		area = map[string]any{"id": d.AreaID}
	} else {
		area = map[string]any{"id": nil}
	}
	if d.Discipline != "" {
		disc = map[string]any{"id": st.disciplines[d.Discipline], "name": d.Discipline, "position": 1}
	}
	return map[string]any{"id": rv.ID, "drawing_id": d.ID, "number": d.Number, "title": d.Title, "revision_number": rv.Number,
		"drawing_date": rv.Date, "received_date": rv.Date, "current": rv.Current, "obsolete": false, "floorplan": false,
		"pdf_url": u, "pdf_size": rv.Size, "png_url": nil, "png_size": nil, "thumbnail_url": nil, "large_thumbnail_url": nil,
		"zip_url": nil, "width": 3370, "height": 2384, "position": 1, "order_in_drawing": 1, "status": "published",
		"updated_at": ts(rv.UpdatedAt), "has_public_markup_layer_elements": false, "has_drawing_sketches": false,
		"drawing_sketches_count": 0, "connectability_outdated": false, "activity_stream_last_viewed_at": nil,
		"drawing_set": map[string]any{"id": 1}, "drawing_area": area, "discipline": disc}
}

// ---- the web UI ----

// UIAddDrawingArea adds a drawing area to project projectID and returns
// its ID.
func (s *Server) UIAddDrawingArea(projectID int64, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := &dwArea{ID: s.newID(), ProjectID: projectID, Name: name, CreatedAt: now, UpdatedAt: now}
	s.drawingsState().areas[a.ID] = a
	return a.ID
}

// UIRenameDrawingArea renames an area (no revision's updated_at changes).
func (s *Server) UIRenameDrawingArea(areaID int64, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.drawingsState().areas[areaID]
	if a == nil {
		return fmt.Errorf("procoretest: no drawing area %d", areaID)
	}
	a.Name, a.UpdatedAt = name, s.now()
	if sc := s.scopes[projectScopeKey(a.ProjectID)]; sc != nil {
		s.emit(sc.companyID, sc.projectID, "Drawing Areas", "update", a.ID, s.UserID)
	}
	return nil
}

// UIAddDrawing uploads a drawing's first revision ("0") into an area (0:
// a project without areas) with a discipline ("" for none). pdf nil makes
// a small real PDF naming the drawing. It returns the drawing's and the
// revision's IDs.
func (s *Server) UIAddDrawing(projectID, areaID int64, discipline, number, title string, pdf []byte) (drawingID, revisionID int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scopes[projectScopeKey(projectID)]
	if sc == nil {
		return 0, 0, fmt.Errorf("procoretest: unknown project %d", projectID)
	}
	st := s.drawingsState()
	if areaID != 0 && st.areas[areaID] == nil {
		return 0, 0, fmt.Errorf("procoretest: no drawing area %d", areaID)
	}
	if discipline != "" && st.disciplines[discipline] == 0 {
		st.disciplines[discipline] = s.newID()
	}
	d := &dwDrawing{ID: s.newID(), ProjectID: projectID, AreaID: areaID, Number: number, Title: title, Discipline: discipline}
	st.drawings[d.ID] = d
	rv := s.addRevisionLocked(sc, d, "0", pdf)
	return d.ID, rv.ID, nil
}

// UIAddDrawingRevision uploads a new revision of a drawing: it becomes
// current, and the previous current revision is superseded. It returns
// the new revision's ID.
func (s *Server) UIAddDrawingRevision(drawingID int64, revision string, pdf []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.drawingsState()
	d := st.drawings[drawingID]
	if d == nil {
		return 0, fmt.Errorf("procoretest: no drawing %d", drawingID)
	}
	return s.addRevisionLocked(s.scopes[projectScopeKey(d.ProjectID)], d, revision, pdf).ID, nil
}

func (s *Server) addRevisionLocked(sc *docScope, d *dwDrawing, revision string, pdf []byte) *dwRevision {
	st := s.drawingsState()
	now := s.now()
	for _, old := range st.revisions {
		if old.DrawingID == d.ID && old.Current {
			old.Current, old.UpdatedAt = false, now
		}
	}
	if pdf == nil {
		pdf = TinyPDF(d.Number + " - " + d.Title + " rev " + revision)
	}
	key := "companies/" + itoa(sc.companyID) + "/" + itoa(s.newID())
	s.blobs[key] = append([]byte(nil), pdf...)
	rv := &dwRevision{ID: s.newID(), DrawingID: d.ID, Number: revision, Key: key, Size: int64(len(pdf)), Current: true,
		Date: now.Format("2006-01-02"), UpdatedAt: now}
	st.revisions[rv.ID] = rv
	s.emit(sc.companyID, sc.projectID, "Drawings", "update", d.ID, s.UserID)
	return rv
}

// UIDeleteDrawingRevision deletes a revision (to the recycle bin); when it
// was current, the latest remaining one becomes current.
func (s *Server) UIDeleteDrawingRevision(revisionID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.drawingsState()
	rv := st.revisions[revisionID]
	if rv == nil || !rv.DeletedAt.IsZero() {
		return fmt.Errorf("procoretest: no live drawing revision %d", revisionID)
	}
	now := s.now()
	rv.DeletedAt, rv.UpdatedAt = now, now
	if rv.Current {
		rv.Current = false
		var next *dwRevision
		for _, o := range st.revisions {
			if o.DrawingID == rv.DrawingID && o.DeletedAt.IsZero() && (next == nil || o.ID > next.ID) {
				next = o
			}
		}
		if next != nil {
			next.Current, next.UpdatedAt = true, now
		}
	}
	if d := st.drawings[rv.DrawingID]; d != nil {
		if sc := s.scopes[projectScopeKey(d.ProjectID)]; sc != nil {
			s.emit(sc.companyID, sc.projectID, "Drawings", "update", d.ID, s.UserID)
		}
	}
	return nil
}

// SeedDrawings adds n drawings to project projectID, spread over areas
// (none: a project without areas) and four disciplines, each with one
// revision holding a small real PDF. It returns the drawing IDs.
func (s *Server) SeedDrawings(projectID int64, areas []string, n int) ([]int64, error) {
	var areaIDs []int64
	for _, a := range areas {
		areaIDs = append(areaIDs, s.UIAddDrawingArea(projectID, a))
	}
	disc := []string{"Architectural", "Structural", "Mechanical", "Electrical"}
	prefix := []string{"A", "S", "M", "E"}
	var out []int64
	for i := 0; i < n; i++ {
		var area int64
		if len(areaIDs) > 0 {
			area = areaIDs[i%len(areaIDs)]
		}
		k := (i / max(len(areaIDs), 1)) % len(disc)
		id, _, err := s.UIAddDrawing(projectID, area, disc[k], fmt.Sprintf("%s-%03d", prefix[k], 100+i), "Plan "+strconv.Itoa(i), nil)
		if err != nil {
			return out, err
		}
		out = append(out, id)
	}
	return out, nil
}

// TinyPDF returns a small, valid one-page PDF that shows text (printable
// ASCII; other characters are shown as "?"), as Procore's drawing files
// and PDF exports are real PDFs.
func TinyPDF(text string) []byte {
	esc := strings.Map(func(c rune) rune {
		if c < 32 || c > 126 {
			return '?'
		}
		return c
	}, text)
	esc = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(esc)
	content := "BT /F1 12 Tf 72 720 Td (" + esc + ") Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		"<< /Length " + strconv.Itoa(len(content)) + " >>\nstream\n" + content + "\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
