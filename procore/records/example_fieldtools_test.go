package records_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage/memory"
)

// exampleClient starts a fake Procore and returns a client for it.
func exampleClient(now func() time.Time) (*procoretest.Server, *procore.Client) {
	srv := procoretest.New(procoretest.Options{Now: now})
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: srv.CompanyID,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()}), Now: now})
	if err != nil {
		log.Fatal(err)
	}
	return srv, c
}

// ExampleNewDrawings lists a project's Drawings as the files a one-way
// pair copies: each drawing's current revision, by area and discipline
// (and, kept here, the superseded revisions).
func ExampleNewDrawings() {
	srv, c := exampleClient(nil)
	defer srv.Close()
	tower := srv.UIAddDrawingArea(srv.ProjectID, "Tower")
	d, _, _ := srv.UIAddDrawing(srv.ProjectID, tower, "Architectural", "A-101", "Ground Floor Plan", nil)
	_, _ = srv.UIAddDrawingRevision(d, "1", nil)
	_, _, _ = srv.UIAddDrawing(srv.ProjectID, tower, "Structural", "S-201", "Framing Plan", nil)

	drawings, err := records.New(c, records.NewDrawings(c, srv.ProjectID, &records.DrawingsOptions{KeepSuperseded: true}), nil)
	if err != nil {
		log.Fatal(err)
	}
	for e, err := range drawings.List(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		if !e.IsDir {
			fmt.Println(e.Path)
		}
	}
	// Unordered output:
	// Tower/Architectural/A-101 - Ground Floor Plan.pdf
	// Tower/Architectural/A-101 - Ground Floor Plan (Rev 0).pdf
	// Tower/Structural/S-201 - Framing Plan.pdf
}

// ExampleNewDailyLog lists a project's Daily Log: a folder per day with a
// PDF per log type and the entries' attachments. The application passes
// recordpdf.Render as Render; this example prints the Document as JSON.
func ExampleNewDailyLog() {
	today := func() time.Time { return time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC) }
	srv, c := exampleClient(today)
	defer srv.Close()
	n, _ := srv.UIAddDailyLogEntry(srv.ProjectID, "notes_logs", "2026-12-04", map[string]any{"comment": "Slab poured on level 3"})
	_, _ = srv.UIAddDailyLogAttachment(n, "pour.jpg", []byte("jpeg"))
	_, _ = srv.UIAddDailyLogEntry(srv.ProjectID, "weather_logs", "2026-12-04", nil)

	render := func(doc recordpdf.Document) ([]byte, error) { return json.Marshal(doc) }
	dl := records.NewDailyLog(c, srv.ProjectID, &records.DailyLogOptions{Project: "Main Street Tower", Renderer: render,
		Now: today, Start: "2026-12-01"})
	for e, err := range dl.List(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Path)
	}
	// Output:
	// 2026-12-04
	// 2026-12-04/Weather.pdf
	// 2026-12-04/Notes.pdf
	// 2026-12-04/pour.jpg
}

// ExampleDailyLogPhotoImporter_Import turns a photo a person dropped into
// a day's Photos folder on the target into a Daily Log photo of that day
// in Procore, once.
func ExampleDailyLogPhotoImporter_Import() {
	srv, c := exampleClient(nil)
	defer srv.Close()
	target := memory.New()
	_, _ = target.WriteFile("Daily Log/2026-12-04/Photos/slab.jpg", []byte("jpeg"))
	dir, err := target.Stat(context.Background(), "Daily Log")
	if err != nil {
		log.Fatal(err)
	}

	im := records.NewDailyLogPhotoImporter(c, srv.ProjectID, &records.MemoryImportLog{})
	for range 2 {
		res, err := im.Import(context.Background(), target, dir)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("uploaded %d photo(s)%s\n", len(res.Uploaded), strings.Join(append([]string{""}, res.Uploaded...), " "))
	}
	fmt.Println(srv.UIPhotos(srv.ProjectID))
	// Output:
	// uploaded 1 photo(s) Daily Log/2026-12-04/Photos/slab.jpg
	// uploaded 0 photo(s)
	// [slab.jpg]
}
