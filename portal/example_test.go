package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/auth"
	"github.com/procoresync/procoresync/portal/xlsx"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// Example serves the portal's API over an engine: an owner signs in, reads
// the dashboard and pauses a pair with the session's CSRF token.
func Example() {
	dir, _ := os.MkdirTemp("", "portal-example")
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(filepath.Join(dir, "sync.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	a, b := memory.New(), memory.New()
	_, _ = a.WriteFile("Drawings/A-101.pdf", []byte("%PDF"))
	if err := eng.AddPair(syncengine.Pair{ID: "tower-3/documents", Name: "Tower 3 / Documents", A: a, B: b,
		AName: "Procore", BName: "SharePoint"}); err != nil {
		log.Fatal(err)
	}
	if _, err := eng.RunOnce(context.Background(), "tower-3/documents", syncengine.RunOptions{}); err != nil {
		log.Fatal(err)
	}

	// Accounts and sessions; the first owner's password comes from the
	// operator (an environment variable, a one-time password printed once).
	authn, err := auth.New(auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := authn.Bootstrap(context.Background(), "owner@example.com", "a long owner password"); err != nil {
		log.Fatal(err)
	}
	svc, err := portal.New(portal.Options{Engine: eng, Store: store, Auth: authn, XLSX: xlsx.Writer{}, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	api, err := portal.NewHandler(svc, portal.HandlerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(api) // in production: an http.Server with TLS, its own mux for webhooks
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(srv.URL+"/api/v1/session", "application/json",
		strings.NewReader(`{"email":"owner@example.com","password":"a long owner password"}`))
	if err != nil {
		log.Fatal(err)
	}
	var me portal.Me
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()

	resp, _ = client.Get(srv.URL + "/api/v1/dashboard")
	var d portal.Dashboard
	_ = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	fmt.Println(d.Projects[0].Name, "files in sync:", d.Totals.Files)

	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/pairs/tower-3%2Fdocuments/pause", nil)
	req.Header.Set(portal.CSRFHeader, me.CSRFToken)
	resp, _ = client.Do(req)
	resp.Body.Close()
	fmt.Println("pause:", resp.StatusCode)
	// Output:
	// Tower 3 / Documents files in sync: 1
	// pause: 204
}
