package portal

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/procoresync/procoresync/syncengine"
)

// SyncLevel syncs one folder level of a pair now: the items directly in
// folder (a path on side A; "" is the root), not its subfolders' content
// (engine SyncFolderLevel). It returns the run. Admin.
func (s *Service) SyncLevel(ctx context.Context, pairID, folder string) (RunInfo, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return RunInfo{}, err
	}
	if folder, err = cleanPath(folder); err != nil {
		return RunInfo{}, err
	}
	if _, err := s.pair(pairID); err != nil {
		return RunInfo{}, err
	}
	run, err := s.eng.SyncFolderLevel(actor(ctx, c), pairID, folder)
	if err != nil && run.ID == 0 {
		return RunInfo{}, engineErr(err)
	}
	if aerr := s.audit(ctx, c, "folder_synced", pairID, "", map[string]string{"folder": folder,
		"run": strconv.FormatInt(run.ID, 10), "status": string(run.Status)}); aerr != nil {
		return runInfo(run), aerr
	}
	return runInfo(run), nil
}

// Held returns a pair's deletions waiting for approval, oldest first.
// Viewer.
func (s *Service) Held(ctx context.Context, pairID string) ([]HeldItem, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	p, err := s.pair(pairID)
	if err != nil {
		return nil, err
	}
	hs, err := s.eng.Held(ctx, pairID)
	if err != nil {
		return nil, engineErr(err)
	}
	out := make([]HeldItem, len(hs))
	for i, h := range hs {
		out[i] = HeldItem{ID: h.ID, PairID: h.PairID, Side: sideName(p, h.DeletedOn.Other()),
			DeletedOn: sideName(p, h.DeletedOn), Path: h.Path, IsDir: h.IsDir, Size: h.Size, Held: h.Held.UTC()}
	}
	return out, nil
}

func checkIDs(ids []int64) error {
	if len(ids) == 0 {
		return invalid("ids", "no held deletion given")
	}
	if len(ids) > MaxLimit {
		return invalid("ids", fmt.Sprintf("at most %d at once", MaxLimit))
	}
	return nil
}

// heldKnown returns ErrNotFound unless every id is a held deletion of the
// pair.
func (s *Service) heldKnown(ctx context.Context, pairID string, ids []int64) ([]syncengine.HeldDelete, error) {
	hs, err := s.eng.Held(ctx, pairID)
	if err != nil {
		return nil, engineErr(err)
	}
	byID := map[int64]syncengine.HeldDelete{}
	for _, h := range hs {
		byID[h.ID] = h
	}
	var out []syncengine.HeldDelete
	for _, id := range ids {
		h, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("portal: held deletion %d of pair %q: %w", id, pairID, ErrNotFound)
		}
		out = append(out, h)
	}
	return out, nil
}

func heldPaths(hs []syncengine.HeldDelete) string {
	ps := make([]string, 0, len(hs))
	for _, h := range hs {
		ps = append(ps, h.Path)
	}
	s := strings.Join(ps, "\n")
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

func idList(ids []int64) string {
	ss := make([]string, len(ids))
	for i, id := range ids {
		ss[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(ss, ",")
}

// Approve applies held deletions (engine ApproveHeld). Admin.
func (s *Service) Approve(ctx context.Context, pairID string, ids []int64) error {
	return s.decideHeld(ctx, pairID, ids, true)
}

// Reject rejects held deletions: the items are restored where they were
// deleted (engine RejectHeld). Admin.
func (s *Service) Reject(ctx context.Context, pairID string, ids []int64) error {
	return s.decideHeld(ctx, pairID, ids, false)
}

func (s *Service) decideHeld(ctx context.Context, pairID string, ids []int64, approve bool) error {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	if err := checkIDs(ids); err != nil {
		return err
	}
	if _, err := s.pair(pairID); err != nil {
		return err
	}
	hs, err := s.heldKnown(ctx, pairID, ids)
	if err != nil {
		return err
	}
	kind := syncengine.AuditHeldRejected
	if approve {
		kind = syncengine.AuditHeldApproved
		err = s.eng.ApproveHeld(actor(ctx, c), pairID, ids)
	} else {
		err = s.eng.RejectHeld(actor(ctx, c), pairID, ids)
	}
	details := map[string]string{"ids": idList(ids), "paths": heldPaths(hs)}
	if err != nil {
		details["error"] = err.Error()
	}
	if aerr := s.engineAudit(ctx, c, kind, pairID, details); aerr != nil && err == nil {
		return aerr
	}
	return engineErr(err)
}

// Quarantine returns a pair's failing and quarantined items. Viewer.
func (s *Service) Quarantine(ctx context.Context, pairID string) ([]QuarantinedItem, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	p, err := s.pair(pairID)
	if err != nil {
		return nil, err
	}
	fs, err := s.eng.Failures(ctx, pairID)
	if err != nil {
		return nil, engineErr(err)
	}
	out := make([]QuarantinedItem, len(fs))
	for i, f := range fs {
		out[i] = QuarantinedItem{PairID: f.PairID, Side: f.Side.String(), SideName: sideName(p, f.Side), Path: f.Path,
			Error: f.Error, Attempts: f.Attempts, NextAttempt: ptime(f.NextAttempt), Quarantined: f.Quarantined,
			Updated: f.Updated.UTC()}
	}
	return out, nil
}

// ParseSide parses "A" or "B".
func ParseSide(v string) (syncengine.Side, error) {
	switch strings.ToUpper(v) {
	case "A":
		return syncengine.SideA, nil
	case "B":
		return syncengine.SideB, nil
	}
	return 0, invalid("side", `must be "A" or "B"`)
}

// Release lets a quarantined or failing item be tried again at once
// (engine ReleaseQuarantine); side ("A" or "B") and itemPath identify it
// as Quarantine lists it. Admin.
func (s *Service) Release(ctx context.Context, pairID, side, itemPath string) error {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	sd, err := ParseSide(side)
	if err != nil {
		return err
	}
	if itemPath == "" || len(itemPath) > 4096 {
		return invalid("path", "not a valid path")
	}
	if _, err := s.pair(pairID); err != nil {
		return err
	}
	if err := s.eng.ReleaseQuarantine(actor(ctx, c), pairID, sd, itemPath); err != nil {
		return engineErr(err)
	}
	return s.engineAudit(ctx, c, syncengine.AuditQuarantineReleased, pairID, map[string]string{"side": sd.String(), "path": itemPath})
}

// Pause stops a pair from running until Resume (engine Pause). Admin.
func (s *Service) Pause(ctx context.Context, pairID, reason string) error {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 500 {
		return invalid("reason", "at most 500 characters")
	}
	if reason == "" {
		reason = "paused by " + c.Account.Email
	}
	if _, err := s.pair(pairID); err != nil {
		return err
	}
	if err := s.eng.Pause(actor(ctx, c), pairID, reason); err != nil {
		return engineErr(err)
	}
	return s.engineAudit(ctx, c, syncengine.AuditPairPaused, pairID, map[string]string{"reason": reason})
}

// Resume lets a paused pair run again (engine Resume). Admin.
func (s *Service) Resume(ctx context.Context, pairID string) error {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	if _, err := s.pair(pairID); err != nil {
		return err
	}
	if err := s.eng.Resume(actor(ctx, c), pairID); err != nil {
		return engineErr(err)
	}
	return s.engineAudit(ctx, c, syncengine.AuditPairResumed, pairID, nil)
}

// DryRun returns the plan a run of the pair would apply now, without
// applying it (engine DryRun), with the plan printed. It reads both sides
// (API calls), so it is for admins. Admin.
func (s *Service) DryRun(ctx context.Context, pairID string) (DryRunResult, error) {
	if _, err := s.require(ctx, RoleAdmin); err != nil {
		return DryRunResult{}, err
	}
	p, err := s.pair(pairID)
	if err != nil {
		return DryRunResult{}, err
	}
	plan, err := s.eng.DryRun(ctx, pairID)
	if err != nil {
		return DryRunResult{}, engineErr(err)
	}
	out := DryRunResult{PairID: pairID, Refused: plan.Refused, Actions: make([]PlannedAction, 0, len(plan.Actions)),
		Text: plan.String()}
	for _, a := range plan.Actions {
		out.Actions = append(out.Actions, PlannedAction{Action: a.Kind.String(), Side: sideName(p, a.Side), Path: a.Path,
			Text: a.String()})
	}
	return out, nil
}
