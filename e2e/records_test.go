package e2e

import (
	"bytes"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
)

// A Procore record tool exported one way into "<root>/<project>/<Tool>":
// the engine's pair from the tool's read-only storage (procore/records)
// onto the target, proven the same way for every tool and every target.

// seededRecord is a record a test made in Procore's web UI.
type seededRecord struct {
	id     int64  // the record's ID in the fake (Drawings: the drawing, Daily Log: the entry)
	rev    int64  // Drawings: the current revision
	number string // as printed in the PDF
	title  string // as printed in the PDF, unique in the tool
	pdf    string // the record's PDF below the tool folder on the target
}

// recordCase is one tool as the end-to-end tests drive it.
type recordCase struct {
	tool string // the tool's folder, records' Tool.Name()
	// open returns the tool's read-only storage over e's Procore client.
	open func(e *env) storage.Storage
	// seed makes three records in Procore, each with an attachment where
	// the tool has them.
	seed func(e *env) []seededRecord
	// edit changes r in Procore so that its PDF changes (not its name).
	edit func(e *env, r *seededRecord)
	// attach adds an attachment to r and returns its path below the tool
	// folder ("" for tools without attachments: a drawing is one PDF).
	attach func(e *env, r *seededRecord) string
	// remove recycles or deletes r; gone are the paths that leave.
	remove func(e *env, r seededRecord) (gone []string)
}

// recordProject is the project as the PDFs' header prints it.
func (e *env) recordProject() records.Project {
	return records.Project{ID: e.pc.ProjectID, Name: projectName}
}

// recordOptions are the record storages' options in the tests: the real
// renderer (the default), the fakes' clock.
func (e *env) recordOptions() *records.Options { return &records.Options{Now: e.clk.Now} }

// frameworkCase is a tool of records.Tools on fake tool ft: records
// numbered by number(i), attachments at slot.
func frameworkCase(name string, ft procoretest.RecordTool, slot string, number func(i int) string,
	tool func(e *env) records.Tool) recordCase {
	return recordCase{
		tool: name,
		open: func(e *env) storage.Storage {
			s, err := records.New(e.client, tool(e), e.recordOptions())
			must(e.t, err)
			return s
		},
		seed: func(e *env) []seededRecord {
			var out []seededRecord
			for i, w := range []string{"Alpha", "Bravo", "Charlie"} {
				r := seededRecord{number: number(i + 1), title: name + " " + w}
				id, err := e.pc.UICreateRecord(e.pc.ProjectID, ft, r.number, r.title, "open")
				must(e.t, err)
				r.id = id
				_, err = e.pc.UIAddAttachment(e.pc.ProjectID, ft, id, slot, strings.ToLower(w)+" sketch.txt", []byte(name+" sketch "+w))
				must(e.t, err)
				folder := r.number + " - " + r.title
				r.pdf = folder + "/" + folder + ".pdf"
				out = append(out, r)
			}
			return out
		},
		edit: func(e *env, r *seededRecord) {
			must(e.t, e.pc.UIEditRecord(e.pc.ProjectID, ft, r.id, "", "closed at "+e.clk.Now().Format("15:04")))
		},
		attach: func(e *env, r *seededRecord) string {
			_, err := e.pc.UIAddAttachment(e.pc.ProjectID, ft, r.id, slot, "late photo.jpg", []byte("late jpeg of "+r.title))
			must(e.t, err)
			return path.Join(path.Dir(r.pdf), "late photo.jpg")
		},
		remove: func(e *env, r seededRecord) []string {
			must(e.t, e.pc.UIRecycleRecord(e.pc.ProjectID, ft, r.id))
			return []string{path.Dir(r.pdf)}
		},
	}
}

func itoaNumber(i int) string { return strconv.Itoa(i) }

// recordCases are the nine one-way tools.
func recordCases() []recordCase {
	fw := func(f func(c *env) records.Tool) func(e *env) records.Tool { return f }
	return []recordCase{
		frameworkCase("RFIs", procoretest.ToolRFIs, procoretest.SlotQuestion, itoaNumber,
			fw(func(e *env) records.Tool { return records.NewRFIs(e.client, e.recordProject(), nil) })),
		frameworkCase("Submittals", procoretest.ToolSubmittals, procoretest.SlotRecord, func(i int) string { return "05 12 00-" + strconv.Itoa(i) },
			fw(func(e *env) records.Tool { return records.NewSubmittals(e.client, e.recordProject(), nil) })),
		drawingsCase(),
		frameworkCase("Forms", procoretest.ToolForms, procoretest.SlotRecord, func(int) string { return "Daily Safety Form" },
			fw(func(e *env) records.Tool { return records.NewForms(e.client, e.recordProject(), nil) })),
		frameworkCase("Observations", procoretest.ToolObservations, procoretest.SlotRecord, itoaNumber,
			fw(func(e *env) records.Tool { return records.NewObservations(e.client, e.recordProject(), nil) })),
		frameworkCase("Inspections", procoretest.ToolInspections, procoretest.SlotRecord, itoaNumber,
			fw(func(e *env) records.Tool { return records.NewInspections(e.client, e.recordProject(), nil) })),
		frameworkCase("Incidents", procoretest.ToolIncidents, procoretest.SlotRecord, itoaNumber,
			fw(func(e *env) records.Tool { return records.NewIncidents(e.client, e.recordProject(), nil) })),
		frameworkCase("Commitments", procoretest.ToolWorkOrders, procoretest.SlotRecord, func(i int) string { return "WO-" + strconv.Itoa(i) },
			fw(func(e *env) records.Tool { return records.NewCommitments(e.client, e.recordProject(), nil) })),
		dailyLogCase(),
	}
}

// drawingsCase: each drawing's current revision, by area and discipline;
// an edit is a new revision; a drawing has no attachments; a drawing whose
// only revision is deleted leaves.
func drawingsCase() recordCase {
	return recordCase{
		tool: "Drawings",
		open: func(e *env) storage.Storage {
			s, err := records.New(e.client, records.NewDrawings(e.client, e.pc.ProjectID, nil), e.recordOptions())
			must(e.t, err)
			return s
		},
		seed: func(e *env) []seededRecord {
			area := e.pc.UIAddDrawingArea(e.pc.ProjectID, "Tower")
			var out []seededRecord
			for i, title := range []string{"Ground Floor Plan", "Roof Plan", "Sections"} {
				r := seededRecord{number: "A-10" + strconv.Itoa(i+1), title: title}
				var err error
				r.id, r.rev, err = e.pc.UIAddDrawing(e.pc.ProjectID, area, "Architectural", r.number, r.title, nil)
				must(e.t, err)
				r.pdf = "Tower/Architectural/" + r.number + " - " + r.title + ".pdf"
				out = append(out, r)
			}
			return out
		},
		edit: func(e *env, r *seededRecord) {
			rev, err := e.pc.UIAddDrawingRevision(r.id, strconv.FormatInt(e.clk.Now().Unix()%1000, 10), nil)
			must(e.t, err)
			r.rev = rev
		},
		remove: func(e *env, r seededRecord) []string {
			must(e.t, e.pc.UIDeleteDrawingRevision(r.rev))
			return []string{r.pdf}
		},
	}
}

// dailyLogDays is how many days the Daily Log case seeds, ending today.
const dailyLogDays = 3

// dailyLogCase: one folder per day; a record is a day's notes entry,
// whose PDF is "<day>/Notes.pdf"; removing it removes the day's weather
// entry too, whose Weather.pdf leaves.
func dailyLogCase() recordCase {
	return recordCase{
		tool: "Daily Log",
		open: func(e *env) storage.Storage { return e.dailyLog() },
		seed: func(e *env) []seededRecord {
			today := e.clk.Now().UTC().Format("2006-01-02")
			_, err := e.pc.SeedDailyLogs(e.pc.ProjectID, today, dailyLogDays)
			must(e.t, err)
			var out []seededRecord
			for d := range dailyLogDays {
				day := e.clk.Now().UTC().AddDate(0, 0, -d).Format("2006-01-02")
				ids := e.pc.UIDailyLogEntries(e.pc.ProjectID, day)
				if len(ids["notes_logs"]) == 0 {
					e.t.Fatalf("no notes on %s: %v", day, ids)
				}
				out = append(out, seededRecord{id: ids["notes_logs"][0], number: day, title: "Notes", pdf: day + "/Notes.pdf"})
			}
			return out
		},
		edit: func(e *env, r *seededRecord) {
			must(e.t, e.pc.UIEditDailyLogEntry(r.id, map[string]any{"comment": "Corrected at " + e.clk.Now().Format("15:04")}))
		},
		attach: func(e *env, r *seededRecord) string {
			_, err := e.pc.UIAddDailyLogAttachment(r.id, "late photo.jpg", []byte("late jpeg of "+r.number))
			must(e.t, err)
			return path.Dir(r.pdf) + "/late photo.jpg"
		},
		remove: func(e *env, r seededRecord) []string {
			day := path.Dir(r.pdf)
			ids := e.pc.UIDailyLogEntries(e.pc.ProjectID, day)
			for _, id := range ids["weather_logs"] {
				must(e.t, e.pc.UIDeleteDailyLogEntry(id))
			}
			return []string{day + "/Weather.pdf"}
		},
	}
}

// dailyLog is the project's Daily Log storage printing with the real
// renderer, from dailyLogDays days back.
func (e *env) dailyLog() *records.DailyLog {
	return records.NewDailyLog(e.client, e.pc.ProjectID, &records.DailyLogOptions{
		Project: projectName, Renderer: records.DefaultRenderer, RendererVersion: records.DefaultRendererVersion,
		Now: e.clk.Now, Start: e.clk.Now().UTC().AddDate(0, 0, -dailyLogDays-1).Format("2006-01-02"),
	})
}

// recordPair adds the one-way pair of tool c (Procore's side is the
// tool's storage) into "<root>/<project>/<Tool>" and returns its ID.
func (e *env) recordPair(c recordCase) string {
	e.t.Helper()
	must(e.t, e.svc.mkdir(e.tpath(c.tool, "")))
	p := syncengine.Pair{
		ID: "tower-3/" + strings.ToLower(strings.ReplaceAll(c.tool, " ", "-")), Name: "Tower 3 / " + c.tool,
		A: c.open(e), B: e.openTarget(e.tpath(c.tool, "")), AName: "Procore", BName: string(e.tg),
		Direction: syncengine.DirectionOneWayAB, Deletes: syncengine.DeletePropagate, NameMapping: true,
	}
	must(e.t, e.eng.AddPair(p))
	return p.ID
}

// mirrored wants the target's tool folder to hold exactly the files of
// the tool's storage src, byte for byte, but for the paths in except. It
// returns the files' paths.
func (e *env) mirrored(c recordCase, src storage.Storage, except ...string) []string {
	e.t.Helper()
	var want []string
	for en, err := range src.List(e.ctx) {
		must(e.t, err)
		if en.IsDir {
			continue
		}
		want = append(want, en.Path)
		if slices.Contains(except, en.Path) {
			continue
		}
		rc, err := src.Open(e.ctx, en)
		must(e.t, err)
		var b bytes.Buffer
		_, err = b.ReadFrom(rc)
		rc.Close()
		must(e.t, err)
		got, ok := e.svc.content(e.tpath(c.tool, en.Path))
		if !ok {
			e.t.Fatalf("%s: %s is not on the target", c.tool, en.Path)
		}
		if !bytes.Equal(got, b.Bytes()) {
			e.t.Fatalf("%s: %s differs on the target (%d bytes, Procore %d)", c.tool, en.Path, len(got), b.Len())
		}
	}
	var have []string
	for _, p := range e.targetPaths(e.tpath(c.tool, "")) {
		if !strings.HasSuffix(p, "/") {
			have = append(have, p)
		}
	}
	slices.Sort(want)
	equalPaths(e.t, c.tool+" files on the target", have, want)
	return want
}

// pdfText is the text of a PDF on the target: pdftotext's where it is
// installed, else the PDF's bytes (the fakes' and the renderer's text is
// then checked by its presence in a content stream only when
// uncompressed). ok is false when the bytes are no PDF.
func (e *env) pdfText(p string) (text string, extracted bool) {
	e.t.Helper()
	b, ok := e.svc.content(p)
	if !ok {
		e.t.Fatalf("%s is not on the target", p)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		e.t.Fatalf("%s is no PDF: %.40q", p, b)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		return string(b), false
	}
	cmd := exec.Command(bin, "-q", "-", "-")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("pdftotext %s: %v", p, err)
	}
	return string(out), true
}

// wantPDFText wants the PDF at p (below the tool folder) to show every
// string of want.
func (e *env) wantPDFText(c recordCase, p string, want ...string) {
	e.t.Helper()
	text, extracted := e.pdfText(e.tpath(c.tool, p))
	if !extracted {
		e.t.Logf("pdftotext not installed: %s checked as a PDF only", p)
		return
	}
	flat := strings.Join(strings.Fields(text), " ")
	for _, w := range want {
		if !strings.Contains(flat, w) {
			e.t.Fatalf("%s: the text of %s lacks %q:\n%s", c.tool, p, w, flat)
		}
	}
}

// idle runs the pair with nothing changed and wants nothing written.
func (e *env) idle(c recordCase, pair string) {
	e.t.Helper()
	e.tick()
	e.svc.resetCalls()
	e.pc.ResetCalls()
	r := e.runOK(pair)
	if n := e.targetOps(opUpload); n != 0 || r.Counts.FilesCopied != 0 || r.Counts.Deleted != 0 {
		e.t.Fatalf("%s: idle run wrote: %d uploads, counts %+v", c.tool, n, r.Counts)
	}
	e.t.Logf("%s idle run: %d Procore calls, %d target calls", c.tool, sum(e.pc.Calls()), sum(e.svc.calls()))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// driftPaths are the paths of the drift events recorded so far.
func (e *env) driftPaths() []string {
	var out []string
	for _, ev := range e.rec.OfKind(syncengine.EventDrift) {
		out = append(out, ev.Paths...)
	}
	return out
}

// testRecordTool proves one tool into one target: the initial export, an
// idle run, an edit in Procore, a new attachment, a person's edit on the
// target (drift, overwritten at the next Procore change), a deletion and
// an idle run again. With overwrite, it ends after the person's edit is
// overwritten by the next change of the record in Procore.
func testRecordTool(t *testing.T, tg target, c recordCase, overwrite bool) {
	// The engine's own clock, for the retry back-off (the fakes' clock
	// moving an hour would expire the targets' tokens).
	engineClock := manualclock.New(time.Now())
	e := newEnv(t, tg, envOptions{engine: syncengine.Options{Clock: engineClock}})
	recs := c.seed(e)
	pair := e.recordPair(c)
	src := c.open(e) // a second reader of the same tool, for the checks

	// Initial export: every record's PDF (number and title readable) and
	// every attachment.
	r := e.runOK(pair)
	if r.Counts.FilesCopied == 0 {
		t.Fatalf("initial export copied nothing: %+v", r.Counts)
	}
	files := e.mirrored(c, src)
	for _, rec := range recs {
		if !slices.Contains(files, rec.pdf) {
			t.Fatalf("%s: no %s among %q", c.tool, rec.pdf, files)
		}
		e.wantPDFText(c, rec.pdf, rec.number, rec.title)
	}
	if c.attach != nil && len(files) <= len(recs) {
		t.Fatalf("%s: no attachments exported: %q", c.tool, files)
	}
	e.idle(c, pair)

	// A record edited in Procore: its PDF is exported again.
	before, _ := e.svc.content(e.tpath(c.tool, recs[0].pdf))
	e.tick()
	c.edit(e, &recs[0])
	e.tick()
	e.runOK(pair)
	e.mirrored(c, src)
	after, _ := e.svc.content(e.tpath(c.tool, recs[0].pdf))
	if bytes.Equal(before, after) {
		t.Fatalf("%s: %s not exported again after an edit in Procore", c.tool, recs[0].pdf)
	}

	// A new attachment arrives, and the record's PDF follows.
	if c.attach != nil {
		e.tick()
		att := c.attach(e, &recs[0])
		e.tick()
		e.runOK(pair)
		files = e.mirrored(c, src)
		if !slices.Contains(files, att) {
			t.Fatalf("%s: new attachment %s not exported: %q", c.tool, att, files)
		}
	}

	// A person edits a record's PDF on the target: drift, reported and
	// left alone until Procore changes the record, then overwritten.
	edited := recs[1].pdf
	must(t, e.svc.upload(e.tpath(c.tool, edited), []byte("a person's edit")))
	e.tick()
	e.runOK(pair)
	if !slices.Contains(e.driftPaths(), edited) {
		t.Fatalf("%s: no drift reported for %s: %q", c.tool, edited, e.driftPaths())
	}
	if b, _ := e.svc.content(e.tpath(c.tool, edited)); string(b) != "a person's edit" {
		t.Fatalf("%s: %s overwritten before Procore changed", c.tool, edited)
	}
	if overwrite {
		// The next change of that record in Procore overwrites the edit, in
		// that run: the engine reads the target afresh before it writes
		// over the drifted file and makes the write conditional on what it
		// read.
		e.tick()
		c.edit(e, &recs[1])
		e.tick()
		if r := e.run(pair); r.Status != syncengine.RunSucceeded || r.Counts.FilesCopied == 0 {
			errs, err := e.eng.Errors(e.ctx, pair, syncengine.Page{Limit: 5})
			must(t, err)
			t.Fatalf("%s: overwrite run %s %+v, errors %+v", c.tool, r.Status, r.Counts, errs)
		}
		e.mirrored(c, src)
		return
	}
	except := []string{edited}

	// A record recycled or deleted in Procore leaves the target (to its
	// recycle bin) once the deletion check comes round.
	gone := c.remove(e, recs[2])
	e.clk.Advance(16 * time.Minute)
	e.svc.resetCalls()
	r = e.runOK(pair)
	if r.Counts.Deleted == 0 || e.targetOps(opRecycle) == 0 || e.targetOps(opPurge) != 0 {
		t.Fatalf("%s: deletion: counts %+v, %d recycled, %d purged", c.tool, r.Counts, e.targetOps(opRecycle), e.targetOps(opPurge))
	}
	for _, g := range gone {
		if _, ok := e.svc.id(e.tpath(c.tool, g)); ok {
			t.Fatalf("%s: %s still on the target", c.tool, g)
		}
	}
	e.mirrored(c, src, except...)
	e.idle(c, pair)
}

// recordTargets are the targets each tool runs on: all, or with -short
// SharePoint for every tool and a representative subset elsewhere.
func recordTargets(tool string) []target {
	if !testing.Short() {
		return targets
	}
	switch tool {
	case "RFIs", "Drawings", "Inspections", "Daily Log":
		return targets
	}
	return []target{sharePoint}
}

// TestRecordsOneWay: every record tool into every target.
func TestRecordsOneWay(t *testing.T) {
	for _, c := range recordCases() {
		t.Run(strings.ReplaceAll(c.tool, " ", ""), func(t *testing.T) {
			for _, tg := range recordTargets(c.tool) {
				t.Run(string(tg), func(t *testing.T) { testRecordTool(t, tg, c, false) })
			}
		})
	}
}

// TestRecordsDriftOverwritten: a person's edit of an exported PDF on the
// target is reported as drift, and the next change of that record in
// Procore overwrites it, for every tool into SharePoint.
func TestRecordsDriftOverwritten(t *testing.T) {
	for _, c := range recordCases() {
		t.Run(strings.ReplaceAll(c.tool, " ", ""), func(t *testing.T) { testRecordTool(t, sharePoint, c, true) })
	}
}

// TestDailyLogPhotosFromTarget: a photo a person drops into a day's
// Photos folder on the target becomes that day's Daily Log photo in
// Procore once: not again on the next import, nor after a restart (a new
// importer with an empty log, a new engine over the same store).
func TestDailyLogPhotosFromTarget(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		c := dailyLogCase()
		c.seed(e)
		pair := e.recordPair(c)
		e.runOK(pair)
		day := e.clk.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
		dropped := day + "/" + records.PhotosFolder + "/slab pour.jpg"
		jpeg := []byte("\xff\xd8\xff\xe0 slab pour jpeg")
		must(t, e.svc.upload(e.tpath(c.tool, dropped), jpeg))

		imported := func() int {
			n := 0
			for _, p := range e.pc.UIPhotoList(e.pc.ProjectID) {
				if p.Filename == "slab pour.jpg" {
					n++
				}
			}
			return n
		}
		importOnce := func(want int) {
			t.Helper()
			tgt := e.openTarget(e.tpath(c.tool, ""))
			root, err := tgt.Stat(e.ctx, "")
			must(t, err)
			res, err := records.NewDailyLogPhotoImporter(e.client, e.pc.ProjectID, &records.MemoryImportLog{}).Import(e.ctx, tgt, root)
			must(t, err)
			if len(res.Uploaded) != want {
				t.Fatalf("import uploaded %q, want %d", res.Uploaded, want)
			}
		}
		e.tick()
		importOnce(1)
		importOnce(0)
		if n := imported(); n != 1 {
			t.Fatalf("%d Daily Log photos slab pour.jpg in Procore, want 1", n)
		}

		// The pair now lists the photo on Procore's side too: both sides
		// agree, nothing is written.
		e.tick()
		e.runOK(pair)
		if b, _ := e.svc.content(e.tpath(c.tool, dropped)); !bytes.Equal(b, jpeg) {
			t.Fatalf("the dropped photo changed on the target: %q", b)
		}

		// A restart: a new engine over the same store, new storages, a new
		// importer with an empty log.
		eng, err := syncengine.New(syncengine.Options{Store: e.store, Notifier: e.rec})
		must(t, err)
		e.eng = eng
		pair = e.recordPair(c)
		importOnce(0)
		if n := imported(); n != 1 {
			t.Fatalf("%d Daily Log photos slab pour.jpg in Procore after a restart, want 1", n)
		}
		e.idle(c, pair)
	})
}

// TestRecordsDeleteLimit: records recycled in Procore leave the target
// under the pair's delete limit like files: over the limit, the deletions
// are held (the target keeps the records, the delete-limit event names
// them), and approval deletes them to the target's recycle bin.
func TestRecordsDeleteLimit(t *testing.T) {
	c := recordCases()[0] // RFIs
	e := newEnv(t, sharePoint, envOptions{})
	recs := c.seed(e)
	must(t, e.svc.mkdir(e.tpath(c.tool, "")))
	pair := syncengine.Pair{
		ID: "tower-3/rfis", Name: "Tower 3 / RFIs",
		A: c.open(e), B: e.openTarget(e.tpath(c.tool, "")), AName: "Procore", BName: string(e.tg),
		Direction: syncengine.DirectionOneWayAB, Deletes: syncengine.DeletePropagate, NameMapping: true,
		DeleteLimit: 1,
	}
	must(t, e.eng.AddPair(pair))
	e.runOK(pair.ID)
	src := c.open(e)
	e.mirrored(c, src)

	var gone []string
	for _, r := range recs[:2] {
		gone = append(gone, c.remove(e, r)...)
	}
	e.clk.Advance(16 * time.Minute) // the recycle-bin check comes round
	r := e.run(pair.ID)
	if r.Counts.Deleted != 0 || r.Counts.Held == 0 {
		t.Fatalf("over the delete limit: counts %+v", r.Counts)
	}
	for _, g := range gone {
		if _, ok := e.svc.content(e.tpath(c.tool, path.Join(g, path.Base(g)+".pdf"))); !ok {
			t.Fatalf("%s left the target although its deletion is over the limit", g)
		}
	}
	if evs := e.rec.OfKind(syncengine.EventDeleteLimitReached); len(evs) == 0 || evs[len(evs)-1].Count == 0 {
		t.Fatalf("no delete-limit event with a count: %+v", evs)
	}
	held, err := e.eng.Held(e.ctx, pair.ID)
	must(t, err)
	if len(held) == 0 {
		t.Fatal("nothing held")
	}
	var ids []int64
	for _, h := range held {
		ids = append(ids, h.ID)
	}
	must(t, e.eng.ApproveHeld(e.ctx, pair.ID, ids))
	e.tick()
	e.runOK(pair.ID)
	for _, g := range gone {
		if _, ok := e.svc.content(e.tpath(c.tool, path.Join(g, path.Base(g)+".pdf"))); ok {
			t.Fatalf("%s still on the target after approval", g)
		}
	}
	e.mirrored(c, src)
	if n := e.targetOps(opPurge); n != 0 {
		t.Fatalf("approval purged %d items instead of recycling them", n)
	}
}
