package procore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WebhookScope says whether a hook belongs to a project or to the company
// (exactly one is set).
type WebhookScope struct {
	CompanyID, ProjectID int64
}

func (s WebhookScope) values() url.Values {
	if s.ProjectID != 0 {
		return url.Values{"project_id": {itoa(s.ProjectID)}}
	}
	return url.Values{"company_id": {itoa(s.CompanyID)}}
}

func (s WebhookScope) body(key string, v any) map[string]any {
	m := map[string]any{key: v}
	if s.ProjectID != 0 {
		m["project_id"] = s.ProjectID
	} else {
		m["company_id"] = s.CompanyID
	}
	return m
}

// Hook is a webhook destination (v1.0 API).
type Hook struct {
	ID                 int64             `json:"id,omitempty"`
	APIVersion         string            `json:"api_version"` // payload version: v2.0, v3.0 or v4.0
	Namespace          string            `json:"namespace"`
	DestinationURL     string            `json:"destination_url"`
	DestinationHeaders map[string]string `json:"destination_headers,omitempty"` // Authorization is masked in responses
	OwnedByCompanyID   int64             `json:"owned_by_company_id,omitempty"`
	OwnedByProjectID   int64             `json:"owned_by_project_id,omitempty"`
}

// Trigger subscribes a hook to one resource and event type.
type Trigger struct {
	ID           int64  `json:"id,omitempty"`
	HookID       int64  `json:"webhook_hook_id,omitempty"`
	ResourceName string `json:"resource_name"`
	EventType    string `json:"event_type"` // create, update, delete (responses use upper case)
}

// Delivery is one recorded delivery attempt series.
type Delivery struct {
	ID             int64           `json:"id"` // the delivery's id: the page_start cursor
	EventID        int64           `json:"event_id"`
	Event          json.RawMessage `json:"event"`
	Outcome        string          `json:"outcome"`
	ResponseStatus int             `json:"response_status"`
	StartedAt      Timestamp       `json:"started_at"`
	CompletedAt    Timestamp       `json:"completed_at"`
}

// WebhooksService manages hooks, triggers and deliveries.
type WebhooksService service

// CreateHook registers a hook.
func (s *WebhooksService) CreateHook(ctx context.Context, sc WebhookScope, h Hook) (*Hook, *Response, error) {
	var out Hook
	resp, err := s.c.send(ctx, http.MethodPost, "/rest/v1.0/webhooks/hooks", sc.body("hook", h), &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListHooks lists the scope's hooks (namespace "" for all).
func (s *WebhooksService) ListHooks(ctx context.Context, sc WebhookScope, namespace string) ([]Hook, *Response, error) {
	q := sc.values()
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	var out []Hook
	resp, err := s.c.get(ctx, "/rest/v1.0/webhooks/hooks?"+q.Encode(), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// DeleteHook removes a hook and its triggers.
func (s *WebhooksService) DeleteHook(ctx context.Context, sc WebhookScope, id int64) (*Response, error) {
	return s.c.send(ctx, http.MethodDelete, "/rest/v1.0/webhooks/hooks/"+itoa(id)+"?"+sc.values().Encode(), nil, nil)
}

// CreateTrigger adds a trigger to hook hookID.
func (s *WebhooksService) CreateTrigger(ctx context.Context, sc WebhookScope, hookID int64, apiVersion string, t Trigger) (*Trigger, *Response, error) {
	body := sc.body("trigger", map[string]string{"resource_name": t.ResourceName, "event_type": t.EventType})
	body["api_version"] = apiVersion
	var out Trigger
	resp, err := s.c.send(ctx, http.MethodPost, "/rest/v1.0/webhooks/hooks/"+itoa(hookID)+"/triggers", body, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListTriggers lists hook hookID's triggers.
func (s *WebhooksService) ListTriggers(ctx context.Context, sc WebhookScope, hookID int64) ([]Trigger, *Response, error) {
	var out []Trigger
	resp, err := s.c.get(ctx, "/rest/v1.0/webhooks/hooks/"+itoa(hookID)+"/triggers?"+sc.values().Encode(), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// ListDeliveries returns up to pageSize deliveries after delivery id
// pageStart (the v1.0 deliveries cursor: the last Delivery.ID of the
// previous page, which is not its EventID).
func (s *WebhooksService) ListDeliveries(ctx context.Context, sc WebhookScope, hookID int64, pageSize int, pageStart int64) ([]Delivery, *Response, error) {
	q := sc.values()
	if pageSize > 0 {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	if pageStart > 0 {
		q.Set("page_start", itoa(pageStart))
	}
	var out []Delivery
	resp, err := s.c.get(ctx, "/rest/v1.0/webhooks/hooks/"+itoa(hookID)+"/deliveries?"+q.Encode(), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// WebhookResourceV1 is an item of GET /rest/v1.0/webhooks/resources.
type WebhookResourceV1 struct {
	APIVersion      string   `json:"api_version"`
	ProductCategory string   `json:"product_category"`
	Tools           string   `json:"tools"`
	Except          []string `json:"except"` // event types that cannot be subscribed to
	Create          string   `json:"create"`
	Update          string   `json:"update"`
	Delete          string   `json:"delete"`
}

// ListResourcesV1 lists the resources hooks of the scope can subscribe to
// (GET /rest/v1.0/webhooks/resources).
func (s *WebhooksService) ListResourcesV1(ctx context.Context, sc WebhookScope) ([]WebhookResourceV1, *Response, error) {
	var out []WebhookResourceV1
	resp, err := s.c.get(ctx, "/rest/v1.0/webhooks/resources?"+sc.values().Encode(), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// DocumentResources are the webhook resource names of project Documents;
// CompanyDocumentResources those of company Documents; PhotoResources
// those of project Photos. GET …/webhooks/resources is the authority;
// these names come from a sandbox listing and are unconfirmed against a
// live tenant.
var (
	DocumentResources        = []string{"Project Folders", "Project Files", "Project File Versions"}
	CompanyDocumentResources = []string{"Company Folders", "Company Files", "Company File Versions"}
	PhotoResources           = []string{"Images", "Image Categories"}
)

// RegisterHook makes sure a hook of namespace delivering to destination
// exists in the scope, with create, update and delete triggers for each
// resource; existing hooks and triggers are reused, so calling it again is
// cheap and safe. authorization, when not empty, is sent by Procore as the
// Authorization header of each delivery (check it with
// Receiver.Authorization).
//
// It uses the current v2.0 endpoints (scoped paths, bulk triggers, and
// the resource list as the
// authority on resource names); see RegisterHookV2, whose
// *UnsubscribableError it passes on next to the hook. The returned Hook
// is the v2.0 hook in the v1.0 shape (v1.0 and v2.0 manage the same
// hooks, so its ID works with ListDeliveries and DeleteHook).
func (s *WebhooksService) RegisterHook(ctx context.Context, sc WebhookScope, namespace, destination, authorization, payloadVersion string, resources []string) (*Hook, error) {
	h, err := s.RegisterHookV2(ctx, sc, namespace, destination, authorization, payloadVersion, resources)
	if h == nil {
		return nil, err
	}
	return hookV1(h), err
}

// ---- receiver ----

// Event is a webhook delivery, normalised across payload versions v2.0,
// v3.0 (numeric ids, resource_name, event_type) and v4.0 (string ids,
// resource_type, reason).
type Event struct {
	ID           string // event id (or ulid when present, which is unique)
	CompanyID    int64
	ProjectID    int64
	UserID       int64
	ResourceName string
	ResourceID   int64
	EventType    string // create, update, delete, or a v4.0 reason
	Timestamp    time.Time
	APIVersion   string
}

// flexInt decodes a number or a numeric string (v4.0 ids are strings).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// ParseEvent decodes a delivery body of any payload version.
func ParseEvent(body []byte) (Event, error) {
	var p struct {
		ID           json.RawMessage `json:"id"`
		ULID         string          `json:"ulid"`
		Timestamp    Timestamp       `json:"timestamp"`
		UserID       flexInt         `json:"user_id"`
		CompanyID    flexInt         `json:"company_id"`
		ProjectID    flexInt         `json:"project_id"`
		APIVersion   string          `json:"api_version"`
		EventType    string          `json:"event_type"`
		Reason       string          `json:"reason"`
		ResourceName string          `json:"resource_name"`
		ResourceType string          `json:"resource_type"`
		ResourceID   flexInt         `json:"resource_id"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, errors.New("procore: malformed webhook payload")
	}
	e := Event{ID: strings.Trim(string(p.ID), `"`), CompanyID: int64(p.CompanyID), ProjectID: int64(p.ProjectID),
		UserID: int64(p.UserID), ResourceName: p.ResourceName, ResourceID: int64(p.ResourceID),
		EventType: strings.ToLower(p.EventType), Timestamp: p.Timestamp.Time, APIVersion: p.APIVersion}
	if p.ULID != "" {
		e.ID = p.ULID
	}
	if e.ResourceName == "" {
		e.ResourceName = p.ResourceType
		e.EventType = strings.ToLower(p.Reason)
		if e.APIVersion == "" {
			e.APIVersion = "v4.0"
		}
	}
	if e.ID == "" || e.ResourceName == "" {
		return Event{}, errors.New("procore: webhook payload without id or resource")
	}
	if len(e.ID) > MaxWebhookEventID {
		return Event{}, errors.New("procore: webhook payload id longer than " + strconv.Itoa(MaxWebhookEventID) + " characters")
	}
	return e, nil
}

// Notifier is what a Receiver wakes: DocumentsStorage (and every storage
// of this package) implements it.
type Notifier interface {
	Notify()
}

// ErrNoWebhookSecret is returned by NewReceiver for an empty secret; a
// Receiver without one refuses every delivery.
var ErrNoWebhookSecret = errors.New("procore: webhook receiver needs a secret (the Authorization header value registered as the hook's destination_headers)")

// Limits of what a Receiver reads and remembers.
const (
	// MaxWebhookBody is the largest delivery body a Receiver reads; Procore
	// payloads carry only IDs and are far smaller.
	MaxWebhookBody = 64 << 10
	// MaxWebhookEventID is the longest event ID a Receiver accepts (a ULID
	// has 26 characters, a numeric ID at most 20).
	MaxWebhookEventID = 64
	// maxSeen is how many event IDs a Receiver remembers to drop duplicates.
	maxSeen = 4096
)

// Receiver is an http.Handler for Procore webhook deliveries. It checks
// the delivery's Authorization header (in constant time) against the
// secret given at registration (destination_headers), ignores duplicates
// (Procore may deliver an event more than once), maps each event to its
// project and tool, and wakes the storages registered for them.
//
// Procore pauses every delivery to an endpoint after one non-2xx answer
// (retrying with backoff for up to 12 hours, then discarding the queue),
// so the Receiver answers 200 to every authentic delivery, including one
// it cannot parse or that is too large: it logs and drops those. Only an
// unauthenticated request gets 401, and nothing of it is read or
// remembered. Build it with NewReceiver; a Receiver whose Authorization
// is empty refuses every delivery (500) rather than accept anyone.
type Receiver struct {
	// Authorization must equal the delivery's Authorization header (the
	// destination_headers value given at registration, e.g. "Bearer
	// <secret>"). It is required.
	Authorization string
	// OnEvent, when set, is called with every new (non-duplicate) event.
	OnEvent func(Event)
	// Logger receives a line for each authentic delivery that is dropped
	// (default slog.Default()). Secrets and bodies are never logged.
	Logger *slog.Logger

	mu      sync.Mutex
	targets map[string][]Notifier // "p<project>/<tool>" or "c<company>/<tool>"
	seen    map[string]struct{}
	order   []string
	dropped int

	lastEvent time.Time
}

// NewReceiver returns a Receiver that accepts deliveries whose
// Authorization header equals authorization; an empty authorization
// gives ErrNoWebhookSecret.
func NewReceiver(authorization string) (*Receiver, error) {
	if strings.TrimSpace(authorization) == "" {
		return nil, ErrNoWebhookSecret
	}
	return &Receiver{Authorization: authorization}, nil
}

// The tools a webhook event is mapped to.
const (
	ToolDocuments = "documents"
	ToolPhotos    = "photos"
)

// ToolOf maps a webhook resource name to a tool ("" if none is synced).
func ToolOf(resource string) string {
	switch resource {
	case "Project Folders", "Project Files", "Project File Versions", "Company Folders", "Company Files",
		"Company File Versions", "Documents":
		return ToolDocuments
	case "Images", "Image Categories", "Photos":
		return ToolPhotos
	}
	return recordToolOf(resource)
}

func targetKey(companyID, projectID int64, tool string) string {
	if projectID != 0 {
		return "p" + itoa(projectID) + "/" + tool
	}
	return "c" + itoa(companyID) + "/" + tool
}

// Watch registers n to be woken by events of tool in project projectID
// (or, with projectID 0, the company-level tool of companyID).
func (r *Receiver) Watch(companyID, projectID int64, tool string, n Notifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.targets == nil {
		r.targets = map[string][]Notifier{}
	}
	k := targetKey(companyID, projectID, tool)
	r.targets[k] = append(r.targets[k], n)
}

// WatchPhotos registers a PhotosStorage for its project.
func (r *Receiver) WatchPhotos(p *PhotosStorage) {
	r.Watch(0, p.ProjectID(), ToolPhotos, p)
}

// WatchDocuments registers a DocumentsStorage for its project or company.
func (r *Receiver) WatchDocuments(d *DocumentsStorage) {
	sc := d.Scope()
	r.Watch(sc.CompanyID, sc.ProjectID, ToolDocuments, d)
}

// Dropped returns how many authentic deliveries were acknowledged but
// dropped because they could not be read or parsed.
func (r *Receiver) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

func (r *Receiver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// authentic compares the delivery's Authorization header with the
// configured one in constant time.
func (r *Receiver) authentic(req *http.Request) bool {
	got := sha256.Sum256([]byte(req.Header.Get("Authorization")))
	want := sha256.Sum256([]byte(r.Authorization))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// drop acknowledges an authentic delivery it cannot use.
func (r *Receiver) drop(w http.ResponseWriter, reason string) {
	r.mu.Lock()
	r.dropped++
	r.mu.Unlock()
	r.logger().Warn("procore webhook: authentic delivery dropped", "reason", reason)
	w.WriteHeader(http.StatusOK)
}

// ServeHTTP handles one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if strings.TrimSpace(r.Authorization) == "" {
		http.Error(w, "webhook receiver has no secret configured", http.StatusInternalServerError)
		return
	}
	if !r.authentic(req) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.drop(w, "body larger than "+strconv.Itoa(MaxWebhookBody)+" bytes")
			return
		}
		r.drop(w, "body could not be read")
		return
	}
	ev, err := ParseEvent(body)
	if err != nil {
		r.drop(w, err.Error())
		return
	}
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[string]struct{}{}
	}
	if _, dup := r.seen[ev.ID]; dup {
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	r.seen[ev.ID] = struct{}{}
	r.lastEvent = time.Now()
	r.order = append(r.order, ev.ID)
	if len(r.order) > maxSeen {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	var wake []Notifier
	if tool := ToolOf(ev.ResourceName); tool != "" {
		if strings.HasPrefix(ev.ResourceName, "Company ") {
			wake = r.targets[targetKey(ev.CompanyID, 0, tool)]
		} else {
			wake = r.targets[targetKey(ev.CompanyID, ev.ProjectID, tool)]
		}
	}
	wake = append([]Notifier(nil), wake...)
	on := r.OnEvent
	r.mu.Unlock()
	for _, n := range wake {
		n.Notify()
	}
	if on != nil {
		on(ev)
	}
	w.WriteHeader(http.StatusOK)
}
