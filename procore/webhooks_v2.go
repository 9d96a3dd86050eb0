package procore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Webhooks v2.0: company- and project-scoped paths
// (/rest/v2.0/companies/{company_id}[/projects/{project_id}]/webhooks/…),
// bodies wrapped in {"data": …}, string IDs, page/per_page pagination
// (default 10, at most 100 per page).

// HookV2 is a webhook destination of the v2.0 API.
type HookV2 struct {
	ID             string `json:"id,omitempty"`
	Status         string `json:"status,omitempty"` // active or disabled
	PayloadVersion string `json:"payload_version"`  // v2.0, v3.0 or v4.0
	Namespace      string `json:"namespace"`
	DestinationURL string `json:"destination_url"`
	// DestinationHeaders holds Authorization (masked to its last five
	// characters in responses).
	DestinationHeaders map[string]string `json:"destination_headers,omitempty"`
	TriggerCount       int               `json:"trigger_count,omitempty"`
	CompanyID          string            `json:"company_id,omitempty"`
	ProjectID          string            `json:"project_id,omitempty"`
	CreatedAt          Timestamp         `json:"created_at"`
	UpdatedAt          Timestamp         `json:"updated_at"`
}

// HookV2Update changes a hook; empty fields are left as they are.
type HookV2Update struct {
	PayloadVersion string `json:"payload_version,omitempty"`
	Namespace      string `json:"namespace,omitempty"`
	DestinationURL string `json:"destination_url,omitempty"`
	// Authorization, when not empty, replaces destination_headers.
	Authorization string `json:"-"`
	Status        string `json:"status,omitempty"` // active or disabled
}

// TriggerV2 subscribes a v2.0 hook to one resource and event type.
type TriggerV2 struct {
	ID           string `json:"id,omitempty"`
	HookID       string `json:"webhook_hook_id,omitempty"`
	ResourceName string `json:"resource_name"`
	EventType    string `json:"event_type"` // create, update or delete
	CompanyID    string `json:"company_id,omitempty"`
	ProjectID    string `json:"project_id,omitempty"`
}

// DeliveryV2 is one event delivery of a v2.0 hook.
type DeliveryV2 struct {
	ID               string            `json:"id"`     // the event id
	Status           string            `json:"status"` // delivered, failed, discarded, enqueued, retrying
	Payload          json.RawMessage   `json:"payload"`
	DeliveryAttempts []json.RawMessage `json:"delivery_attempts"`
}

// DeliveryListOptions filter a v2.0 deliveries listing.
type DeliveryListOptions struct {
	ListOptions
	Status       string // succeeded, failed, discarded, enqueued or retrying ("" for all)
	ResourceName string
	EventType    string
	Start, End   string // yyyy-mm-dd
}

// WebhookResource is a resource hooks can subscribe to
// (GET …/webhooks/resources).
type WebhookResource struct {
	Category       string `json:"category"`
	Tool           string `json:"tool"`
	Name           string `json:"name"`
	PayloadVersion string `json:"payload_version"`
	// Actions are the event types that can be subscribed to. Procore's
	// description does not give their shape; see EventTypes.
	Actions []json.RawMessage `json:"actions"`
}

// EventTypes returns the subscribable event types of Actions, read
// leniently: a string, or an object with event_type, name or action.
func (r WebhookResource) EventTypes() []string {
	var out []string
	for _, raw := range r.Actions {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, strings.ToLower(s))
			continue
		}
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		for _, k := range []string{"event_type", "name", "action"} {
			if v, ok := m[k].(string); ok && v != "" {
				out = append(out, strings.ToLower(v))
				break
			}
		}
	}
	return out
}

// BulkTriggerError reports the triggers a bulk call could not create or
// delete (HTTP 207). The call's other items succeeded.
type BulkTriggerError struct {
	// Failed holds the raw error items of the response.
	Failed []json.RawMessage
}

// Error says how many items failed.
func (e *BulkTriggerError) Error() string {
	return fmt.Sprintf("procore: webhooks bulk triggers: %d item(s) failed", len(e.Failed))
}

// ErrWebhookScope is returned for a WebhookScope without a company or a
// project.
var ErrWebhookScope = errors.New("procore: webhook scope needs a company or a project")

// v2Path is the v2.0 webhooks prefix of the scope. A project scope
// without CompanyID uses the Client's company.
func (s *WebhooksService) v2Path(sc WebhookScope) (string, error) {
	cid := sc.CompanyID
	if cid == 0 {
		cid = s.c.CompanyID
	}
	switch {
	case sc.ProjectID < 0 || cid <= 0:
		return "", ErrWebhookScope
	case sc.ProjectID > 0:
		return "/rest/v2.0/companies/" + itoa(cid) + "/projects/" + itoa(sc.ProjectID) + "/webhooks", nil
	}
	return "/rest/v2.0/companies/" + itoa(cid) + "/webhooks", nil
}

// pathID checks an ID that goes into a path.
func pathID(id string) error {
	if id == "" || strings.ContainsAny(id, "/?#%") {
		return fmt.Errorf("procore: invalid webhook id %q", id)
	}
	return nil
}

// sendV2 sends a v2.0 request and unwraps {"data": …} into v.
func (s *WebhooksService) sendV2(ctx context.Context, method, path string, body, v any) (*Response, error) {
	var env struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	resp, err := s.c.send(ctx, method, path, body, &env)
	if err != nil {
		return resp, err
	}
	if v != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, v); err != nil {
			return resp, fmt.Errorf("%w: %s %s: %v", ErrMalformedResponse, method, strings.SplitN(path, "?", 2)[0], err)
		}
	}
	if resp.StatusCode == http.StatusMultiStatus {
		return resp, &BulkTriggerError{Failed: env.Errors}
	}
	return resp, nil
}

// CreateHookV2 registers a hook. authorization, when not empty, is sent
// by Procore as the Authorization header of each delivery.
func (s *WebhooksService) CreateHookV2(ctx context.Context, sc WebhookScope, namespace, destination, authorization, payloadVersion string) (*HookV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err != nil {
		return nil, nil, err
	}
	if payloadVersion == "" {
		payloadVersion = "v2.0"
	}
	body := map[string]any{"payload_version": payloadVersion, "namespace": namespace, "destination_url": destination}
	if authorization != "" {
		body["destination_headers"] = map[string]string{"Authorization": authorization}
	}
	var out HookV2
	resp, err := s.sendV2(ctx, http.MethodPost, p+"/hooks", body, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListHooksV2 returns one page of the scope's hooks (namespace and
// payloadVersion "" for all).
func (s *WebhooksService) ListHooksV2(ctx context.Context, sc WebhookScope, namespace, payloadVersion string, opts *ListOptions) ([]HookV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	opts.apply(q)
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	if payloadVersion != "" {
		q.Set("payload_version", payloadVersion)
	}
	var out []HookV2
	resp, err := s.sendV2(ctx, http.MethodGet, withQuery(p+"/hooks", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// GetHookV2 returns one hook.
func (s *WebhooksService) GetHookV2(ctx context.Context, sc WebhookScope, id string) (*HookV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(id)
	}
	if err != nil {
		return nil, nil, err
	}
	var out HookV2
	resp, err := s.sendV2(ctx, http.MethodGet, p+"/hooks/"+id, nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// UpdateHookV2 changes a hook (e.g. Status "disabled" pauses deliveries).
func (s *WebhooksService) UpdateHookV2(ctx context.Context, sc WebhookScope, id string, u HookV2Update) (*HookV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(id)
	}
	if err != nil {
		return nil, nil, err
	}
	body := map[string]any{}
	for k, v := range map[string]string{"payload_version": u.PayloadVersion, "namespace": u.Namespace,
		"destination_url": u.DestinationURL, "status": u.Status} {
		if v != "" {
			body[k] = v
		}
	}
	if u.Authorization != "" {
		body["destination_headers"] = map[string]string{"Authorization": u.Authorization}
	}
	var out HookV2
	resp, err := s.sendV2(ctx, http.MethodPatch, p+"/hooks/"+id, body, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// DeleteHookV2 removes a hook and its triggers.
func (s *WebhooksService) DeleteHookV2(ctx context.Context, sc WebhookScope, id string) (*Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(id)
	}
	if err != nil {
		return nil, err
	}
	return s.sendV2(ctx, http.MethodDelete, p+"/hooks/"+id, nil, nil)
}

// ListTriggersV2 returns one page of a hook's triggers.
func (s *WebhooksService) ListTriggersV2(ctx context.Context, sc WebhookScope, hookID string, opts *ListOptions) ([]TriggerV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(hookID)
	}
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	opts.apply(q)
	var out []TriggerV2
	resp, err := s.sendV2(ctx, http.MethodGet, withQuery(p+"/hooks/"+hookID+"/triggers", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// allTriggersV2 reads every page of a hook's triggers.
func (s *WebhooksService) allTriggersV2(ctx context.Context, sc WebhookScope, hookID string) ([]TriggerV2, error) {
	var all []TriggerV2
	for t, err := range paginate(ctx, 1, func(page int) ([]TriggerV2, *Response, error) {
		return s.ListTriggersV2(ctx, sc, hookID, &ListOptions{Page: page, PerPage: 100})
	}) {
		if err != nil {
			return nil, err
		}
		all = append(all, t)
	}
	return all, nil
}

// CreateTriggerV2 adds one trigger to a hook.
func (s *WebhooksService) CreateTriggerV2(ctx context.Context, sc WebhookScope, hookID, resourceName, eventType string) (*TriggerV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(hookID)
	}
	if err != nil {
		return nil, nil, err
	}
	var out TriggerV2
	resp, err := s.sendV2(ctx, http.MethodPost, p+"/hooks/"+hookID+"/triggers",
		map[string]string{"resource_name": resourceName, "event_type": eventType}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// MaxBulkTriggers is the most triggers one bulk call carries (Procore:
// "Max 500 triggers"; more gives 413). Bulk methods split larger lists.
const MaxBulkTriggers = 500

// CreateTriggersBulk adds triggers in as few calls as possible. When some
// fail (HTTP 207) the created ones are returned with a *BulkTriggerError.
func (s *WebhooksService) CreateTriggersBulk(ctx context.Context, sc WebhookScope, hookID string, triggers []TriggerV2) ([]TriggerV2, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(hookID)
	}
	if err != nil {
		return nil, err
	}
	var created []TriggerV2
	var failed []json.RawMessage
	for start := 0; start < len(triggers); start += MaxBulkTriggers {
		chunk := triggers[start:min(start+MaxBulkTriggers, len(triggers))]
		body := make([]map[string]string, len(chunk))
		for i, t := range chunk {
			body[i] = map[string]string{"resource_name": t.ResourceName, "event_type": t.EventType}
		}
		var out []TriggerV2
		_, err := s.sendV2(ctx, http.MethodPost, p+"/hooks/"+hookID+"/triggers/bulk", body, &out)
		created = append(created, out...)
		var be *BulkTriggerError
		if errors.As(err, &be) {
			failed = append(failed, be.Failed...)
		} else if err != nil {
			return created, err
		}
	}
	if len(failed) > 0 {
		return created, &BulkTriggerError{Failed: failed}
	}
	return created, nil
}

// DeleteTriggersBulk removes triggers by ID and returns the IDs deleted.
// When some fail (HTTP 207) a *BulkTriggerError comes with them.
func (s *WebhooksService) DeleteTriggersBulk(ctx context.Context, sc WebhookScope, hookID string, ids []string) ([]string, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(hookID)
	}
	if err != nil {
		return nil, err
	}
	var deleted []string
	var failed []json.RawMessage
	for start := 0; start < len(ids); start += MaxBulkTriggers {
		var out struct {
			Succeeded []string `json:"succeeded"`
		}
		_, err := s.sendV2(ctx, http.MethodDelete, p+"/hooks/"+hookID+"/triggers/bulk", ids[start:min(start+MaxBulkTriggers, len(ids))], &out)
		deleted = append(deleted, out.Succeeded...)
		var be *BulkTriggerError
		if errors.As(err, &be) {
			failed = append(failed, be.Failed...)
		} else if err != nil {
			return deleted, err
		}
	}
	if len(failed) > 0 {
		return deleted, &BulkTriggerError{Failed: failed}
	}
	return deleted, nil
}

// DeleteTriggerV2 removes one trigger.
func (s *WebhooksService) DeleteTriggerV2(ctx context.Context, sc WebhookScope, hookID, id string) (*Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(hookID)
	}
	if err == nil {
		err = pathID(id)
	}
	if err != nil {
		return nil, err
	}
	return s.sendV2(ctx, http.MethodDelete, p+"/hooks/"+hookID+"/triggers/"+id, nil, nil)
}

// ListDeliveriesV2 returns one page of a hook's deliveries.
func (s *WebhooksService) ListDeliveriesV2(ctx context.Context, sc WebhookScope, hookID string, opts *DeliveryListOptions) ([]DeliveryV2, *Response, error) {
	p, err := s.v2Path(sc)
	if err == nil {
		err = pathID(hookID)
	}
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.apply(q)
		for k, v := range map[string]string{"filter[status]": opts.Status, "filter[resource_name]": opts.ResourceName,
			"filter[event_type]": opts.EventType, "filter[start]": opts.Start, "filter[end]": opts.End} {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	var out []DeliveryV2
	resp, err := s.sendV2(ctx, http.MethodGet, withQuery(p+"/hooks/"+hookID+"/deliveries", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// ListResources returns one page of the resources the scope's hooks can
// subscribe to, for payloadVersion (default v2.0). This is the
// authoritative list of resource names.
func (s *WebhooksService) ListResources(ctx context.Context, sc WebhookScope, payloadVersion string, opts *ListOptions) ([]WebhookResource, *Response, error) {
	p, err := s.v2Path(sc)
	if err != nil {
		return nil, nil, err
	}
	if payloadVersion == "" {
		payloadVersion = "v2.0"
	}
	q := url.Values{"payload_version": {payloadVersion}}
	opts.apply(q)
	var out []WebhookResource
	resp, err := s.sendV2(ctx, http.MethodGet, withQuery(p+"/resources", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// AllResources reads every page of ListResources.
func (s *WebhooksService) AllResources(ctx context.Context, sc WebhookScope, payloadVersion string) ([]WebhookResource, error) {
	var all []WebhookResource
	for r, err := range paginate(ctx, 1, func(page int) ([]WebhookResource, *Response, error) {
		return s.ListResources(ctx, sc, payloadVersion, &ListOptions{Page: page, PerPage: 100})
	}) {
		if err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	return all, nil
}

// UnsubscribableError lists the resources (and event types) RegisterHook
// left out because GET …/webhooks/resources does not offer them in the
// scope. The hook was registered for the rest.
type UnsubscribableError struct {
	Missing []string // "resource/event"
}

// Error lists what is missing.
func (e *UnsubscribableError) Error() string {
	return "procore: webhooks: not subscribable in this scope: " + strings.Join(e.Missing, ", ")
}

// RegisterHookV2 makes sure a v2.0 hook of namespace exists in the scope
// and matches the configuration: it delivers to destination, with
// authorization as its Authorization header (destination_headers), in
// payloadVersion, active, and subscribed to exactly create, update and
// delete of each resource. Hooks are found by namespace (one per app and
// scope; the one delivering to destination is preferred), the resource
// list (GET …/webhooks/resources) says which resource names and event
// types exist, missing triggers are added in one bulk call and triggers
// of other resources are removed in one bulk call.
//
// An existing hook is reconciled: its destination, payload version and
// status are patched when they differ, and its Authorization header is
// patched whenever authorization is not empty, since Procore masks it in
// responses and a rotated secret cannot be told from the old one
// otherwise (a hook delivering the old secret would have every delivery
// refused). Calling it again is cheap and safe (5 calls when nothing is
// missing). Resources or event types the scope does not offer are skipped
// and reported with an *UnsubscribableError next to the hook.
func (s *WebhooksService) RegisterHookV2(ctx context.Context, sc WebhookScope, namespace, destination, authorization, payloadVersion string, resources []string) (*HookV2, error) {
	if payloadVersion == "" {
		payloadVersion = "v2.0"
	}
	if namespace == "" || destination == "" {
		return nil, errors.New("procore: RegisterHook needs a namespace and a destination")
	}
	var h *HookV2
	var found []HookV2
	for page := 1; page <= maxPages; page++ {
		hooks, resp, err := s.ListHooksV2(ctx, sc, namespace, "", &ListOptions{Page: page, PerPage: 100})
		if err != nil {
			return nil, err
		}
		found = append(found, hooks...)
		if resp.NextPage <= page || len(hooks) == 0 {
			break
		}
	}
	for i := range found {
		if found[i].Namespace != namespace {
			continue
		}
		if h == nil || (found[i].DestinationURL == destination && h.DestinationURL != destination) {
			h = &found[i]
		}
	}
	if h == nil {
		nh, _, err := s.CreateHookV2(ctx, sc, namespace, destination, authorization, payloadVersion)
		if err != nil {
			return nil, err
		}
		h = nh
	} else {
		u := HookV2Update{Authorization: authorization}
		if h.DestinationURL != destination {
			u.DestinationURL = destination
		}
		if h.PayloadVersion != payloadVersion {
			u.PayloadVersion = payloadVersion
		}
		if h.Status == "disabled" {
			u.Status = "active"
		}
		if u != (HookV2Update{}) {
			uh, _, err := s.UpdateHookV2(ctx, sc, h.ID, u)
			if err != nil {
				return nil, err
			}
			h = uh
		}
	}
	offered, err := s.AllResources(ctx, sc, payloadVersion)
	if err != nil {
		return nil, err
	}
	events := map[string][]string{}
	for _, r := range offered {
		events[r.Name] = r.EventTypes()
	}
	existing, err := s.allTriggersV2(ctx, sc, h.ID)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, t := range existing {
		have[t.ResourceName+"\x00"+strings.ToLower(t.EventType)] = true
	}
	wanted := map[string]bool{}
	var want []TriggerV2
	var missing []string
	for _, r := range resources {
		evs, known := events[r]
		for _, ev := range []string{"create", "update", "delete"} {
			wanted[r+"\x00"+ev] = true
			switch {
			case have[r+"\x00"+ev]:
			case !known || !containsStr(evs, ev):
				missing = append(missing, r+"/"+ev)
			default:
				want = append(want, TriggerV2{ResourceName: r, EventType: ev})
			}
		}
	}
	var extra []string
	for _, t := range existing {
		if !wanted[t.ResourceName+"\x00"+strings.ToLower(t.EventType)] && t.ID != "" {
			extra = append(extra, t.ID)
		}
	}
	if len(extra) > 0 {
		if _, err := s.DeleteTriggersBulk(ctx, sc, h.ID, extra); err != nil {
			return nil, err
		}
	}
	if len(want) > 0 {
		if _, err := s.CreateTriggersBulk(ctx, sc, h.ID, want); err != nil {
			return nil, err
		}
	}
	h.TriggerCount = len(existing) - len(extra) + len(want)
	if len(missing) > 0 {
		return h, &UnsubscribableError{Missing: missing}
	}
	return h, nil
}

// maxPages bounds the hook pages RegisterHookV2 reads.
const maxPages = 100

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func withQuery(p string, q url.Values) string {
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// hookV1 converts a v2.0 hook to the v1.0 shape RegisterHook returns.
func hookV1(h *HookV2) *Hook {
	id, _ := strconv.ParseInt(h.ID, 10, 64)
	cid, _ := strconv.ParseInt(h.CompanyID, 10, 64)
	pid, _ := strconv.ParseInt(h.ProjectID, 10, 64)
	out := &Hook{ID: id, APIVersion: h.PayloadVersion, Namespace: h.Namespace, DestinationURL: h.DestinationURL,
		DestinationHeaders: h.DestinationHeaders, OwnedByProjectID: pid}
	if pid == 0 {
		out.OwnedByCompanyID = cid
	}
	return out
}
