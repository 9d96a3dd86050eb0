package projects_test

import (
	"context"
	"fmt"
	"log"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

// ExampleCheckProcore checks a Procore app before a project is added: its
// client credentials, the company, the project and the tools. Here the
// secret is wrong, and the report says so without printing it.
func ExampleCheckProcore() {
	srv := procoretest.New(procoretest.Options{})
	defer srv.Close()
	app := procore.Config{ClientID: srv.ClientID, ClientSecret: "an-old-secret",
		Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}
	ts := app.ClientCredentials(context.Background())
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID, TokenSource: ts})
	if err != nil {
		log.Fatal(err)
	}
	rep := projects.CheckProcore(context.Background(), projects.CheckProcoreOptions{Client: c, TokenSource: ts,
		ProjectID: srv.ProjectID, Tools: []projects.Tool{projects.Documents, projects.RFIs}})
	fmt.Println(rep.OK())
	fmt.Println(rep.Failed().Message)
	// Output:
	// false
	// Procore rejected the client credentials (401 invalid_client)
}

// ExampleCheckTarget checks that a target folder exists and is writable:
// a probe file is created there and deleted again.
func ExampleCheckTarget() {
	library := memory.New()
	library.Mkdirs("Procore")
	target := projects.TargetFunc{Label: "SharePoint", Func: func(context.Context, string) (storage.Storage, error) {
		return library, nil
	}}
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: target, Folder: "Procore"})
	fmt.Print(rep)
	// Output:
	// SharePoint: ok      credentials SharePoint accepts the credentials and its root can be read
	// SharePoint: ok      folder      folder Procore/ exists in SharePoint
	// SharePoint: ok      writable    folder Procore/ is writable: a probe file was created and deleted
}
