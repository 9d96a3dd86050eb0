// Command quickstart shows procoresync end to end on embedded defaults: no
// server and no credentials. It builds a construction project's document
// tree in an in-memory "Procore" storage, an empty in-memory "SharePoint"
// document library with SharePoint's naming rules, and an SQLite metadata
// store in a temporary folder; then it runs the initial sync, plays a
// person on each side (an edit in SharePoint, a rename and a move in
// Procore, a new photo, a deletion), runs the regular sync and prints the
// dashboard.
//
//	go run ./examples/quickstart
//
// Flags: -dir keeps the SQLite store in a folder of your choice (run it
// twice to see the second run find nothing to do); -v logs every action.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

func main() {
	dir := flag.String("dir", "", "folder for the SQLite metadata store (default: a temporary folder, removed at exit)")
	verbose := flag.Bool("v", false, "log every action")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// sharePointNames are SharePoint Online's naming rules, as the SharePoint
// connector declares them.
var sharePointNames = storage.NameRules{
	InvalidChars:       `"*:<>?/\|`,
	NoControlChars:     true,
	ReservedNames:      []string{".lock", "desktop.ini", "_vti_"},
	ReservedStems:      []string{"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"},
	ReservedPrefixes:   []string{"~$"},
	ReservedSubstrings: []string{"_vti_"},
	NoLeadingSpace:     true,
	NoTrailingSpace:    true,
	NoTrailingPeriod:   true,
	MaxNameLength:      255,
	MaxPathLength:      400,
	CaseInsensitive:    true,
	Normalization:      storage.NormNFC,
}

func run(ctx context.Context, out io.Writer, dir string, verbose bool) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "procoresync-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	store, err := sqlitestore.Open(filepath.Join(dir, "procoresync.db"))
	if err != nil {
		return err
	}
	defer store.Close()

	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	events := &syncengine.Recorder{}
	eng, err := syncengine.New(syncengine.Options{
		Store:    store,
		Logger:   logger,
		Notifier: syncengine.Fanout(events, syncengine.NewSlogNotifier(logger)),
	})
	if err != nil {
		return err
	}

	procore := memory.New(memory.WithNameRules(storage.NameRules{}))
	sharepoint := memory.New(memory.WithNameRules(sharePointNames), memory.CaseInsensitive())
	procore.SetUser("Pat Procore (Project Engineer)")
	sharepoint.SetUser("Sam SharePoint (Site Super)")
	if err := fillProject(procore); err != nil {
		return err
	}
	pair := syncengine.Pair{
		ID: "tower-3/documents", Name: "Tower 3 / Documents",
		A: procore, B: sharepoint, AName: "Procore", BName: "SharePoint",
		NameMapping: true, DeleteLimit: 25,
	}
	if err := eng.AddPair(pair); err != nil {
		return err
	}

	fmt.Fprintln(out, "== Dry run of the initial sync (first 8 actions)")
	plan, err := eng.DryRun(ctx, pair.ID)
	if err != nil {
		return err
	}
	for i, a := range plan.Actions {
		if i == 8 {
			fmt.Fprintf(out, "  … and %d more\n", len(plan.Actions)-8)
			break
		}
		fmt.Fprintln(out, " ", a)
	}

	fmt.Fprintln(out, "\n== Initial sync")
	r, err := eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{})
	if err != nil {
		return err
	}
	printRun(out, r)
	for _, ev := range events.OfKind(syncengine.EventInitialSyncCompleted) {
		fmt.Fprintf(out, "  notification: %s\n", ev.Message)
	}

	fmt.Fprintln(out, "\n== People at work")
	steps := []struct {
		who string
		do  func() error
	}{
		{"SharePoint: the site super edits the concrete spec", func() error {
			_, err := sharepoint.WriteFile("Specifications/03 30 00 Cast-in-Place Concrete.pdf", pdf("03 30 00 rev B: 5000 psi at 28 days"))
			return err
		}},
		{"Procore: the engineer renames a drawing", func() error {
			_, err := procore.Rename("Drawings/Architectural/A-101 Floor Plan.pdf", "Drawings/Architectural/A-101 Level 1 Floor Plan.pdf")
			return err
		}},
		{"Procore: the engineer moves the geotech report into Reports", func() error {
			_, err := procore.Rename("Geotechnical Report.pdf", "Reports/Geotechnical Report.pdf")
			return err
		}},
		{"Procore: a new site photo", func() error {
			_, err := procore.WriteFile("Photos/Site #3: East/IMG_0420.jpg", jpeg(420))
			return err
		}},
		{"SharePoint: someone deletes an obsolete RFI log", func() error {
			return sharepoint.Remove("RFIs/RFI Log (old).xlsx")
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.who, err)
		}
		fmt.Fprintln(out, "  "+s.who)
	}

	fmt.Fprintln(out, "\n== Regular sync")
	if r, err = eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{}); err != nil {
		return err
	}
	printRun(out, r)
	acts, err := eng.Activity(ctx, pair.ID, syncengine.Page{Limit: 8})
	if err != nil {
		return err
	}
	for _, a := range acts {
		if a.RunID == r.ID {
			fmt.Fprintf(out, "  %-7s on %-10s %s\n", a.Kind, sideName(pair, a.Side), a.Path)
		}
	}
	if spec, err := procore.ReadFile("Specifications/03 30 00 Cast-in-Place Concrete.pdf"); err == nil {
		fmt.Fprintf(out, "  Procore now has the edited spec: %v\n", bytes.Contains(spec, []byte("rev B")))
	}
	for e, err := range sharepoint.List(ctx) {
		if err != nil {
			return err
		}
		if e.Name() == "IMG_0420.jpg" {
			fmt.Fprintf(out, "  the photo album %q arrived in SharePoint as %q (\":\" is invalid there)\n", "Site #3: East", e.Dir())
		}
	}
	fmt.Fprintln(out, "\n== A second regular sync finds nothing to do")
	if r, err = eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{}); err != nil {
		return err
	}
	printRun(out, r)

	st, err := eng.Stats(ctx, pair.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== Dashboard")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "pair\tfiles\tfolders\tin sync\tcopied\tbytes copied\tdeleted\tbytes deleted\tavg speed\truns\tlast run")
	fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%d\t%s\t%s/s\t%d\t%s\n", st.Name, st.Files, st.Folders,
		size(st.BytesInSync), st.FilesCopied, size(st.BytesCopied), st.Deleted, size(st.BytesDeleted),
		size(int64(st.AverageBytesPerSecond)), st.Runs, st.LastRun.Status)
	if err := tw.Flush(); err != nil {
		return err
	}
	calls := func(s *memory.Storage) int {
		total := 0
		for _, n := range s.Calls() {
			total += n
		}
		return total
	}
	fmt.Fprintf(out, "Storage calls: Procore %d, SharePoint %d\n", calls(procore), calls(sharepoint))
	return nil
}

func printRun(out io.Writer, r syncengine.Run) {
	c := r.Counts
	fmt.Fprintf(out, "  run %d %s in %s: %d files copied (%s), %d folders made, %d moved, %d deleted, %d linked, %d conflicts, %d held, %d failed\n",
		r.ID, r.Status, r.Ended.Sub(r.Started).Round(time.Millisecond), c.FilesCopied, size(c.BytesCopied),
		c.FoldersMade, c.Moved, c.Deleted, c.Linked, c.Conflicts, c.Held, c.Failed)
	if r.Error != "" {
		fmt.Fprintf(out, "  error: %s\n", r.Error)
	}
}

func sideName(p syncengine.Pair, s syncengine.Side) string {
	if s == syncengine.SideA {
		return p.AName
	}
	return p.BName
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// fillProject builds a realistic project Documents tree in s.
func fillProject(s *memory.Storage) error {
	files := map[string][]byte{
		"Drawings/Architectural/A-101 Floor Plan.pdf":        pdf("A-101"),
		"Drawings/Architectural/A-201 Elevations.pdf":        pdf("A-201"),
		"Drawings/Structural/S-001 General Notes.pdf":        pdf("S-001"),
		"Drawings/Structural/S-101 Foundation Plan.pdf":      pdf("S-101"),
		"Drawings/MEP/M-101 HVAC Level 1.pdf":                pdf("M-101"),
		"Specifications/03 30 00 Cast-in-Place Concrete.pdf": pdf("03 30 00 rev A"),
		"Specifications/05 12 00 Structural Steel.pdf":       pdf("05 12 00"),
		"Specifications/Division 01 - General.docx":          pdf("Div 01"),
		"RFIs/RFI Log (old).xlsx":                            pdf("RFI log"),
		"RFIs/RFI #012: Footing depth?.pdf":                  pdf("RFI 12"),
		"Contracts/Subcontract - Steel <Draft> .pdf":         pdf("draft"),
		"Geotechnical Report.pdf":                            bytes.Repeat([]byte("boring log "), 300_000),
		"Meeting Minutes/OAC 2026-11-05.docx":                pdf("OAC"),
		"Meeting Minutes/Empty Placeholder.txt":              {},
		"Photos/Site #3: East/IMG_0001.jpg":                  jpeg(1),
		"Photos/Site #3: East/IMG_0002.jpg":                  jpeg(2),
		"Photos/Level 2 Deck/IMG_0100.jpg":                   jpeg(100),
	}
	for p, data := range files {
		if _, err := s.WriteFile(p, data); err != nil {
			return err
		}
	}
	for _, d := range []string{"Submittals/Pending", "Closeout", "Reports"} {
		if _, err := s.Mkdirs(d); err != nil {
			return err
		}
	}
	return nil
}

func pdf(text string) []byte {
	return []byte("%PDF-1.7\n% " + text + "\n%%EOF\n")
}

func jpeg(n int) []byte {
	b := bytes.Repeat([]byte{0xFF, 0xD8, 0xFF, 0xE0, byte(n)}, 20_000+n)
	return b
}
