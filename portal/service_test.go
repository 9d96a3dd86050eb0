package portal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/connect"
)

// TestServiceRoles checks the service layer itself (what a server-rendered
// portal calls without the HTTP API): viewers cannot approve, configure or
// export, only owners manage accounts, and nothing works without a caller.
func TestServiceRoles(t *testing.T) {
	e := newEnv(t, nil)
	s, pair, proj := e.svc, e.pairID, e.project.ID
	calls := map[string]struct {
		min  portal.Role
		call func(ctx context.Context) error
	}{
		"Dashboard": {portal.RoleViewer, func(ctx context.Context) error { _, err := s.Dashboard(ctx, portal.DateRange{}); return err }},
		"Projects":  {portal.RoleViewer, func(ctx context.Context) error { _, err := s.Projects(ctx); return err }},
		"Runs":      {portal.RoleViewer, func(ctx context.Context) error { _, err := s.Runs(ctx, pair, portal.Page{}); return err }},
		"Folder":    {portal.RoleViewer, func(ctx context.Context) error { _, err := s.Folder(ctx, pair, ""); return err }},
		"Held":      {portal.RoleViewer, func(ctx context.Context) error { _, err := s.Held(ctx, pair); return err }},
		"AuditLog":  {portal.RoleViewer, func(ctx context.Context) error { _, err := s.AuditLog(ctx, portal.AuditQuery{}); return err }},
		"Approve":   {portal.RoleAdmin, func(ctx context.Context) error { return s.Approve(ctx, pair, e.heldIDs) }},
		"Reject":    {portal.RoleAdmin, func(ctx context.Context) error { return s.Reject(ctx, pair, e.heldIDs) }},
		"Release":   {portal.RoleAdmin, func(ctx context.Context) error { return s.Release(ctx, pair, "B", "Specs/new.txt") }},
		"Pause":     {portal.RoleAdmin, func(ctx context.Context) error { return s.Pause(ctx, pair, "") }},
		"Resume":    {portal.RoleAdmin, func(ctx context.Context) error { return s.Resume(ctx, pair) }},
		"SyncLevel": {portal.RoleAdmin, func(ctx context.Context) error { _, err := s.SyncLevel(ctx, pair, ""); return err }},
		"DryRun":    {portal.RoleAdmin, func(ctx context.Context) error { _, err := s.DryRun(ctx, pair); return err }},
		"Export": {portal.RoleAdmin, func(ctx context.Context) error {
			_, err := s.Export(ctx, portal.ExportRequest{Kind: "history"})
			return err
		}},
		"AddProject":    {portal.RoleAdmin, func(ctx context.Context) error { _, err := s.AddProject(ctx, e.project); return err }},
		"UpdateProject": {portal.RoleAdmin, func(ctx context.Context) error { _, err := s.UpdateProject(ctx, e.project); return err }},
		"RemoveProject": {portal.RoleAdmin, func(ctx context.Context) error { return s.RemoveProject(ctx, proj, false) }},
		"SetRecipients": {portal.RoleAdmin, func(ctx context.Context) error { _, err := s.SetRecipients(ctx, proj, nil); return err }},
		"StartConnection": {portal.RoleAdmin, func(ctx context.Context) error {
			_, err := s.StartConnection(ctx, connect.StartRequest{Provider: connect.Procore})
			return err
		}},
		"RemoveConnection": {portal.RoleAdmin, func(ctx context.Context) error { return s.RemoveConnection(ctx, "x") }},
		"Accounts":         {portal.RoleOwner, func(ctx context.Context) error { _, err := s.Accounts(ctx); return err }},
		"CreateAccount": {portal.RoleOwner, func(ctx context.Context) error {
			_, err := s.CreateAccount(ctx, portal.NewAccount{Email: "x@example.com", Role: portal.RoleViewer, Password: password})
			return err
		}},
		"DeleteAccount": {portal.RoleOwner, func(ctx context.Context) error { return s.DeleteAccount(ctx, "gone@example.com") }},
	}
	if _, err := e.auth.CreateAccount(context.Background(), "gone@example.com", "", portal.RoleViewer, password); err != nil {
		t.Fatal(err)
	}
	before, _ := e.eng.Held(context.Background(), pair)
	for name, c := range calls {
		if err := c.call(context.Background()); !errors.Is(err, portal.ErrUnauthenticated) {
			t.Errorf("%s without a caller: %v", name, err)
		}
		for _, r := range []portal.Role{portal.RoleViewer, portal.RoleAdmin, portal.RoleOwner} {
			err := c.call(e.caller(r))
			if r.AtLeast(c.min) != !errors.Is(err, portal.ErrForbidden) {
				t.Errorf("%s as %s: %v (least role %s)", name, r, err, c.min)
			}
			if !r.AtLeast(c.min) {
				continue
			}
			break // the first allowed role is enough: calls change state
		}
	}
	if after, _ := e.eng.Held(context.Background(), pair); len(after) > len(before) {
		t.Fatalf("held deletions grew: %v -> %v", before, after)
	}
}
