package syncengine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AuditKind says what an audit entry records.
type AuditKind string

// Audit kinds. The engine records the ones about what it does itself
// (held deletions approved or rejected, quarantines released, pauses and
// resumes, stop policies fired); the code that manages projects records
// the others through Engine.Audit.
const (
	AuditProjectAdded       AuditKind = "project_added"
	AuditProjectRemoved     AuditKind = "project_removed"
	AuditProjectUpdated     AuditKind = "project_updated"
	AuditOptionsChanged     AuditKind = "options_changed"
	AuditHeldApproved       AuditKind = "held_delete_approved"
	AuditHeldRejected       AuditKind = "held_delete_rejected"
	AuditQuarantineReleased AuditKind = "quarantine_released"
	AuditPairPaused         AuditKind = "pair_paused"
	AuditPairResumed        AuditKind = "pair_resumed"
	AuditStopPolicyFired    AuditKind = "stop_policy_fired"
)

// SystemActor is the actor of audit entries whose context names none
// (see WithActor): the engine acting on its own.
const SystemActor = "system"

// Limits of an audit entry, checked by Engine.Audit.
const (
	MaxAuditActor      = 320  // bytes of Actor (an e-mail address at most 320)
	MaxAuditKind       = 64   // bytes of Kind
	MaxAuditField      = 1024 // bytes of PairID and Project
	MaxAuditDetails    = 64   // keys in Details
	MaxAuditDetailSize = 4096 // bytes of a Details key or value
)

// ErrInvalidAudit: an audit entry or filter the engine cannot record or
// apply (an empty or malformed kind, an actor or a field too long or not
// text, too many details, a negative page).
var ErrInvalidAudit = errors.New("syncengine: invalid audit entry")

// ErrNoAuditStore: the MetadataStore is not an AuditStore, so there is no
// audit log to read.
var ErrNoAuditStore = fmt.Errorf("syncengine: the store keeps no audit log: %w", errors.ErrUnsupported)

// AuditEntry is one line of the admin audit log: who did what, when, to
// which pair or project.
type AuditEntry struct {
	// ID is set by the store.
	ID int64
	// Time is when it happened (Engine.Audit sets it from the engine's
	// clock when zero).
	Time time.Time
	// Actor is who did it: the person WithActor put in the context, or
	// SystemActor.
	Actor string
	Kind  AuditKind
	// PairID is the pair concerned ("" for an entry about a project as a
	// whole); Project names the project concerned ("" when none), as the
	// code that manages projects names it (for example "42/1001").
	PairID  string
	Project string
	// Details says more, as text: the reason of a pause, the options
	// changed, the paths of held deletions. Never secrets: Engine.Audit
	// replaces the value of a key that names one (secret, token, password,
	// key, credential, authorization, cookie) with "[redacted]".
	Details map[string]string
}

// AuditFilter selects audit entries. Empty fields select everything.
type AuditFilter struct {
	PairID  string
	Project string
	Actor   string
	// Kinds selects entries of any of these kinds.
	Kinds []AuditKind
	// Since and Until bound Time: at or after Since, before Until (zero:
	// unbounded).
	Since, Until time.Time
	// Limit and Offset page through the entries, newest first (Limit 0:
	// all); negative values are an error.
	Limit, Offset int
}

// AuditStore is the optional MetadataStore role that keeps the admin
// audit log: an append-only list of AuditEntry, read newest first.
// sqlitestore and pgstore implement it; storetest checks it.
type AuditStore interface {
	// AppendAudit stores the entry (its ID is ignored) and returns its
	// new ID. An entry without Kind, Actor or Time is an error.
	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)
	// ListAudit returns the entries f selects, ordered by Time, newest
	// first (entries of the same Time: the latest appended first).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

type actorKey struct{}

// WithActor returns a context that names actor (say "alice@example.com")
// as the one who does what the engine is asked with it: the audit entries
// of Pause, Resume, ApproveHeld, RejectHeld, ReleaseQuarantine and
// Engine.Audit record it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor put in ctx, or SystemActor.
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return SystemActor
}

// secretWords are the parts of a Details key that say its value is a
// secret.
var secretWords = []string{"secret", "token", "password", "passwd", "key", "credential", "authorization", "cookie",
	"private", "signature"}

// redactedValue replaces the value of a Details key that names a secret.
const redactedValue = "[redacted]"

// secretKey reports whether a Details key names a secret.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// checkAuditText rejects text that is too long, not UTF-8 or holds
// control characters.
func checkAuditText(what, s string, maxLen int) error {
	if len(s) > maxLen {
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrInvalidAudit, what, len(s), maxLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not UTF-8 text", ErrInvalidAudit, what)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: %s holds control characters", ErrInvalidAudit, what)
	}
	return nil
}

// checkAuditKind accepts kinds of lower-case letters, digits and
// underscores, like the Audit… constants.
func checkAuditKind(k AuditKind) error {
	if k == "" || len(k) > MaxAuditKind {
		return fmt.Errorf("%w: kind %q must be 1 to %d bytes", ErrInvalidAudit, k, MaxAuditKind)
	}
	for _, r := range string(k) {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("%w: kind %q must be lower-case letters, digits and underscores", ErrInvalidAudit, k)
		}
	}
	return nil
}

// prepareAudit checks the entry and fills in its time and actor; the
// details are copied with secrets redacted.
func (e *Engine) prepareAudit(ctx context.Context, a AuditEntry) (AuditEntry, error) {
	if a.Time.IsZero() {
		a.Time = e.clock.Now()
	}
	if a.Actor == "" {
		a.Actor = ActorFrom(ctx)
	}
	if err := checkAuditKind(a.Kind); err != nil {
		return a, err
	}
	if err := checkAuditText("actor", a.Actor, MaxAuditActor); err != nil {
		return a, err
	}
	if err := checkAuditText("pair ID", a.PairID, MaxAuditField); err != nil {
		return a, err
	}
	if err := checkAuditText("project", a.Project, MaxAuditField); err != nil {
		return a, err
	}
	if len(a.Details) > MaxAuditDetails {
		return a, fmt.Errorf("%w: %d details, more than %d", ErrInvalidAudit, len(a.Details), MaxAuditDetails)
	}
	var d map[string]string
	if len(a.Details) > 0 {
		d = make(map[string]string, len(a.Details))
	}
	for k, v := range a.Details {
		if k == "" {
			return a, fmt.Errorf("%w: empty details key", ErrInvalidAudit)
		}
		if err := checkAuditText("details key", k, MaxAuditDetailSize); err != nil {
			return a, err
		}
		if secretKey(k) {
			v = redactedValue
		}
		if len(v) > MaxAuditDetailSize || !utf8.ValidString(v) {
			return a, fmt.Errorf("%w: details value of %q is not UTF-8 text of at most %d bytes",
				ErrInvalidAudit, k, MaxAuditDetailSize)
		}
		d[k] = v
	}
	a.Details = d
	return a, nil
}

// Audit records an entry in the admin audit log: its Time (default: now),
// its Actor (default: the one WithActor put in ctx, else SystemActor), its
// Kind (required; the Audit… constants, or another kind of lower-case
// letters, digits and underscores), the pair and project concerned and its
// details (values of keys that name secrets are redacted). The entry is
// also logged. When the MetadataStore is not an AuditStore the log is the
// only record and Audit returns nil. A malformed entry gives
// ErrInvalidAudit and records nothing.
func (e *Engine) Audit(ctx context.Context, entry AuditEntry) error {
	a, err := e.prepareAudit(ctx, entry)
	if err != nil {
		return err
	}
	e.log.Info("syncengine: audit", "kind", string(a.Kind), "actor", a.Actor, "pair", a.PairID,
		"project", a.Project, "details", a.Details)
	as, ok := e.store.(AuditStore)
	if !ok {
		return nil
	}
	if _, err := as.AppendAudit(context.WithoutCancel(ctx), a); err != nil {
		return fmt.Errorf("syncengine: recording audit entry %s: %w", a.Kind, err)
	}
	return nil
}

// AuditLog returns the audit entries f selects, newest first. It fails
// with ErrNoAuditStore when the MetadataStore keeps no audit log, and with
// ErrInvalidAudit for a negative Limit or Offset.
func (e *Engine) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, fmt.Errorf("%w: negative limit or offset", ErrInvalidAudit)
	}
	as, ok := e.store.(AuditStore)
	if !ok {
		return nil, ErrNoAuditStore
	}
	return as.ListAudit(ctx, f)
}

// auditPair records what the engine did to pair p (a failure to record is
// logged: the action itself is done).
func (e *Engine) auditPair(ctx context.Context, p *Pair, kind AuditKind, details map[string]string) {
	if err := e.Audit(ctx, AuditEntry{Kind: kind, PairID: p.ID, Details: details}); err != nil {
		e.log.Warn("syncengine: audit log", "pair", p.ID, "kind", string(kind), "error", err)
	}
}

// auditHeld records an admin's decision on held deletions: those of hs
// whose IDs are in done were approved (or rejected) and released.
func (e *Engine) auditHeld(ctx context.Context, p *Pair, kind AuditKind, hs []HeldDelete, done []int64) {
	if len(done) == 0 {
		return
	}
	var ids, paths []string
	for _, h := range hs {
		for _, id := range done {
			if h.ID == id {
				ids = append(ids, strconv.FormatInt(h.ID, 10))
				paths = append(paths, h.DeletedOn.Other().String()+":"+h.Path)
				break
			}
		}
	}
	d := map[string]string{"count": strconv.Itoa(len(ids)), "ids": strings.Join(ids, ",")}
	if s := strings.Join(paths[:min(len(paths), MaxEventPaths)], "\n"); len(s) <= MaxAuditDetailSize {
		d["paths"] = s
	}
	e.auditPair(ctx, p, kind, d)
}
