package projects

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/syncengine"
)

// The webhook safety net.
//
// Procore retries a failed delivery with backoff for 12 hours and then
// discards it; a receiver that acknowledged an event can still lose it (a
// crash before the pair ran). Instead of listing every pair's tool
// (about two Procore calls a pair), the DeliveryChecker reads each
// company hook's delivery log (GET /rest/v1.0/webhooks/hooks/{hook_id}/
// deliveries, procore.WebhooksService.Deliveries), which lists every event
// of every project of the company: one call per company per check covers
// thousands of pairs. Each event whose pair has not started a run since
// the event's time is woken, whatever the delivery's outcome (retried,
// failed, discarded, or ok but lost). With the checker healthy the
// engine's per-pair reconciliation can be rare (DeliveryChecker.Reconcile).

// PairWaker wakes a pair: *syncengine.Engine implements it.
type PairWaker interface {
	Wake(pairID string)
}

// CompanyHook is a company-scoped hook whose delivery log the checker
// reads: the hook procore.WebhooksService.RegisterCompanyHook returned.
type CompanyHook struct {
	// Client is a client of the company (its CompanyID is the company's).
	Client *procore.Client
	// HookID is the hook's ID (procore.Hook.ID).
	HookID int64
}

// DeliveryCursors keep the delivery log cursor of each hook across
// restarts: the id up to which every delivery was settled (its pairs ran
// after the event). StoreDeliveryCursors keeps them in the engine's
// metadata store.
type DeliveryCursors interface {
	LoadDeliveryCursor(ctx context.Context, companyID, hookID int64) (int64, error)
	SaveDeliveryCursor(ctx context.Context, companyID, hookID, cursor int64) error
}

// DeliveryCheckOptions configure a DeliveryChecker. The zero value of a
// field is its default; Waker, Store and Pairs are filled in by a Manager
// given the checker (ManagerOptions.DeliveryCheck).
type DeliveryCheckOptions struct {
	// BudgetPerHour is the Procore calls per hour the app may spend (its
	// rate limit, e.g. 3,600 or 600). With Share it sets Period.
	BudgetPerHour float64
	// Share is the fraction of the budget the checks may spend (default
	// 0.01): each company costs one call per check when idle.
	Share float64
	// TotalShare is the fraction of the budget the whole safety net
	// (checks and the engine's per-pair reconciliation, see Reconcile) may
	// spend (default 0.05).
	TotalShare float64
	// Period, when set, is the time between checks instead of the one
	// derived from the budget; MinPeriod and MaxPeriod bound the derived
	// one (defaults 1 minute and 1 hour).
	Period, MinPeriod, MaxPeriod time.Duration
	// Grace is how long after its start a delivery is read again at the
	// next check, in case Procore lists deliveries out of id order (default
	// 2 minutes); MaxHold is how long an event whose pair does not run
	// keeps the cursor back before the checker gives up on it with a
	// warning (default 24 hours).
	Grace, MaxHold time.Duration
	// Skew is added to an event's time before comparing it with a pair's
	// last run start, for clocks that disagree (default 0).
	Skew time.Duration
	// StatusEvery is how often each hook is read (GET
	// /rest/v2.0/companies/{company_id}/webhooks/hooks/{id}) to notice
	// that it was disabled or deleted (default 1 hour; one call).
	StatusEvery time.Duration
	// FailAfter is how many checks of a hook in a row may fail before the
	// checker reports itself unhealthy (default 2).
	FailAfter int
	// Cursors keep the cursors (default: StoreDeliveryCursors(Store)).
	Cursors DeliveryCursors
	// Store is the engine's metadata store: the pairs' last run start and
	// pause state (a Manager fills in its own).
	Store syncengine.MetadataStore
	// Waker wakes the pairs (a Manager fills in its engine).
	Waker PairWaker
	// Pairs maps an event's company, project (0 for a company-level
	// resource) and tool (procore.ToolOf of its resource name) to pair IDs
	// (a Manager fills in the pairs of its projects).
	Pairs func(companyID, projectID int64, tool string) []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the checker's logs (default slog.Default()).
	Logger *slog.Logger
}

// DeliveryCheckReport says what one Check found.
type DeliveryCheckReport struct {
	// Calls is the Procore calls made.
	Calls int
	// Deliveries is the log entries read; Failed those not delivered (not
	// ok); Odd those without a readable event of the company.
	Deliveries, Failed, Odd int
	// Woken are the pairs woken, sorted.
	Woken []string
	// Held is how many entries wait for their pairs to run (read again at
	// the next check).
	Held int
	// Errors are the hooks that could not be checked.
	Errors []error
}

// DeliveryChecker is the safety net of pairs whose changes arrive by a
// company hook: see DeliveryCheckOptions and Check. Its methods are safe
// for concurrent use.
type DeliveryChecker struct {
	o DeliveryCheckOptions

	check sync.Mutex // serialises Check

	mu    sync.Mutex
	hooks map[int64]*hookState // by company
}

// hookState is the checker's state of one company hook.
type hookState struct {
	hook      CompanyHook
	company   int64
	cursor    int64 // settled up to here (durable)
	loaded    bool  // cursor read from Cursors
	fails     int   // checks failed in a row
	status    string
	statusAt  time.Time
	lastCheck time.Time
	lastErr   error
}

// NewDeliveryChecker returns a checker; add the hooks with AddHook.
func NewDeliveryChecker(o DeliveryCheckOptions) (*DeliveryChecker, error) {
	if o.BudgetPerHour < 0 || math.IsNaN(o.BudgetPerHour) || o.Share < 0 || o.Share > 1 || o.TotalShare < 0 || o.TotalShare > 1 {
		return nil, errors.New("projects: DeliveryCheckOptions: invalid budget or share")
	}
	if o.Period < 0 || o.MinPeriod < 0 || o.MaxPeriod < 0 || o.Grace < 0 || o.MaxHold < 0 || o.StatusEvery < 0 || o.FailAfter < 0 {
		return nil, errors.New("projects: DeliveryCheckOptions: negative duration or count")
	}
	if o.Share == 0 {
		o.Share = 0.01
	}
	if o.TotalShare == 0 {
		o.TotalShare = 0.05
	}
	if o.MinPeriod == 0 {
		o.MinPeriod = time.Minute
	}
	if o.MaxPeriod == 0 {
		o.MaxPeriod = time.Hour
	}
	if o.Grace == 0 {
		o.Grace = 2 * time.Minute
	}
	if o.MaxHold == 0 {
		o.MaxHold = 24 * time.Hour
	}
	if o.StatusEvery == 0 {
		o.StatusEvery = DefaultStatusEvery
	}
	if o.FailAfter == 0 {
		o.FailAfter = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &DeliveryChecker{o: o, hooks: map[int64]*hookState{}}, nil
}

// attach fills in what a Manager provides. Called by NewManager.
func (c *DeliveryChecker) attach(m *Manager) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.o.Store == nil {
		c.o.Store = m.o.Store
	}
	if c.o.Waker == nil {
		c.o.Waker = m.e
	}
	if c.o.Pairs == nil {
		c.o.Pairs = m.pairsFor
	}
}

// AddHook adds (or replaces) the company hook of h.Client's company.
func (c *DeliveryChecker) AddHook(h CompanyHook) error {
	if h.Client == nil || h.Client.CompanyID <= 0 || h.HookID <= 0 {
		return &ConfigError{Field: "CompanyHook", Reason: "a client with a company and a hook ID are required"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.hooks[h.Client.CompanyID]; old != nil && old.hook.HookID == h.HookID {
		old.hook = h
		return nil
	}
	c.hooks[h.Client.CompanyID] = &hookState{hook: h, company: h.Client.CompanyID}
	return nil
}

// RemoveHook stops checking the hook of company companyID.
func (c *DeliveryChecker) RemoveHook(companyID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.hooks, companyID)
}

// DeliveryCheckPeriod returns how often each of companies company hooks
// is checked when a check costs one call and the checks may spend share
// of budgetPerHour calls an hour: companies / (budgetPerHour × share)
// hours, within [minPeriod, maxPeriod] (maxPeriod for no budget).
func DeliveryCheckPeriod(budgetPerHour, share float64, companies int, minPeriod, maxPeriod time.Duration) time.Duration {
	if budgetPerHour <= 0 || share <= 0 || math.IsNaN(budgetPerHour) || math.IsNaN(share) {
		return maxPeriod
	}
	hours := float64(max(companies, 1)) / (budgetPerHour * share)
	if hours*float64(time.Hour) >= float64(maxPeriod) {
		return maxPeriod
	}
	return max(minPeriod, time.Duration(hours*float64(time.Hour)))
}

// DefaultStatusEvery is how often a hook's status is read by default
// (DeliveryCheckOptions.StatusEvery).
const DefaultStatusEvery = time.Hour

// Period returns the time between checks: Period, or the one derived from
// the budget for the hooks added (at least one): Share of BudgetPerHour,
// less each hook's status read every StatusEvery, spent on one call per
// hook per check.
func (c *DeliveryChecker) Period() time.Duration {
	if c.o.Period > 0 {
		return c.o.Period
	}
	c.mu.Lock()
	n := max(len(c.hooks), 1)
	c.mu.Unlock()
	perHour := c.o.BudgetPerHour*c.o.Share - float64(n)/c.o.StatusEvery.Hours()
	if perHour <= 0 {
		return c.o.MaxPeriod
	}
	return DeliveryCheckPeriod(perHour, 1, n, c.o.MinPeriod, c.o.MaxPeriod)
}

// CallsPerHour returns what the checks of the hooks added cost an hour
// when idle: one call per hook per Period and one per hook per
// StatusEvery.
func (c *DeliveryChecker) CallsPerHour() float64 {
	p := c.Period()
	c.mu.Lock()
	n := float64(len(c.hooks))
	c.mu.Unlock()
	return n/p.Hours() + n/c.o.StatusEvery.Hours()
}

// Reconcile returns the engine's safety-net policy under a healthy
// checker: the per-pair reconciliation spends what the checks leave of
// TotalShare (TotalShare − Share of BudgetPerHour), each idle
// reconciliation costing callsPerRun calls (0: the engine's default of
// 2), with MaxPeriod 60 days: the period may exceed a day, since every
// pair's changes are checked against the delivery log many times a day.
// Healthy is the checker's: when it is false pairs are polled every
// Interval again.
func (c *DeliveryChecker) Reconcile(callsPerRun float64) *syncengine.Reconcile {
	return &syncengine.Reconcile{BudgetPerHour: c.o.BudgetPerHour, Share: max(c.o.TotalShare-c.o.Share, 0.001),
		CallsPerRun: callsPerRun, MaxPeriod: 60 * 24 * time.Hour, Healthy: c.Healthy}
}

// Healthy reports whether the safety net covers the pairs: at least one
// hook was added, and every hook was checked successfully (at most
// FailAfter−1 failed checks in a row since) and is not disabled or
// deleted. A nil checker is not healthy.
func (c *DeliveryChecker) Healthy() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hooks) == 0 {
		return false
	}
	for _, h := range c.hooks {
		if h.lastCheck.IsZero() || h.fails >= c.o.FailAfter || h.status == "disabled" || h.status == "deleted" {
			return false
		}
	}
	return true
}

// Run checks every hook every Period until ctx is done, the first time at
// once, and returns ctx's error.
func (c *DeliveryChecker) Run(ctx context.Context) error {
	for {
		if _, err := c.Check(ctx); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("projects: webhook delivery check", "err", err)
		}
		t := time.NewTimer(c.Period())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Check reads each hook's delivery log from its cursor and wakes the pair
// of every event it lists whose pair has not started a run since the
// event's time (a paused pair excepted). An idle check costs one call per
// company; more only when more than a page (100) of deliveries came.
// The cursor moves past an entry once its pairs ran since its event (or
// it matches no pair, or cannot be read) and it is older than Grace, and
// is saved: after a restart the entries whose pairs had not yet run are
// read again and woken again, so nothing is missed. Each hook is also read
// every StatusEvery, to notice it was disabled or deleted. The error joins
// those of the hooks that failed; the others were checked.
func (c *DeliveryChecker) Check(ctx context.Context) (DeliveryCheckReport, error) {
	c.check.Lock()
	defer c.check.Unlock()
	c.mu.Lock()
	if c.o.Store == nil || c.o.Waker == nil || c.o.Pairs == nil {
		c.mu.Unlock()
		return DeliveryCheckReport{}, errors.New("projects: the delivery checker needs Store, Waker and Pairs (or a Manager)")
	}
	hooks := make([]*hookState, 0, len(c.hooks))
	for _, h := range c.hooks {
		hooks = append(hooks, h)
	}
	c.mu.Unlock()
	slices.SortFunc(hooks, func(a, b *hookState) int { return cmp.Compare(a.company, b.company) })
	var rep DeliveryCheckReport
	woken := map[string]bool{}
	for _, h := range hooks {
		err := c.checkHook(ctx, h, &rep, woken)
		c.mu.Lock()
		if err != nil {
			h.fails++
			h.lastErr = err
			rep.Errors = append(rep.Errors, fmt.Errorf("company %d hook %d: %w", h.company, h.hook.HookID, err))
		} else {
			h.fails, h.lastErr = 0, nil
			h.lastCheck = c.o.Now()
		}
		c.mu.Unlock()
	}
	for id := range woken {
		rep.Woken = append(rep.Woken, id)
	}
	slices.Sort(rep.Woken)
	return rep, errors.Join(rep.Errors...)
}

// checkHook checks one hook.
func (c *DeliveryChecker) checkHook(ctx context.Context, h *hookState, rep *DeliveryCheckReport, woken map[string]bool) error {
	c.mu.Lock()
	hook := h.hook // AddHook may replace it meanwhile
	c.mu.Unlock()
	now := c.o.Now()
	if h.statusAt.IsZero() || now.Sub(h.statusAt) >= c.o.StatusEvery {
		rep.Calls++
		if err := c.readStatus(ctx, h, hook); err != nil {
			return err
		}
	}
	if !h.loaded {
		cur, err := c.cursors().LoadDeliveryCursor(ctx, h.company, hook.HookID)
		if err != nil {
			return fmt.Errorf("loading the delivery cursor: %w", err)
		}
		h.cursor, h.loaded = cur, true
	}
	sc := procore.WebhookScope{CompanyID: h.company}
	cursor, blocked := h.cursor, false
	pageSize := 100
	n := 0
	// save keeps the progress, also of a check that failed half-way.
	save := func(err error) error {
		rep.Calls += n/pageSize + 1
		if cursor != h.cursor {
			if serr := c.cursors().SaveDeliveryCursor(ctx, h.company, hook.HookID, cursor); serr != nil {
				return errors.Join(err, fmt.Errorf("saving the delivery cursor: %w", serr))
			}
			h.cursor = cursor
		}
		return err
	}
	for d, err := range hook.Client.Webhooks.Deliveries(ctx, sc, hook.HookID, procore.DeliveriesOptions{After: h.cursor, PageSize: pageSize}) {
		if err != nil {
			return save(err)
		}
		n++
		rep.Deliveries++
		if !d.Delivered() {
			rep.Failed++
		}
		settled, err := c.examine(ctx, h, d, rep, woken)
		if err != nil {
			return save(err)
		}
		if d.ID <= cursor {
			continue // listed out of order: examined, but it does not move the cursor
		}
		started := d.StartedAt.Time
		if started.IsZero() {
			started = d.CompletedAt.Time
		}
		age := now.Sub(started)
		if !settled && !started.IsZero() && age >= c.o.MaxHold {
			c.o.Logger.Warn("projects: webhook delivery check: an event's pairs did not run; giving up on it",
				"company", h.company, "delivery", d.ID, "age", age.Round(time.Second))
			settled = true
		}
		if !blocked && settled && (started.IsZero() || age >= c.o.Grace) {
			cursor = d.ID
			continue
		}
		blocked = true
		if !settled {
			rep.Held++
		}
	}
	return save(nil)
}

// readStatus reads the hook (v2.0) to notice it was disabled or deleted.
func (c *DeliveryChecker) readStatus(ctx context.Context, h *hookState, hook CompanyHook) error {
	hk, _, err := hook.Client.Webhooks.GetHookV2(ctx, procore.WebhookScope{CompanyID: h.company}, strconv.FormatInt(hook.HookID, 10))
	var ae *procore.ErrorResponse
	switch {
	case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
		c.setStatus(h, "deleted")
		c.o.Logger.Warn("projects: webhook delivery check: the company hook is gone; pairs are polled", "company", h.company, "hook", hook.HookID)
		return nil
	case err != nil:
		return err
	}
	st := hk.Status
	if st == "" {
		st = "active"
	}
	if st != "active" {
		c.o.Logger.Warn("projects: webhook delivery check: the company hook is not active; pairs are polled", "company", h.company,
			"hook", hook.HookID, "status", st)
	}
	c.setStatus(h, st)
	return nil
}

func (c *DeliveryChecker) setStatus(h *hookState, st string) {
	c.mu.Lock()
	h.status, h.statusAt = st, c.o.Now()
	c.mu.Unlock()
}

// examine wakes the pairs of d's event that have not run since it and
// reports whether all of them have (settled).
func (c *DeliveryChecker) examine(ctx context.Context, h *hookState, d procore.Delivery, rep *DeliveryCheckReport, woken map[string]bool) (bool, error) {
	ev, err := d.ParseEvent()
	if err != nil || (ev.CompanyID != 0 && ev.CompanyID != h.company) {
		rep.Odd++
		return true, nil
	}
	tool := procore.ToolOf(ev.ResourceName)
	if tool == "" {
		return true, nil
	}
	project := ev.ProjectID
	if strings.HasPrefix(ev.ResourceName, "Company ") {
		project = 0
	}
	at := ev.Timestamp
	if at.IsZero() {
		at = d.StartedAt.Time
	}
	settled := true
	for _, id := range c.o.Pairs(h.company, project, tool) {
		ps, err := c.o.Store.LoadPair(ctx, id)
		if err != nil {
			return false, fmt.Errorf("loading pair %s: %w", id, err)
		}
		if ps.Paused || (!at.IsZero() && !ps.LastRun.Before(at.Add(c.o.Skew))) {
			continue
		}
		if !woken[id] {
			woken[id] = true
			c.o.Waker.Wake(id)
		}
		if at.IsZero() {
			continue // no time to compare a run with: woken once
		}
		settled = false
	}
	return settled, nil
}

func (c *DeliveryChecker) cursors() DeliveryCursors {
	if c.o.Cursors != nil {
		return c.o.Cursors
	}
	return StoreDeliveryCursors(c.o.Store)
}

// StoreDeliveryCursors keeps the cursors in a metadata store, as the
// state of a pseudo pair "procore-webhook-deliveries/<company>/<hook>"
// (its CursorA) that no engine runs.
func StoreDeliveryCursors(s syncengine.PairStore) DeliveryCursors { return storeCursors{s} }

type storeCursors struct{ s syncengine.PairStore }

func cursorPairID(companyID, hookID int64) string {
	return fmt.Sprintf("procore-webhook-deliveries/%d/%d", companyID, hookID)
}

func (s storeCursors) LoadDeliveryCursor(ctx context.Context, companyID, hookID int64) (int64, error) {
	ps, err := s.s.LoadPair(ctx, cursorPairID(companyID, hookID))
	if err != nil || ps.CursorA == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(ps.CursorA, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("projects: bad delivery cursor %q", ps.CursorA)
	}
	return n, nil
}

func (s storeCursors) SaveDeliveryCursor(ctx context.Context, companyID, hookID, cursor int64) error {
	return s.s.SavePair(ctx, cursorPairID(companyID, hookID), syncengine.PairState{CursorA: strconv.FormatInt(cursor, 10)})
}

// pairsFor returns the IDs of the pairs of tool (a procore.Tool... name)
// in project projectID of company companyID, or of its company-level
// Documents for projectID 0.
func (m *Manager) pairsFor(companyID, projectID int64, tool string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if projectID == 0 {
		if tool != procore.ToolDocuments {
			return nil
		}
		if co := m.companies[companyID]; co != nil && co.tp != nil {
			return []string{co.tp.id}
		}
		return nil
	}
	pr := m.projects[Key{CompanyID: companyID, ProjectID: projectID}]
	if pr == nil {
		return nil
	}
	want := Tool(tool)
	if tool == procore.ToolDailyLog {
		want = DailyLog
	}
	var out []string
	for _, tp := range pr.pairs {
		if tp.tool == want {
			out = append(out, tp.id)
		}
	}
	return out
}
