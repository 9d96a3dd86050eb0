package procoretest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhooks (research note §21): v1.0 hooks, triggers and deliveries, and
// an outbound dispatcher that POSTs events to a hook's destination and
// retries failed deliveries with exponential backoff.

type hook struct {
	ID                   int64
	CompanyID, ProjectID int64 // one is set: the hook's scope
	UserID               int64
	APIVersion           string // payload version: v2.0, v3.0, v4.0
	Namespace            string
	DestinationURL       string
	Headers              map[string]string
}

type trigger struct {
	ID, HookID           int64
	ResourceName         string
	EventType            string // lower case
	CompanyID, ProjectID int64
	UserID               int64
}

type delivery struct {
	ID, HookID int64 // ID is the event id

	Event          map[string]any
	Outcome        string // ok, retried, failed
	ResponseStatus int
	Attempts       int
	Started, Done  time.Time
}

type webhookState struct {
	mu         sync.Mutex
	hooks      map[int64]*hook
	triggers   map[int64]*trigger
	deliveries []*delivery
	wg         sync.WaitGroup
	client     *http.Client
}

// WebhookRetry configures the dispatcher's retries (real time): the first
// retry waits Base, each next one twice as long, up to Attempts attempts.
// The defaults (1 s, 6 attempts) follow Procore's exponential backoff from
// 1 s; tests shorten them.
type WebhookRetry struct {
	Base     time.Duration
	Attempts int
}

func (s *Server) webhooks() *webhookState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wh == nil {
		s.wh = &webhookState{hooks: map[int64]*hook{}, triggers: map[int64]*trigger{}, client: &http.Client{Timeout: 5 * time.Second}}
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
	return map[string]any{"id": h.ID, "api_version": h.APIVersion, "destination_headers": maskAuth(h.Headers),
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
	h := &hook{CompanyID: cid, ProjectID: pid, UserID: c.token.UserID, Headers: map[string]string{}}
	h.APIVersion, _ = str(body, "api_version")
	h.Namespace, _ = str(body, "namespace")
	h.DestinationURL, _ = str(body, "destination_url")
	for k, v := range obj(body, "destination_headers") {
		if sv, ok := v.(string); ok {
			h.Headers[k] = sv
		}
	}
	switch h.APIVersion {
	case "", "v2":
		h.APIVersion = "v2.0"
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

// listDeliveries pages with page_size and page_start (the last event_id
// of the previous page), as the v1.0 deliveries endpoint does.
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
	wh := c.s.webhooks()
	wh.mu.Lock()
	out := []any{}
	for _, d := range wh.deliveries {
		if d.HookID != h.ID || d.ID <= start || len(out) >= size {
			continue
		}
		if (status == "successful" && d.Outcome != "ok") || (status == "failing" && d.Outcome == "ok") {
			continue
		}
		out = append(out, map[string]any{"event": d.Event, "event_id": d.ID, "outcome": d.Outcome,
			"response_status": d.ResponseStatus, "response_headers": map[string]any{}, "response_body": "",
			"response_error": nil, "started_at": ts(d.Started), "completed_at": nullableTime(d.Done)})
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
		if !(h.ProjectID != 0 && h.ProjectID == projectID) && !(h.ProjectID == 0 && h.CompanyID == companyID) {
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
		d := &delivery{ID: eventID, HookID: h.ID, Event: payload, Outcome: "retried", Started: now}
		wh.deliveries = append(wh.deliveries, d)
		wh.wg.Add(1)
		go s.deliver(wh, h, d)
	}
}

// deliver POSTs one event, retrying with exponential backoff.
func (s *Server) deliver(wh *webhookState, h *hook, d *delivery) {
	defer wh.wg.Done()
	body, _ := json.Marshal(d.Event)
	retry := s.opts.WebhookRetry
	if retry.Base <= 0 {
		retry.Base = time.Second
	}
	if retry.Attempts <= 0 {
		retry.Attempts = 6
	}
	wait := retry.Base
	for attempt := 1; ; attempt++ {
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
		d.Attempts, d.ResponseStatus = attempt, status
		ok := err == nil && status/100 == 2
		if ok || attempt >= retry.Attempts {
			d.Outcome = map[bool]string{true: "ok", false: "failed"}[ok]
			d.Done = time.Now().UTC()
			wh.mu.Unlock()
			return
		}
		wh.mu.Unlock()
		time.Sleep(wait)
		wait *= 2
	}
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
