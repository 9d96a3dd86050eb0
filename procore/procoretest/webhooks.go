package procoretest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhooks: v1.0 hooks, triggers and deliveries, and
// an outbound dispatcher that POSTs events to a hook's destination and
// retries failed deliveries with exponential backoff.

type hook struct {
	ID                   int64
	CompanyID, ProjectID int64 // one is set: the hook's scope
	UserID               int64
	APIVersion           string // payload version: v2.0, v3.0, v4.0
	SentVersion          string // api_version as the v1.0 create sent it (echoed)
	Namespace            string
	DestinationURL       string
	Headers              map[string]string
	Status               string // active or disabled (v2.0)
	CreatedAt, UpdatedAt time.Time
}

type trigger struct {
	ID, HookID           int64
	ResourceName         string
	EventType            string // lower case
	CompanyID, ProjectID int64
	UserID               int64
}

type delivery struct {
	ID      int64 // the delivery's own id (the v1.0 page_start cursor)
	EventID int64
	HookID  int64

	Event          map[string]any
	Outcome        string // ok, retried, discarded
	ResponseStatus int
	Attempts       int
	Started, Done  time.Time
	raw            []byte // sent as is instead of Event (DeliverRaw)
	tries          []attempt
}

// attempt is one POST of a delivery.
type attempt struct {
	At     time.Time
	Status int // 0: no answer
}

type webhookState struct {
	mu         sync.Mutex
	hooks      map[int64]*hook
	triggers   map[int64]*trigger
	deliveries []*delivery
	wg         sync.WaitGroup
	client     *http.Client
	// pausedUntil holds, per destination URL, when deliveries to it may
	// resume: Procore pauses every delivery to an endpoint after one
	// non-2xx answer or failure, and retries with backoff.
	pausedUntil map[string]time.Time
	pauses      int // how many times an endpoint was paused
}

// WebhookRetry configures the dispatcher's retries (real time): the first
// retry waits Base, each next one twice as long but never more than Max,
// and the event is discarded after Attempts attempts or, with
// DiscardAfter, once DiscardAfter has passed since its first attempt
// (Procore: from 1 s up to 1 h, discarded after 12 hours: Base 1 s, Max
// 1 h, DiscardAfter 12 h, Attempts 0). The defaults (1 s, 6 attempts, no
// Max, no DiscardAfter) keep a failing destination from holding tests
// for hours; tests shorten them.
type WebhookRetry struct {
	Base     time.Duration
	Attempts int
	// Max caps one wait (0: no cap).
	Max time.Duration
	// DiscardAfter discards an event still failing this long after its
	// first attempt (0: only Attempts bounds the retries).
	DiscardAfter time.Duration
	// Clock, when set, is the dispatcher's clock for its waits (backoff
	// and endpoint pauses) and for DiscardAfter, e.g. a
	// syncengine/manualclock.Clock, so that a test plays Procore's 12
	// hours of retries in milliseconds (nil: real time).
	Clock WebhookClock
}

// WebhookClock is a clock the dispatcher waits on.
type WebhookClock interface {
	Now() time.Time
	// After waits for d to pass, like time.After.
	After(d time.Duration) <-chan time.Time
}

func (s *Server) webhooks() *webhookState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wh == nil {
		s.wh = &webhookState{hooks: map[int64]*hook{}, triggers: map[int64]*trigger{}, client: &http.Client{Timeout: 5 * time.Second},
			pausedUntil: map[string]time.Time{}}
	}
	return s.wh
}

func (s *Server) webhookRoutes(r func(pattern, op string, mode authMode, h handler)) {
	p := "/rest/v1.0/webhooks/hooks"
	r("POST "+p, "RestV10WebhooksHooksPost", authCompany, (*call).createHook)
	r("GET "+p, "RestV10WebhooksHooksGet", authCompany, (*call).listHooks)
	r("DELETE "+p+"/{id}", "RestV10WebhooksHooksIdDelete", authCompany, (*call).deleteHook)
	r("POST "+p+"/{hook_id}/triggers", "RestV10WebhooksHooksHookIdTriggersPost", authCompany, (*call).createTrigger)
	r("GET "+p+"/{hook_id}/triggers", "RestV10WebhooksHooksHookIdTriggersGet", authCompany, (*call).listTriggers)
	r("DELETE "+p+"/{hook_id}/triggers/{id}", "RestV10WebhooksHooksHookIdTriggersIdDelete", authCompany, (*call).deleteTrigger)
	r("GET "+p+"/{hook_id}/deliveries", "RestV10WebhooksHooksHookIdDeliveriesGet", authCompany, (*call).listDeliveries)
	r("GET /rest/v1.0/webhooks/resources", "RestV10WebhooksResourcesGet", authCompany, (*call).listResourcesV1)
	s.webhookV2Routes(r)
}

// webhookScope reads company_id or project_id from m (body or query) and
// checks it against the company header.
func (c *call) webhookScope(companyRaw, projectRaw string) (companyID, projectID int64, ok bool) {
	if projectRaw != "" {
		id, err := strconv.ParseInt(projectRaw, 10, 64)
		if err != nil || c.projectScopeByID(id) == nil {
			if err != nil {
				writeError(c.w, http.StatusNotFound, "not_found", "Project not found")
			}
			return 0, 0, false
		}
		return 0, id, true
	}
	id, err := strconv.ParseInt(companyRaw, 10, 64)
	if err != nil || id != c.companyID {
		writeError(c.w, http.StatusNotFound, "not_found", "Company not found")
		return 0, 0, false
	}
	return id, 0, true
}

func maskAuth(h map[string]string) map[string]any {
	out := map[string]any{}
	if v, ok := h["Authorization"]; ok {
		if len(v) > 5 {
			v = strings.Repeat("*", len(v)-5) + v[len(v)-5:]
		}
		out["Authorization"] = v
	}
	return out
}

func hookJSON(h *hook) map[string]any {
	v := h.SentVersion
	if v == "" {
		v = h.APIVersion
	}
	return map[string]any{"id": h.ID, "api_version": v, "destination_headers": maskAuth(h.Headers),
		"destination_url": h.DestinationURL, "owned_by_company_id": nullID(h.CompanyID),
		"owned_by_project_id": nullID(h.ProjectID), "owned_by_user_id": h.UserID, "namespace": h.Namespace}
}

func nullID(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func (c *call) createHook() {
	f, ok := c.form()
	if !ok {
		return
	}
	cs, _ := str(f, "company_id")
	ps, _ := str(f, "project_id")
	cid, pid, ok := c.webhookScope(cs, ps)
	if !ok {
		return
	}
	body := obj(f, "hook")
	now := c.s.now()
	h := &hook{CompanyID: cid, ProjectID: pid, UserID: c.token.UserID, Headers: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	h.APIVersion, _ = str(body, "api_version")
	h.Namespace, _ = str(body, "namespace")
	h.DestinationURL, _ = str(body, "destination_url")
	for k, v := range obj(body, "destination_headers") {
		if sv, ok := v.(string); ok {
			h.Headers[k] = sv
		}
	}
	h.SentVersion = h.APIVersion // echoed as sent
	switch h.APIVersion {
	case "", "v2":
		h.APIVersion = "v2.0"
	case "v3":
		h.APIVersion = "v3.0"
	case "v4":
		h.APIVersion = "v4.0"
	case "v2.0", "v3.0", "v4.0":
	default:
		writeError(c.w, http.StatusUnprocessableEntity, "invalid_api_version", "Unknown api_version "+h.APIVersion)
		return
	}
	if h.Namespace == "" || !strings.HasPrefix(h.DestinationURL, "http") {
		writeError(c.w, http.StatusUnprocessableEntity, "invalid_hook", "namespace and destination_url are required")
		return
	}
	wh := c.s.webhooks()
	c.s.mu.Lock()
	h.ID = c.s.newID()
	c.s.mu.Unlock()
	wh.mu.Lock()
	wh.hooks[h.ID] = h
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusCreated, hookJSON(h))
}

// hookFor resolves {param} to a hook in the scope of the query.
func (c *call) hookFor(param string) *hook {
	q := c.r.URL.Query()
	cid, pid, ok := c.webhookScope(q.Get("company_id"), q.Get("project_id"))
	if !ok {
		return nil
	}
	id, _ := strconv.ParseInt(c.r.PathValue(param), 10, 64)
	wh := c.s.webhooks()
	wh.mu.Lock()
	h := wh.hooks[id]
	wh.mu.Unlock()
	if h == nil || h.CompanyID != cid || h.ProjectID != pid {
		writeError(c.w, http.StatusNotFound, "not_found", "Hook not found")
		return nil
	}
	return h
}

func (c *call) listHooks() {
	q := c.r.URL.Query()
	cid, pid, ok := c.webhookScope(q.Get("company_id"), q.Get("project_id"))
	if !ok {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	out := []any{}
	var ids []int64
	for id, h := range wh.hooks {
		if h.CompanyID == cid && h.ProjectID == pid && (q.Get("namespace") == "" || q.Get("namespace") == h.Namespace) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		out = append(out, hookJSON(wh.hooks[id]))
	}
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) deleteHook() {
	h := c.hookFor("id")
	if h == nil {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	delete(wh.hooks, h.ID)
	for id, t := range wh.triggers {
		if t.HookID == h.ID {
			delete(wh.triggers, id)
		}
	}
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{})
}

func triggerJSON(t *trigger) map[string]any {
	return map[string]any{"id": t.ID, "webhook_hook_id": t.HookID, "resource_name": t.ResourceName, "resource_id": nil,
		"event_type": strings.ToUpper(t.EventType), "company_id": nullID(t.CompanyID), "project_id": nullID(t.ProjectID),
		"user_id": t.UserID}
}

func (c *call) createTrigger() {
	f, ok := c.form()
	if !ok {
		return
	}
	cs, _ := str(f, "company_id")
	ps, _ := str(f, "project_id")
	cid, pid, ok := c.webhookScope(cs, ps)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(c.r.PathValue("hook_id"), 10, 64)
	wh := c.s.webhooks()
	wh.mu.Lock()
	h := wh.hooks[id]
	wh.mu.Unlock()
	if h == nil || h.CompanyID != cid || h.ProjectID != pid {
		writeError(c.w, http.StatusNotFound, "not_found", "Hook not found")
		return
	}
	body := obj(f, "trigger")
	t := &trigger{HookID: h.ID, CompanyID: cid, ProjectID: pid, UserID: c.token.UserID}
	t.ResourceName, _ = str(body, "resource_name")
	ev, _ := str(body, "event_type")
	t.EventType = strings.ToLower(ev) // docs send lower case, the OAS shows upper case
	if t.ResourceName == "" || (t.EventType != "create" && t.EventType != "update" && t.EventType != "delete") {
		writeError(c.w, http.StatusUnprocessableEntity, "invalid_trigger", "resource_name and event_type (create, update, delete) are required")
		return
	}
	c.s.mu.Lock()
	t.ID = c.s.newID()
	c.s.mu.Unlock()
	wh.mu.Lock()
	wh.triggers[t.ID] = t
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusCreated, triggerJSON(t))
}

func (c *call) listTriggers() {
	h := c.hookFor("hook_id")
	if h == nil {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	var list []*trigger
	for _, t := range wh.triggers {
		if t.HookID == h.ID {
			list = append(list, t)
		}
	}
	wh.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	out := []any{}
	for _, t := range list {
		out = append(out, triggerJSON(t))
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) deleteTrigger() {
	h := c.hookFor("hook_id")
	if h == nil {
		return
	}
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	wh := c.s.webhooks()
	wh.mu.Lock()
	t := wh.triggers[id]
	if t != nil && t.HookID == h.ID {
		delete(wh.triggers, id)
	}
	wh.mu.Unlock()
	if t == nil || t.HookID != h.ID {
		writeError(c.w, http.StatusNotFound, "not_found", "Trigger not found")
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{})
}

// listDeliveries pages with page_size and page_start (the last delivery
// id of the previous page, distinct from the event id), as the v1.0
// deliveries endpoint does.
func (c *call) listDeliveries() {
	h := c.hookFor("hook_id")
	if h == nil {
		return
	}
	q := c.r.URL.Query()
	size := 100
	if v, err := strconv.Atoi(q.Get("page_size")); err == nil && v > 0 {
		size = v
	}
	start, _ := strconv.ParseInt(q.Get("page_start"), 10, 64)
	status := q.Get("filters[status]")
	if status == "" {
		status = q.Get("filter[status]") // the guide's spelling
	}
	switch status {
	case "", "any", "successful", "failing", "discarded":
	default:
		writeError(c.w, http.StatusUnprocessableEntity, "invalid_filter", "filters[status] must be any, successful, failing or discarded")
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	out := []any{}
	for _, d := range wh.deliveries {
		if d.HookID != h.ID || d.ID <= start || len(out) >= size {
			continue
		}
		if (status == "successful" && d.Outcome != "ok") || (status == "failing" && d.Outcome != "retried" && d.Outcome != "failed") ||
			(status == "discarded" && d.Outcome != "discarded") {
			continue
		}
		var errMsg any
		if d.Attempts > 0 && d.ResponseStatus == 0 {
			errMsg = "connection failed"
		}
		out = append(out, map[string]any{"id": d.ID, "event": d.Event, "event_id": d.EventID, "outcome": d.Outcome,
			"response_status": d.ResponseStatus, "response_headers": map[string]any{}, "response_body": "",
			"response_error": errMsg, "started_at": ts(d.Started), "completed_at": nullableTime(d.Done)})
	}
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// emit records an event on a Documents node or photo and dispatches it
// to matching hooks. Caller holds s.mu.
func (s *Server) emit(companyID, projectID int64, resource, event string, resourceID, userID int64) {
	wh := s.wh
	if wh == nil {
		return
	}
	now := s.now()
	wh.mu.Lock()
	defer wh.mu.Unlock()
	for _, h := range wh.hooks {
		if !(h.ProjectID != 0 && h.ProjectID == projectID) && !(h.ProjectID == 0 && h.CompanyID == companyID) || h.Status == "disabled" {
			continue
		}
		matched := false
		for _, t := range wh.triggers {
			if t.HookID == h.ID && t.ResourceName == resource && t.EventType == event {
				matched = true
			}
		}
		if !matched {
			continue
		}
		eventID := s.newID()
		payload := map[string]any{"id": eventID, "ulid": ulid(now), "timestamp": now.Format("2006-01-02T15:04:05.000000Z"),
			"metadata": map[string]any{"source_user_id": userID, "source_project_id": nullID(projectID),
				"source_operation_id": nil, "source_company_id": companyID, "source_application_id": nil},
			"user_id": userID, "company_id": companyID, "project_id": nullID(projectID), "api_version": h.APIVersion,
			"event_type": event, "resource_name": resource, "resource_id": resourceID}
		switch h.APIVersion {
		case "v3.0":
			payload["related_resources"] = []any{}
		case "v4.0":
			payload = map[string]any{"id": itoa(eventID), "timestamp": payload["timestamp"], "reason": event,
				"company_id": itoa(companyID), "project_id": itoa(projectID), "user_id": itoa(userID),
				"resource_type": resource, "resource_id": itoa(resourceID)}
			if projectID == 0 {
				payload["project_id"] = nil
			}
		}
		d := &delivery{ID: s.newID(), EventID: eventID, HookID: h.ID, Event: payload, Outcome: "retried", Started: now}
		wh.deliveries = append(wh.deliveries, d)
		wh.wg.Add(1)
		go s.deliver(wh, h, d)
	}
}

// DeliverRaw sends body, as it is, to every active hook of project
// projectID (or, with projectID 0, of company companyID) through the
// dispatcher, as an odd or unexpected event from Procore would arrive. It
// returns how many hooks it was sent to.
func (s *Server) DeliverRaw(companyID, projectID int64, body []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh := s.wh
	if wh == nil {
		return 0
	}
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	wh.mu.Lock()
	defer wh.mu.Unlock()
	n := 0
	for _, h := range wh.hooks {
		if h.Status == "disabled" || !(h.ProjectID != 0 && h.ProjectID == projectID) && !(h.ProjectID == 0 && h.CompanyID == companyID) {
			continue
		}
		d := &delivery{ID: s.newID(), HookID: h.ID, Event: ev, raw: append([]byte(nil), body...), Outcome: "retried", Started: s.now()}
		wh.deliveries = append(wh.deliveries, d)
		wh.wg.Add(1)
		go s.deliver(wh, h, d)
		n++
	}
	return n
}

// EndpointPauses returns how many times a destination was paused because
// it answered a delivery with a non-2xx status (or failed to answer).
// Every pause holds back all deliveries to that destination.
func (s *Server) EndpointPauses() int {
	wh := s.webhooks()
	wh.mu.Lock()
	defer wh.mu.Unlock()
	return wh.pauses
}

// deliver POSTs one event, retrying with exponential backoff. A non-2xx
// answer (or none) pauses every delivery to the same destination until
// the retry is due; a success lifts the pause. After the last attempt the
// event is discarded (Procore: after 12 hours).
func (s *Server) deliver(wh *webhookState, h *hook, d *delivery) {
	defer wh.wg.Done()
	body := d.raw
	if body == nil {
		body, _ = json.Marshal(d.Event)
	}
	retry := s.opts.WebhookRetry
	if retry.Base <= 0 {
		retry.Base = time.Second
	}
	if retry.Attempts <= 0 && retry.DiscardAfter <= 0 {
		retry.Attempts = 6
	}
	now, sleep := time.Now, time.Sleep
	if clk := retry.Clock; clk != nil {
		now, sleep = clk.Now, func(d time.Duration) { <-clk.After(d) }
	}
	wait := retry.Base
	first := now()
	for try := 1; ; try++ {
		for {
			wh.mu.Lock()
			until := wh.pausedUntil[h.DestinationURL]
			wh.mu.Unlock()
			if d := until.Sub(now()); d > 0 {
				sleep(d)
				continue
			}
			break
		}
		req, err := http.NewRequest(http.MethodPost, h.DestinationURL, bytes.NewReader(body))
		status := 0
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "Procore-Webhooks")
			for k, v := range h.Headers {
				req.Header.Set(k, v)
			}
			var resp *http.Response
			if resp, err = wh.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
		}
		wh.mu.Lock()
		d.Attempts, d.ResponseStatus = try, status
		d.tries = append(d.tries, attempt{At: s.now(), Status: status})
		ok := err == nil && status/100 == 2
		if ok {
			delete(wh.pausedUntil, h.DestinationURL)
		} else {
			wh.pauses++
			if until := now().Add(wait); until.After(wh.pausedUntil[h.DestinationURL]) {
				wh.pausedUntil[h.DestinationURL] = until
			}
		}
		giveUp := (retry.Attempts > 0 && try >= retry.Attempts) ||
			(retry.DiscardAfter > 0 && now().Sub(first)+wait > retry.DiscardAfter)
		if ok || giveUp {
			d.Outcome = map[bool]string{true: "ok", false: "discarded"}[ok]
			d.Done = s.now()
			wh.mu.Unlock()
			return
		}
		wh.mu.Unlock()
		wait *= 2
		if retry.Max > 0 && wait > retry.Max {
			wait = retry.Max
		}
	}
}

// DeliveryRecord is one entry of the fake's delivery log.
type DeliveryRecord struct {
	ID, EventID, HookID int64
	Outcome             string // ok, retried (still being retried), discarded
	ResponseStatus      int    // of the last attempt (0: no answer)
	Attempts            int
	Started, Done       time.Time
}

// DeliveryLog returns every delivery the dispatcher made or is making,
// in id order (the order of GET …/hooks/{hook_id}/deliveries).
func (s *Server) DeliveryLog() []DeliveryRecord {
	wh := s.webhooks()
	wh.mu.Lock()
	defer wh.mu.Unlock()
	out := make([]DeliveryRecord, 0, len(wh.deliveries))
	for _, d := range wh.deliveries {
		out = append(out, DeliveryRecord{ID: d.ID, EventID: d.EventID, HookID: d.HookID, Outcome: d.Outcome,
			ResponseStatus: d.ResponseStatus, Attempts: d.Attempts, Started: d.Started, Done: d.Done})
	}
	return out
}

// WaitWebhooks blocks until every webhook delivery started so far has
// succeeded or given up.
func (s *Server) WaitWebhooks() {
	wh := s.webhooks()
	wh.wg.Wait()
}

// Deliveries returns how many deliveries were made and how many of them
// succeeded.
func (s *Server) Deliveries() (total, ok int) {
	wh := s.webhooks()
	wh.mu.Lock()
	defer wh.mu.Unlock()
	for _, d := range wh.deliveries {
		total++
		if d.Outcome == "ok" {
			ok++
		}
	}
	return total, ok
}

// ---- v2.0: company- and project-scoped paths,
// {"data": …} bodies, string IDs, page/per_page pagination. v2.0 and v1.0
// share the same hooks and triggers. ----

func (s *Server) webhookV2Routes(r func(pattern, op string, mode authMode, h handler)) {
	for _, sc := range []struct{ path, op string }{
		{"/rest/v2.0/companies/{company_id}/webhooks", "RestV20CompaniesCompanyIdWebhooks"},
		{"/rest/v2.0/companies/{company_id}/projects/{project_id}/webhooks", "RestV20CompaniesCompanyIdProjectsProjectIdWebhooks"},
	} {
		p, op := sc.path, sc.op
		r("POST "+p+"/hooks", op+"HooksPost", authCompany, (*call).createHookV2)
		r("GET "+p+"/hooks", op+"HooksGet", authCompany, (*call).listHooksV2)
		r("GET "+p+"/hooks/{id}", op+"HooksIdGet", authCompany, (*call).getHookV2)
		r("PATCH "+p+"/hooks/{id}", op+"HooksIdPatch", authCompany, (*call).patchHookV2)
		r("DELETE "+p+"/hooks/{id}", op+"HooksIdDelete", authCompany, (*call).deleteHookV2)
		r("GET "+p+"/hooks/{hook_id}/triggers", op+"HooksHookIdTriggersGet", authCompany, (*call).listTriggersV2)
		r("POST "+p+"/hooks/{hook_id}/triggers", op+"HooksHookIdTriggersPost", authCompany, (*call).createTriggerV2)
		r("POST "+p+"/hooks/{hook_id}/triggers/bulk", op+"HooksHookIdTriggersBulkPost", authCompany, (*call).bulkCreateTriggersV2)
		r("DELETE "+p+"/hooks/{hook_id}/triggers/bulk", op+"HooksHookIdTriggersBulkDelete", authCompany, (*call).bulkDeleteTriggersV2)
		r("DELETE "+p+"/hooks/{hook_id}/triggers/{id}", op+"HooksHookIdTriggersIdDelete", authCompany, (*call).deleteTriggerV2)
		r("GET "+p+"/hooks/{hook_id}/deliveries", op+"HooksHookIdDeliveriesGet", authCompany, (*call).listDeliveriesV2)
		r("GET "+p+"/resources", op+"ResourcesGet", authCompany, (*call).listResourcesV2)
	}
}

// MaxBulkTriggers is how many triggers one bulk request may carry (the
// v1.0 description says "Max 500 triggers"; more gives 413).
const MaxBulkTriggers = 500

// v2Scope resolves the path's company (and project) against the company
// header.
func (c *call) v2Scope() (companyID, projectID int64, ok bool) {
	cid, err := strconv.ParseInt(c.r.PathValue("company_id"), 10, 64)
	if err != nil || cid != c.companyID {
		writeV2Error(c.w, http.StatusNotFound, "Company not found")
		return 0, 0, false
	}
	if raw := c.r.PathValue("project_id"); raw != "" {
		pid, err := strconv.ParseInt(raw, 10, 64)
		c.s.mu.Lock()
		sc := c.s.scopes[projectScopeKey(pid)]
		c.s.mu.Unlock()
		if err != nil || sc == nil || sc.companyID != cid {
			writeV2Error(c.w, http.StatusNotFound, "Project not found")
			return 0, 0, false
		}
		return 0, pid, true
	}
	return cid, 0, true
}

// writeV2Error writes the v2.x standard error {"error":{"code":
// "NOT_FOUND","message",…}}.
func writeV2Error(w http.ResponseWriter, status int, msg string) {
	code := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "details": []any{}}})
}

func strID(v int64) any {
	if v == 0 {
		return nil
	}
	return itoa(v)
}

func (wh *webhookState) hookJSONV2(h *hook, companyID int64) map[string]any {
	n := 0
	for _, t := range wh.triggers {
		if t.HookID == h.ID {
			n++
		}
	}
	status := h.Status
	if status == "" {
		status = "active"
	}
	cid := h.CompanyID
	if cid == 0 {
		cid = companyID
	}
	return map[string]any{"id": itoa(h.ID), "status": status, "payload_version": h.APIVersion, "namespace": h.Namespace,
		"destination_headers": maskAuth(h.Headers), "destination_url": h.DestinationURL, "trigger_count": n,
		"company_id": strID(cid), "project_id": strID(h.ProjectID), "created_at": ts(h.CreatedAt), "updated_at": ts(h.UpdatedAt)}
}

func triggerJSONV2(t *trigger) map[string]any {
	return map[string]any{"id": itoa(t.ID), "webhook_hook_id": itoa(t.HookID), "resource_name": t.ResourceName,
		"event_type": t.EventType, "company_id": strID(t.CompanyID), "project_id": strID(t.ProjectID)}
}

// hookV2 resolves {param} to a hook of the path's scope.
func (c *call) hookV2(param string) (*hook, int64) {
	cid, pid, ok := c.v2Scope()
	if !ok {
		return nil, 0
	}
	id, _ := strconv.ParseInt(c.r.PathValue(param), 10, 64)
	wh := c.s.webhooks()
	wh.mu.Lock()
	h := wh.hooks[id]
	wh.mu.Unlock()
	if h == nil || h.CompanyID != cid || h.ProjectID != pid {
		writeV2Error(c.w, http.StatusNotFound, "Hook not found")
		return nil, 0
	}
	return h, c.companyID
}

// applyHookBody sets the hook fields present in body; it reports a
// validation failure (already written) as false.
func (c *call) applyHookBody(h *hook, body map[string]any, create bool) bool {
	if v, ok := str(body, "payload_version"); ok || create {
		switch v {
		case "v2.0", "v3.0", "v4.0":
			h.APIVersion = v
		default:
			writeV2Error(c.w, http.StatusBadRequest, "payload_version must be v2.0, v3.0 or v4.0")
			return false
		}
	}
	if v, ok := str(body, "namespace"); ok || create {
		if v == "" {
			writeV2Error(c.w, http.StatusBadRequest, "namespace is required")
			return false
		}
		h.Namespace = v
	}
	if v, ok := str(body, "destination_url"); ok || create {
		if !strings.HasPrefix(v, "http") {
			writeV2Error(c.w, http.StatusBadRequest, "destination_url must be an http(s) URL")
			return false
		}
		h.DestinationURL = v
	}
	if hdrs := obj(body, "destination_headers"); hdrs != nil {
		h.Headers = map[string]string{}
		for k, v := range hdrs {
			if sv, ok := v.(string); ok {
				h.Headers[k] = sv
			}
		}
	}
	if v, ok := str(body, "status"); ok {
		if v != "active" && v != "disabled" {
			writeV2Error(c.w, http.StatusBadRequest, "status must be active or disabled")
			return false
		}
		h.Status = v
	}
	return true
}

func (c *call) createHookV2() {
	cid, pid, ok := c.v2Scope()
	if !ok {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	now := c.s.now()
	h := &hook{CompanyID: cid, ProjectID: pid, UserID: c.token.UserID, Headers: map[string]string{}, Status: "active",
		CreatedAt: now, UpdatedAt: now}
	if !c.applyHookBody(h, f, true) {
		return
	}
	wh := c.s.webhooks()
	c.s.mu.Lock()
	h.ID = c.s.newID()
	c.s.mu.Unlock()
	wh.mu.Lock()
	wh.hooks[h.ID] = h
	out := wh.hookJSONV2(h, c.companyID)
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusCreated, map[string]any{"data": out})
}

func (c *call) listHooksV2() {
	cid, pid, ok := c.v2Scope()
	if !ok {
		return
	}
	q := c.r.URL.Query()
	wh := c.s.webhooks()
	wh.mu.Lock()
	var list []*hook
	for _, h := range wh.hooks {
		if h.CompanyID == cid && h.ProjectID == pid && (q.Get("namespace") == "" || q.Get("namespace") == h.Namespace) &&
			(q.Get("payload_version") == "" || q.Get("payload_version") == h.APIVersion) {
			list = append(list, h)
		}
	}
	wh.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	lo, hi, ok := c.paginateV2(len(list))
	if !ok {
		return
	}
	out := []any{}
	wh.mu.Lock()
	for _, h := range list[lo:hi] {
		out = append(out, wh.hookJSONV2(h, c.companyID))
	}
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

// paginateV2 paginates as v2.x does: default 10 per page, at most 100.
func (c *call) paginateV2(n int) (lo, hi int, ok bool) {
	q := c.r.URL.Query()
	if v := q.Get("per_page"); v == "" {
		q.Set("per_page", "10")
	} else if p, err := strconv.Atoi(v); err == nil && p > 100 {
		q.Set("per_page", "100")
	}
	c.r.URL.RawQuery = q.Encode()
	return c.paginate(n)
}

func (c *call) getHookV2() {
	h, company := c.hookV2("id")
	if h == nil {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	out := wh.hookJSONV2(h, company)
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

func (c *call) patchHookV2() {
	h, company := c.hookV2("id")
	if h == nil {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	updated := *h
	wh.mu.Unlock()
	if !c.applyHookBody(&updated, f, false) {
		return
	}
	updated.UpdatedAt = c.s.now()
	wh.mu.Lock()
	*h = updated
	out := wh.hookJSONV2(h, company)
	wh.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

func (c *call) deleteHookV2() {
	h, _ := c.hookV2("id")
	if h == nil {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	delete(wh.hooks, h.ID)
	for id, t := range wh.triggers {
		if t.HookID == h.ID {
			delete(wh.triggers, id)
		}
	}
	wh.mu.Unlock()
	c.w.WriteHeader(http.StatusNoContent)
}

func (c *call) listTriggersV2() {
	h, _ := c.hookV2("hook_id")
	if h == nil {
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	var list []*trigger
	for _, t := range wh.triggers {
		if t.HookID == h.ID {
			list = append(list, t)
		}
	}
	wh.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	lo, hi, ok := c.paginateV2(len(list))
	if !ok {
		return
	}
	out := []any{}
	for _, t := range list[lo:hi] {
		out = append(out, triggerJSONV2(t))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

// newTriggerV2 validates and stores one trigger; it returns the trigger
// or the reason it was refused.
func (c *call) newTriggerV2(h *hook, body map[string]any) (*trigger, string) {
	t := &trigger{HookID: h.ID, CompanyID: h.CompanyID, ProjectID: h.ProjectID, UserID: c.token.UserID}
	t.ResourceName, _ = str(body, "resource_name")
	ev, _ := str(body, "event_type")
	t.EventType = strings.ToLower(ev)
	if t.ResourceName == "" || (t.EventType != "create" && t.EventType != "update" && t.EventType != "delete") {
		return nil, "resource_name and event_type (create, update, delete) are required"
	}
	if r, ok := webhookResources[t.ResourceName]; !ok || (!r.project && h.ProjectID != 0) || slices.Contains(r.except, t.EventType) {
		return nil, "Resource " + t.ResourceName + " cannot be subscribed to for " + t.EventType + " events in this scope"
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	defer wh.mu.Unlock()
	for _, o := range wh.triggers {
		if o.HookID == h.ID && o.ResourceName == t.ResourceName && o.EventType == t.EventType {
			return nil, "Trigger already exists"
		}
	}
	c.s.mu.Lock()
	t.ID = c.s.newID()
	c.s.mu.Unlock()
	wh.triggers[t.ID] = t
	return t, ""
}

func (c *call) createTriggerV2() {
	h, _ := c.hookV2("hook_id")
	if h == nil {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	t, why := c.newTriggerV2(h, f)
	if t == nil {
		writeV2Error(c.w, http.StatusBadRequest, why)
		return
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"data": triggerJSONV2(t)})
}

// bulkCreateTriggersV2 takes a JSON array of {resource_name, event_type}:
// 201 when all were created, 207 with data and errors when some failed,
// 413 beyond MaxBulkTriggers.
func (c *call) bulkCreateTriggersV2() {
	h, _ := c.hookV2("hook_id")
	if h == nil {
		return
	}
	var items []map[string]any
	if err := json.Unmarshal(c.body, &items); err != nil {
		writeV2Error(c.w, http.StatusBadRequest, "body must be a JSON array of triggers")
		return
	}
	if len(items) > MaxBulkTriggers {
		writeV2Error(c.w, http.StatusRequestEntityTooLarge, "at most "+strconv.Itoa(MaxBulkTriggers)+" triggers per request")
		return
	}
	created, failed := []any{}, []any{}
	for _, it := range items {
		if t, why := c.newTriggerV2(h, it); t != nil {
			created = append(created, triggerJSONV2(t))
		} else {
			failed = append(failed, map[string]any{"trigger": it, "errors": []string{why}})
		}
	}
	if len(failed) > 0 {
		writeJSON(c.w, http.StatusMultiStatus, map[string]any{"data": created, "errors": failed})
		return
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"data": created})
}

// bulkDeleteTriggersV2 takes a JSON array of trigger IDs: 200 with
// data.succeeded, 207 with errors for unknown IDs.
func (c *call) bulkDeleteTriggersV2() {
	h, _ := c.hookV2("hook_id")
	if h == nil {
		return
	}
	var ids []string
	if err := json.Unmarshal(c.body, &ids); err != nil {
		writeV2Error(c.w, http.StatusBadRequest, "body must be a JSON array of trigger IDs")
		return
	}
	if len(ids) > MaxBulkTriggers {
		writeV2Error(c.w, http.StatusRequestEntityTooLarge, "at most "+strconv.Itoa(MaxBulkTriggers)+" triggers per request")
		return
	}
	wh := c.s.webhooks()
	wh.mu.Lock()
	succeeded, failed := []string{}, []any{}
	for _, raw := range ids {
		id, _ := strconv.ParseInt(raw, 10, 64)
		if t := wh.triggers[id]; t != nil && t.HookID == h.ID {
			delete(wh.triggers, id)
			succeeded = append(succeeded, raw)
		} else {
			failed = append(failed, map[string]any{"id": raw, "errors": []string{"Trigger not found"}})
		}
	}
	wh.mu.Unlock()
	if len(failed) > 0 {
		writeJSON(c.w, http.StatusMultiStatus, map[string]any{"data": map[string]any{"succeeded": succeeded}, "errors": failed})
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"succeeded": succeeded}})
}

func (c *call) deleteTriggerV2() {
	h, _ := c.hookV2("hook_id")
	if h == nil {
		return
	}
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	wh := c.s.webhooks()
	wh.mu.Lock()
	t := wh.triggers[id]
	if t != nil && t.HookID == h.ID {
		delete(wh.triggers, id)
	}
	wh.mu.Unlock()
	if t == nil || t.HookID != h.ID {
		writeV2Error(c.w, http.StatusNotFound, "Trigger not found")
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// listDeliveriesV2 filters on filter[status] (succeeded, failed, …),
// filter[resource_name], filter[event_type], and pages with page/per_page.
func (c *call) listDeliveriesV2() {
	h, _ := c.hookV2("hook_id")
	if h == nil {
		return
	}
	q := c.r.URL.Query()
	status := map[string]string{"ok": "delivered", "discarded": "discarded", "retried": "retrying"}
	want := map[string]string{"succeeded": "delivered", "failed": "failed", "retrying": "retrying",
		"discarded": "discarded", "enqueued": "enqueued"}[q.Get("filter[status]")]
	wh := c.s.webhooks()
	wh.mu.Lock()
	var list []map[string]any
	for _, d := range wh.deliveries {
		st := status[d.Outcome]
		if d.HookID != h.ID || (want != "" && st != want) ||
			(q.Get("filter[resource_name]") != "" && d.Event["resource_name"] != q.Get("filter[resource_name]")) ||
			(q.Get("filter[event_type]") != "" && d.Event["event_type"] != q.Get("filter[event_type]")) {
			continue
		}
		attempts := []any{}
		for i, a := range d.tries {
			attempts = append(attempts, map[string]any{"attempt": i + 1, "response_status": a.Status, "attempted_at": ts(a.At)})
		}
		list = append(list, map[string]any{"id": itoa(d.EventID), "status": st, "payload": d.Event, "delivery_attempts": attempts})
	}
	wh.mu.Unlock()
	lo, hi, ok := c.paginateV2(len(list))
	if !ok {
		return
	}
	out := []any{}
	for _, d := range list[lo:hi] {
		out = append(out, d)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

// webhookResource is one resource webhooks can be subscribed to.
type webhookResource struct {
	category, tool string
	project        bool     // project scope (else company scope)
	except         []string // event types that cannot be subscribed to
}

// webhookResources are the resources the fake offers: those this SDK
// syncs, with the event types of a third-party sandbox listing
// (unconfirmed against a live tenant).
var webhookResources = map[string]webhookResource{
	"Project Folders":       {"Project Management", "Documents", true, nil},
	"Project Files":         {"Project Management", "Documents", true, nil},
	"Project File Versions": {"Project Management", "Documents", true, nil},
	"Images":                {"Project Management", "Photos", true, nil},
	"Image Categories":      {"Project Management", "Photos", true, nil},
	"Company Folders":       {"Company Admin", "Documents", false, nil},
	"Company Files":         {"Company Admin", "Documents", false, nil},
	"Company File Versions": {"Company Admin", "Documents", false, nil},
	"Projects":              {"Company Admin", "Portfolio", false, []string{"delete"}},
	"Company Users":         {"Company Admin", "Directory", false, []string{"delete"}},
}

// listResourcesV2 lists the scope's resources for payload_version
// (required). Each action is an object {"event_type": …} (the endpoint
// description collapses the action items).
func (c *call) listResourcesV2() {
	_, pid, ok := c.v2Scope()
	if !ok {
		return
	}
	pv := c.r.URL.Query().Get("payload_version")
	if pv != "v2.0" && pv != "v3.0" && pv != "v4.0" {
		writeV2Error(c.w, http.StatusBadRequest, "payload_version is required (v2.0, v3.0 or v4.0)")
		return
	}
	names := make([]string, 0, len(webhookResources))
	for n, r := range webhookResources {
		// A company-scoped hook also takes the project tools' resources:
		// their events come from every project of the company.
		if r.project || pid == 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	lo, hi, ok := c.paginateV2(len(names))
	if !ok {
		return
	}
	out := []any{}
	for _, n := range names[lo:hi] {
		r := webhookResources[n]
		actions := []any{}
		for _, ev := range []string{"create", "update", "delete"} {
			if !slices.Contains(r.except, ev) {
				actions = append(actions, map[string]any{"event_type": ev})
			}
		}
		out = append(out, map[string]any{"category": r.category, "tool": r.tool, "name": n, "payload_version": pv, "actions": actions})
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": out})
}

// listResourcesV1 answers GET /rest/v1.0/webhooks/resources: one item per
// resource of the scope, naming it in tools and its subscribable event
// types in create, update and delete (the endpoint description gives
// these fields as strings; their exact values are unconfirmed).
func (c *call) listResourcesV1() {
	q := c.r.URL.Query()
	_, pid, ok := c.webhookScope(q.Get("company_id"), q.Get("project_id"))
	if !ok {
		return
	}
	names := make([]string, 0, len(webhookResources))
	for n, r := range webhookResources {
		// A company-scoped hook also takes the project tools' resources:
		// their events come from every project of the company.
		if r.project || pid == 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := []any{}
	for _, n := range names {
		r := webhookResources[n]
		item := map[string]any{"api_version": "v2.0", "product_category": r.category, "tools": n, "except": append([]string{}, r.except...)}
		for _, ev := range []string{"create", "update", "delete"} {
			if !slices.Contains(r.except, ev) {
				item[ev] = ev
			}
		}
		out = append(out, item)
	}
	writeJSON(c.w, http.StatusOK, out)
}
