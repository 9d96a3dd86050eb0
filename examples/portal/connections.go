package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/connect"
)

// connections is what the pages need of the connected accounts besides
// the service's Connections calls: the newest Procore connection and the
// newest target connection, and Procore's companies and projects for the
// add-project form, listed through them.
type connections struct {
	svc    *portal.Service
	wiring *wiring
	// target is the provider of the target storage (Microsoft for
	// SharePoint and OneDrive, Box, Dropbox).
	target connect.Provider
	// deleteLimit is the delete limit of projects added in the portal.
	deleteLimit int
}

// newest returns the newest connection of provider p.
func newest(cs []connect.Connection, p connect.Provider) (connect.Connection, bool) {
	var out connect.Connection
	for _, c := range cs {
		if c.Provider == p && !c.Created.Before(out.Created) {
			out = c
		}
	}
	return out, out.ID != ""
}

// pair returns the IDs of the connections a new project uses.
func (c *connections) pair(ctx context.Context) (procoreID, targetID string, err error) {
	cs, err := c.svc.Connections(ctx)
	if err != nil {
		return "", "", err
	}
	pc, ok := newest(cs, connect.Procore)
	if !ok {
		return "", "", &portal.InputError{Field: "connection", Reason: "connect Procore first (Connections)"}
	}
	tc, ok := newest(cs, c.target)
	if !ok {
		return "", "", &portal.InputError{Field: "target", Reason: "connect " + c.target.Title() + " first (Connections)"}
	}
	return pc.ID, tc.ID, nil
}

// choices lists the companies and projects the Procore connection sees,
// for the add-project form; connected reports whether both accounts are
// connected, err why Procore could not be listed.
func (c *connections) choices(ctx context.Context) (connected bool, companies, projects []choice, err error) {
	pid, _, err := c.pair(ctx)
	if err != nil {
		return false, nil, nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cos, err := c.wiring.companies(ctx, pid)
	if err != nil {
		return true, nil, nil, fmt.Errorf("listing the Procore companies: %w", err)
	}
	for _, co := range cos {
		companies = append(companies, choice{ID: co.ID, Name: co.Name})
		ccl, err := c.wiring.procoreClient(ctx, pid, co.ID)
		if err != nil {
			return true, companies, projects, err
		}
		ps, _, err := ccl.Projects.List(ctx, co.ID, nil)
		if err != nil {
			return true, companies, projects, fmt.Errorf("listing the projects of company %d: %w", co.ID, err)
		}
		for _, p := range ps {
			projects = append(projects, choice{ID: p.ID, Name: p.Name})
		}
	}
	return true, companies, projects, nil
}

// projectName reads a project's name from Procore.
func (c *connections) projectName(ctx context.Context, company, project int64) string {
	pid, _, err := c.pair(ctx)
	if err != nil {
		return ""
	}
	cl, err := c.wiring.procoreClient(ctx, pid, company)
	if err != nil {
		return ""
	}
	p, _, err := cl.Projects.Get(ctx, company, project)
	if err != nil {
		return ""
	}
	return p.Name
}

// connectionCard is one service on the connections page.
type connectionCard struct {
	Key, Name, Button string
	Environments      []string
	Connected         bool
	Account           string
	Since             time.Time
	Check             *connect.TestResult
}

func (s *site) connectionsPage(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	cs, err := s.svc.Connections(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	var cards []connectionCard
	for _, p := range []connect.Provider{connect.Procore, s.conns.target} {
		card := connectionCard{Key: string(p), Name: p.Title(), Button: "Sign in with " + p.Title()}
		if ds := connect.Domains(p); len(ds) > 1 {
			card.Environments = ds
		}
		if conn, ok := newest(cs, p); ok {
			card.Connected, card.Account, card.Since, card.Check = true, conn.Name, conn.Created, conn.LastTest
			card.Key = string(p)
		}
		cards = append(cards, card)
	}
	slices.SortStableFunc(cards, func(a, b connectionCard) int {
		return cmp.Compare(providerOrder(a.Key), providerOrder(b.Key))
	})
	render(w, s.log, s.pages, http.StatusOK, "connections", s.newPage(r, c, "Connections", "connections",
		map[string]any{"Services": cards}))
}

func providerOrder(p string) int { return slices.Index(connect.Providers, connect.Provider(p)) }

// startConnection sends the browser to the provider's sign-in page
// (authorization code flow with state and PKCE, bound to this session).
func (s *site) startConnection(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	p := connect.Provider(r.PathValue("provider"))
	u, err := s.svc.StartConnection(r.Context(), connect.StartRequest{Provider: p, Domain: r.PostForm.Get("env"),
		ReturnTo: "/connections"})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// finishConnection is the OAuth redirect URL: it completes the sign-in
// (the state must be one this session started) and stores the tokens,
// encrypted.
func (s *site) finishConnection(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	q := r.URL.Query()
	conn, returnTo, err := s.svc.FinishConnection(r.Context(), connect.Callback{State: q.Get("state"), Code: q.Get("code"),
		Error: q.Get("error"), ErrorDescription: q.Get("error_description")})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if returnTo == "" {
		returnTo = "/connections"
	}
	back(w, r, returnTo, fmt.Sprintf("%s connected: %s.", conn.Provider.Title(), conn.Name))
}

func (s *site) testConnection(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	cs, err := s.svc.Connections(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	conn, ok := newest(cs, connect.Provider(r.PathValue("id")))
	if !ok {
		s.fail(w, r, c, portal.ErrNotFound)
		return
	}
	res, err := s.svc.TestConnection(r.Context(), conn.ID)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	msg := "Connection test succeeded"
	if res.Account != "" {
		msg += ": signed in as " + res.Account
	}
	if !res.OK {
		msg = "Connection test failed (" + res.Step + "): " + res.Message
	}
	back(w, r, "/connections", msg)
}
