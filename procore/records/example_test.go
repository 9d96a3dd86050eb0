package records_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
)

// Example exports a project's RFIs and inspections from the in-process
// fake: each record is a folder with its PDF (Procore's own for an RFI,
// printed by the Renderer for an inspection) and its attachments. In
// production the Renderer is recordpdf.Render.
func Example() {
	srv := procoretest.New(procoretest.Options{})
	defer srv.Close()
	ctx := context.Background()

	// A person at work in Procore's web UI.
	rfi, _ := srv.UICreateRecord(srv.ProjectID, procoretest.ToolRFIs, "12", "Footing depth", "open")
	if _, err := srv.UIAddAttachment(srv.ProjectID, procoretest.ToolRFIs, rfi, procoretest.SlotAnswer, "detail.pdf", []byte("%PDF")); err != nil {
		log.Fatal(err)
	}
	if _, err := srv.UICreateRecord(srv.ProjectID, procoretest.ToolInspections, "3", "Scaffold", "open"); err != nil {
		log.Fatal(err)
	}

	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: srv.CompanyID,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()})})
	if err != nil {
		log.Fatal(err)
	}
	// A stand-in renderer; recordpdf.Render in production.
	render := func(d recordpdf.Document) ([]byte, error) {
		return []byte(strings.Join([]string{d.Tool, d.Number, d.Title}, " ")), nil
	}
	project := records.Project{ID: srv.ProjectID, Name: "Tower"}
	for _, tool := range []records.Tool{records.NewRFIs(c, project, nil), records.NewInspections(c, project, nil)} {
		s, err := records.New(c, tool, &records.Options{Renderer: render, RendererVersion: "example"})
		if err != nil {
			log.Fatal(err)
		}
		for e, err := range s.List(ctx) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(tool.Name()+"/"+e.Path, e.IsDir)
		}
	}
	// Output:
	// RFIs/12 - Footing depth true
	// RFIs/12 - Footing depth/12 - Footing depth.pdf false
	// RFIs/12 - Footing depth/detail.pdf false
	// Inspections/3 - Scaffold true
	// Inspections/3 - Scaffold/3 - Scaffold.pdf false
}
