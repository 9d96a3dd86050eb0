// Command quickstart shows procoresync end to end with nothing to set up:
// it starts the fakes of Procore and of the target in-process (Microsoft
// Graph for SharePoint and OneDrive, Box, Dropbox: -target), fills a
// construction project (nested Documents with drawings and specs, empty
// folders, odd names, zero-byte files, a file large enough for an upload
// session, photo albums, company Documents), keeps its state in an SQLite
// file, and syncs project Documents, project Photos and company Documents
// two-way into a SharePoint library (or a OneDrive, a Box or a Dropbox
// account) under <root>/<project>/Documents|Photos and <root>/Company
// Documents, and exports the project's RFIs, submittals, drawings,
// observations and last days of Daily Log one way as PDFs (printed with
// recordpdf where Procore has none) plus attachments into
// <root>/<project>/<Tool> (-tools chooses them; the service exports every
// record tool by default), all through a procore/projects Manager. It
// shows the initial sync's progress, plays a person on each side (one
// drops a photo into today's Daily Log folder, which arrives in Procore's
// Daily Log), runs the regular sync and prints the dashboard.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -target box      # or onedrive, dropbox
//
// With real credentials (flags or environment variables: see -h and
// examples/README.md) the same program syncs the real Procore project into
// the real SharePoint site, OneDrive, Box or Dropbox account instead, and
// skips the play-acting.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

func main() {
	cfg := app.Config{Target: app.SharePoint}
	app.Flags(flag.CommandLine, &cfg)
	verbose := flag.Bool("v", false, "log every action")
	flag.Parse()
	if err := cfg.LoadSecrets(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(2)
	}
	storeSet, toolsSet, daysSet := false, false, false
	flag.Visit(func(f *flag.Flag) {
		storeSet = storeSet || f.Name == "store"
		toolsSet = toolsSet || f.Name == "tools"
		daysSet = daysSet || f.Name == "daily-log-days"
	})
	if !toolsSet && os.Getenv("PROCORESYNC_TOOLS") == "" {
		cfg.Tools = ""
	}
	if !daysSet {
		cfg.DailyLogDays = 0
	}
	if !storeSet && os.Getenv("PROCORESYNC_STORE") == "" {
		cfg.Store = "" // a temporary file
	}
	if err := run(context.Background(), os.Stdout, &cfg, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// QuickstartTools are the record tools the quickstart exports unless
// -tools says otherwise: the ones its project has, kept few so that the
// first run stays within Procore's spike limit (the service exports all).
const QuickstartTools = "rfis,submittals,drawings,observations,daily-log"

// seedMore, when set (by tests), adds files to the fakes after the demo's
// own; it returns their number and size.
var seedMore func(*app.Fakes) (files int, size int64, err error)

// run is the whole demo; out receives the report. cfg.Tools "" exports
// QuickstartTools, cfg.DailyLogDays 0 the last week of the Daily Log.
func run(ctx context.Context, out io.Writer, cfg *app.Config, verbose bool) error {
	if cfg.Tools == "" {
		cfg.Tools = QuickstartTools
	}
	if cfg.DailyLogDays == 0 {
		cfg.DailyLogDays = 7
	}
	if cfg.Store == "" {
		tmp, err := os.MkdirTemp("", "procoresync-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cfg.Store = filepath.Join(tmp, "procoresync.db")
	}
	var fakes *app.Fakes
	var total int
	var totalBytes int64
	if !cfg.Real() {
		fakes = app.StartFakes(cfg)
		defer fakes.Close()
		var err error
		if total, totalBytes, err = fakes.Seed(); err != nil {
			return err
		}
		if err := fakes.SeedRecords(); err != nil {
			return err
		}
		if seedMore != nil {
			n, b, err := seedMore(fakes)
			if err != nil {
				return err
			}
			total, totalBytes = total+n, totalBytes+b
		}
		fmt.Fprintf(out, "== In-process fakes: Procore at %s, %s at %s\n", cfg.ProcoreAPIURL, cfg.Target, fakes.TargetURL())
		fmt.Fprintf(out, "   project %q: %d files (%s) in Documents, Photos and company Documents\n", app.ProjectName, total, size(totalBytes))
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	prog := &progress{}
	s, err := app.New(ctx, cfg, app.Options{Logger: logger, Wrap: prog.wrap})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(out, "== Metadata store: %s\n", cfg.Store)

	fmt.Fprintf(out, "\n== Initial sync into %s, folder %s/\n", cfg.Target, cfg.Root)
	stop := prog.show(out, total, totalBytes)
	runs, err := runAll(ctx, s)
	stop()
	if err != nil {
		return err
	}
	printRuns(out, s, runs)
	for _, ev := range s.Events.OfKind(syncengine.EventInitialSyncCompleted) {
		fmt.Fprintf(out, "  notification: %s\n", ev.Message)
	}

	if fakes != nil {
		fmt.Fprintln(out, "\n== People at work")
		if err := playPeople(out, cfg, fakes, s); err != nil {
			return err
		}
		fmt.Fprintln(out, "\n== Regular sync")
		// The one way back into Procore: photos dropped into a day's
		// folder of the Daily Log (the service's Manager does it after
		// each run of the Daily Log pair).
		res, err := s.ImportDailyLogPhotos(ctx)
		if err != nil {
			return err
		}
		for _, p := range res.Uploaded {
			fmt.Fprintf(out, "  imported into Procore's Daily Log: %s\n", p)
		}
		if runs, err = runAll(ctx, s); err != nil {
			return err
		}
		printRuns(out, s, runs)
		if err := showResults(out, cfg, fakes, s); err != nil {
			return err
		}
		fmt.Fprintln(out, "\n== A second regular sync finds nothing to do")
		if runs, err = runAll(ctx, s); err != nil {
			return err
		}
		printRuns(out, s, runs)
	}
	return dashboard(ctx, out, s, fakes)
}

// runAll runs every pair once.
func runAll(ctx context.Context, s *app.Sync) ([]syncengine.Run, error) {
	var runs []syncengine.Run
	for _, id := range s.Pairs {
		r, err := s.Engine.RunOnce(ctx, id, syncengine.RunOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func printRuns(out io.Writer, s *app.Sync, runs []syncengine.Run) {
	for _, r := range runs {
		p, _ := s.Engine.Pair(r.PairID)
		c := r.Counts
		fmt.Fprintf(out, "  %-32s %s: %d files copied (%s), %d folders made, %d moved, %d deleted, %d linked, %d conflicts, %d held, %d failed\n",
			p.Name, r.Status, c.FilesCopied, size(c.BytesCopied), c.FoldersMade, c.Moved, c.Deleted, c.Linked, c.Conflicts, c.Held, c.Failed)
		if r.Error != "" {
			fmt.Fprintf(out, "    error: %s\n", r.Error)
		}
	}
}

const (
	specPath   = "02 Specifications/Division 03/03 30 00 Cast-in-Place Concrete.pdf"
	renamed    = "A-101 Level 1 Floor Plan (Rev 2).pdf"
	movedFrom  = "06 Reports/Geotechnical Report.pdf"
	movedInto  = "02 Specifications"
	deletedRFI = "03 RFIs/RFI Log (old).xlsx"
)

// droppedPhoto is the photo a person drops into today's Daily Log folder.
const droppedPhoto = "IMG_0500 Level 3 pour.jpg"

// today is the Daily Log's day of today (UTC, as the fake's project).
func today() string { return time.Now().UTC().Format("2006-01-02") }

// playPeople changes both sides as people would in the two web UIs.
func playPeople(out io.Writer, cfg *app.Config, f *app.Fakes, s *app.Sync) error {
	docsRoot := filepath.ToSlash(filepath.Join(cfg.Root, strings.ReplaceAll(app.ProjectName, "/", "-"), "Documents"))
	tg := string(cfg.Target)
	steps := []struct {
		who string
		do  func() error
	}{
		{tg + ": the site super saves rev B of the concrete spec", func() error {
			return f.WebUpload(docsRoot+"/"+specPath, []byte("%PDF-1.7\n% 03 30 00 rev B: 5000 psi at 28 days\n%%EOF\n"))
		}},
		{"Procore: the engineer renames A-101", func() error {
			return f.Procore.UIRename(f.Docs(), "01 Drawings/A - Architectural/A-101 Level 1 Floor Plan.pdf", renamed)
		}},
		{"Procore: the engineer moves the geotech report into Specifications", func() error {
			return f.Procore.UIMove(f.Docs(), movedFrom, movedInto)
		}},
		{"Procore: the superintendent adds a photo to the East album", func() error {
			_, err := f.Procore.UIAddPhoto(f.ProjectID, `Site #3: "East" <Level 2>`, "IMG_0420.jpg", []byte("jpeg IMG_0420"))
			return err
		}},
		{tg + ": someone deletes the obsolete RFI log", func() error {
			return f.WebDelete(docsRoot + "/" + deletedRFI)
		}},
	}
	if s.DailyLog != nil {
		steps = append(steps, struct {
			who string
			do  func() error
		}{tg + ": the foreman drops a photo into today's Daily Log folder", func() error {
			return f.WebUpload(path.Dir(docsRoot)+"/Daily Log/"+today()+"/Photos/"+droppedPhoto, []byte("jpeg of the level 3 pour"))
		}})
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			return fmt.Errorf("%s: %w", st.who, err)
		}
		fmt.Fprintln(out, "  "+st.who)
	}
	return nil
}

// showResults checks, on the fakes, that the people's changes arrived.
func showResults(out io.Writer, cfg *app.Config, f *app.Fakes, s *app.Sync) error {
	spec, _ := f.Procore.UIFile(f.Docs(), specPath)
	n, _ := f.Procore.UIVersions(f.Docs(), specPath)
	fmt.Fprintf(out, "  Procore has rev B of the spec: %v (version %d)\n", strings.Contains(string(spec), "rev B"), n)
	project := app.ProjectName
	tg := cfg.Target
	ok := f.WebExists(cfg.Root + "/" + project + "/Documents/01 Drawings/A - Architectural/" + renamed)
	fmt.Fprintf(out, "  %s has the renamed drawing: %v\n", tg, ok)
	ok = f.WebExists(cfg.Root + "/" + project + "/Documents/02 Specifications/Geotechnical Report.pdf")
	fmt.Fprintf(out, "  %s has the moved report: %v\n", tg, ok)
	ok = f.WebExists(cfg.Root + "/" + project + "/Photos/Site -3- -East- -Level 2-/IMG_0420.jpg")
	fmt.Fprintf(out, "  the new photo arrived in %s album %q: %v\n", tg, "Site -3- -East- -Level 2-", ok)
	_, err := f.Procore.UIFile(f.Docs(), deletedRFI)
	fmt.Fprintf(out, "  the RFI log is in Procore's recycle bin: %v\n", err != nil)
	tools, err := app.ParseTools(cfg.Tools)
	if err != nil {
		return err
	}
	if s.DailyLog != nil {
		n := 0
		for _, p := range f.Procore.UIPhotoList(f.ProjectID) {
			if p.Filename == droppedPhoto && !p.Deleted {
				n++
			}
		}
		fmt.Fprintf(out, "  the dropped photo is in Procore's Daily Log of %s: %v (%d image)\n", today(), n == 1, n)
	}
	for _, r := range []struct{ tool, what, path string }{
		{"rfis", "RFI 12 as a PDF", "RFIs/12 - Footing depth at grid C-4/12 - Footing depth at grid C-4.pdf"},
		{"rfis", "RFI 12's attachment", "RFIs/12 - Footing depth at grid C-4/C-4 footing sketch.pdf"},
		{"submittals", "submittal 03 30 00-1 as a PDF", "Submittals/03 30 00-1 - Concrete mix design 5000 psi/03 30 00-1 - Concrete mix design 5000 psi.pdf"},
		{"drawings", "drawing A-101 by area and discipline", "Drawings/Tower/Architectural/A-101 - Level 1 Floor Plan.pdf"},
		{"daily-log", "today's Daily Log notes", "Daily Log/" + today() + "/Notes.pdf"},
	} {
		if slices.Contains(tools, r.tool) {
			b, _ := f.WebFile(cfg.Root + "/" + project + "/" + r.path)
			fmt.Fprintf(out, "  %s has %s: %v\n", tg, r.what, bytes.HasPrefix(b, []byte("%PDF-")))
		}
	}
	return nil
}

// dashboard prints each pair's dashboard and the API calls spent.
func dashboard(ctx context.Context, out io.Writer, s *app.Sync, f *app.Fakes) error {
	fmt.Fprintln(out, "\n== Dashboard")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "pair\tfiles\tfolders\tsize\tcopied\tbytes copied\tdeleted\tconflicts\theld\tavg speed\truns\tlast run")
	for _, id := range s.Pairs {
		st, err := s.Engine.Stats(ctx, id)
		if err != nil {
			return err
		}
		hist, err := s.Engine.History(ctx, id, syncengine.Page{})
		if err != nil {
			return err
		}
		conflicts := 0
		for _, r := range hist {
			conflicts += r.Counts.Conflicts
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%s/s\t%d\t%s\n", st.Name, st.Files, st.Folders, size(st.BytesInSync),
			st.FilesCopied, size(st.BytesCopied), st.Deleted, conflicts, st.Held, size(int64(st.AverageBytesPerSecond)), st.Runs, st.LastRun.Status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if f != nil {
		// Only the API host's calls count against Procore's rate limit;
		// downloads go to the file host and on to the storage host.
		fmt.Fprintf(out, "API calls: Procore API host %d, Procore file host %d, storage host %d; %s %d\n",
			f.Procore.CallsByHost(procoretest.HostAPI), f.Procore.CallsByHost(procoretest.HostFile),
			f.Procore.CallsByHost(procoretest.HostStorage), f.Target, f.TargetCalls())
	}
	return nil
}

// progress counts what the initial sync wrote to the targets.
type progress struct {
	files atomic.Int64
	bytes atomic.Int64
}

// wrap counts the files written to target s.
func (p *progress) wrap(_ string, s storage.Storage) storage.Storage {
	return &counted{Storage: s, p: p}
}

// show draws a progress bar on out until the returned stop is called.
func (p *progress) show(out io.Writer, total int, totalBytes int64) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	draw := func() {
		f, b := p.files.Load(), p.bytes.Load()
		frac := 0.0
		if total > 0 {
			frac = min(1, float64(f)/float64(total))
		}
		const width = 30
		bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
		rate := float64(b) / max(time.Since(start).Seconds(), 0.001)
		fmt.Fprintf(out, "\r  [%s] %d/%d files  %s/%s  %s/s ", bar, f, total, size(b), size(totalBytes), size(int64(rate)))
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				draw()
				fmt.Fprintln(out)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

type counted struct {
	storage.Storage
	p *progress
}

func (c *counted) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, n int64, opt storage.PutOptions) (storage.Entry, error) {
	e, err := c.Storage.Put(ctx, parent, name, r, n, opt)
	if err == nil {
		c.p.files.Add(1)
		c.p.bytes.Add(n)
	}
	return e, err
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
