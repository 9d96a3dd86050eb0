package procore_test

// Contract tests: every request the client sends to the fake and every
// response the fake returns, for every endpoint the client uses, are
// checked against Procore's per-operation endpoint descriptions in
// ../shared/specs/procore (read there at test time, never copied). Where
// the descriptions are lossy (../shared/specs/procore/SOURCE.md says how)
// Procore's documented behaviour wins, as commented at each leniency below.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/specdir"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

type specParam struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
	Schema   schema `json:"schema"`
}

type schema struct {
	Type       string            `json:"type"`
	Properties map[string]schema `json:"properties"`
	Items      *schema           `json:"items"`
	Required   []string          `json:"required"`
	Enum       []any             `json:"enum"`
	Desc       string            `json:"description"`
}

type endpointSpec struct {
	OperationID string      `json:"operationId"`
	Method      string      `json:"method"`
	Path        string      `json:"path"`
	Parameters  []specParam `json:"parameters"`
	Responses   map[string]struct {
		Schema *schema `json:"schema"`
	} `json:"responses"`
	RequestBody *struct {
		ContentType string `json:"contentType"`
		Schema      schema `json:"schema"`
	} `json:"requestBody"`
}

// specDir finds the Procore endpoint descriptions in
// ../shared/specs/procore, or skips the test loudly where they are absent.
func specDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(specdir.Find(t, "procore", "endpoint-details"), "endpoint-details")
}

func loadSpec(t *testing.T, dir, op string) (*endpointSpec, bool) {
	b, err := os.ReadFile(filepath.Join(dir, op+".json"))
	if os.IsNotExist(err) {
		return nil, false
	}
	require.NoError(t, err)
	var s endpointSpec
	require.NoError(t, json.Unmarshal(b, &s), op)
	return &s, true
}

// fakeOnly are operations of the fake that Procore's API description does
// not cover: the file download URL on a Procore file host (file_versions[].url)
// and the presigned storage host (S3).
var fakeOnly = map[string]bool{"FileDownload": true, "StoragePostObject": true, "StorageUploadPart": true,
	"StorageGetObject": true}

func TestContract(t *testing.T) {
	dir := specDir(t)
	var mu sync.Mutex
	var exchanges []procoretest.Exchange
	// Generous limits: the rate-limit headers are sent, but the scenario
	// (some 200 calls) is not slowed down by the default spike window.
	srv, c := newFake(t, procoretest.Options{HourlyLimit: 100000, SpikeLimit: 10000, OnExchange: func(e procoretest.Exchange) {
		mu.Lock()
		exchanges = append(exchanges, e)
		mu.Unlock()
	}}, nil)
	exerciseClient(t, srv, c)

	seen := validateExchanges(t, dir, exchanges)
	// Every endpoint the storages and the client use must have been seen.
	for _, op := range []string{"OauthTokenPost", "RestV10MeGet", "RestV10CompaniesGet", "RestV10ProjectsGet",
		"RestV10ProjectsIdGet", "RestV10FoldersGet", "RestV10FoldersIdGet", "RestV10FoldersPost",
		"RestV10FoldersIdPatch", "RestV10FoldersIdDelete", "RestV10FilesPost", "RestV10FilesIdGet",
		"RestV10FilesIdPatch", "RestV10FilesIdDelete", "RestV10FileVersionsPost", "RestV10FileVersionsIdGet",
		"RestV10ProjectsProjectIdDocumentsGet", "RestV10CompaniesCompanyIdDocumentsGet",
		"RestV10CompaniesCompanyIdFoldersGet", "RestV10CompaniesCompanyIdFoldersIdGet",
		"RestV10CompaniesCompanyIdFoldersPost", "RestV10CompaniesCompanyIdFoldersIdPatch",
		"RestV10CompaniesCompanyIdFoldersIdDelete", "RestV10CompaniesCompanyIdFilesPost",
		"RestV10CompaniesCompanyIdFilesIdGet", "RestV10CompaniesCompanyIdFilesIdDelete",
		"RestV10CompaniesCompanyIdFileVersionsPost", "RestV11ProjectsProjectIdUploadsPost",
		"RestV11ProjectsProjectIdUploadsUuidPatch", "RestV11ProjectsProjectIdUploadsUuidGet",
		"RestV11CompaniesCompanyIdUploadsPost", "RestV10WebhooksHooksGet", "RestV10WebhooksHooksPost",
		"RestV10WebhooksHooksHookIdTriggersGet", "RestV10WebhooksHooksHookIdTriggersPost",
		"RestV10WebhooksHooksHookIdDeliveriesGet", "RestV10WebhooksHooksIdDelete", "RestV10WebhooksResourcesGet",
		"RestV10ImageCategoriesGet", "RestV10ImageCategoriesPost", "RestV10ImageCategoriesIdPatch",
		"RestV10ImageCategoriesIdDelete", "RestV10ImagesGet", "RestV10ImagesPost", "RestV10ImagesIdGet",
		"RestV10ImagesIdPatch", "RestV10ImagesIdDelete", "OauthTokenInfoGet", "OauthRevokePost",
		"RestV20CompaniesCompanyIdProjectsProjectIdWebhooksHooksGet", "RestV20CompaniesCompanyIdProjectsProjectIdWebhooksHooksPost",
		"RestV20CompaniesCompanyIdProjectsProjectIdWebhooksHooksHookIdTriggersGet",
		"RestV20CompaniesCompanyIdProjectsProjectIdWebhooksHooksHookIdTriggersBulkPost",
		"RestV20CompaniesCompanyIdProjectsProjectIdWebhooksResourcesGet",
		"RestV20CompaniesCompanyIdWebhooksHooksPost", "RestV20CompaniesCompanyIdWebhooksHooksGet",
		"RestV20CompaniesCompanyIdWebhooksHooksIdGet", "RestV20CompaniesCompanyIdWebhooksHooksIdPatch",
		"RestV20CompaniesCompanyIdWebhooksHooksIdDelete", "RestV20CompaniesCompanyIdWebhooksHooksHookIdTriggersPost",
		"RestV20CompaniesCompanyIdWebhooksHooksHookIdTriggersGet", "RestV20CompaniesCompanyIdWebhooksHooksHookIdTriggersBulkPost",
		"RestV20CompaniesCompanyIdWebhooksHooksHookIdTriggersBulkDelete",
		"RestV20CompaniesCompanyIdWebhooksHooksHookIdTriggersIdDelete",
		"RestV20CompaniesCompanyIdWebhooksHooksHookIdDeliveriesGet", "RestV20CompaniesCompanyIdWebhooksResourcesGet"} {
		require.Containsf(t, seen, op, "the scenario did not exercise %s", op)
	}
}

// validateExchanges checks every exchange against its operation's
// description (one subtest each) and returns how often each operation
// was seen.
func validateExchanges(t *testing.T, dir string, exchanges []procoretest.Exchange) map[string]int {
	seen := map[string]int{}
	for _, ex := range exchanges {
		if fakeOnly[ex.Op] {
			continue
		}
		spec, ok := loadSpec(t, dir, ex.Op)
		require.Truef(t, ok, "operation %s has no endpoint description in %s", ex.Op, dir)
		seen[ex.Op]++
		t.Run(fmt.Sprintf("%s#%d", ex.Op, seen[ex.Op]), func(t *testing.T) {
			checkRequest(t, spec, ex)
			checkResponse(t, spec, ex)
		})
	}
	var ops []string
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	t.Logf("validated %d exchanges over %d operations: %s", len(exchanges), len(ops), strings.Join(ops, " "))
	return seen
}

// exerciseClient drives every endpoint the client uses.
func exerciseClient(t *testing.T, srv *procoretest.Server, c *procore.Client) {
	ctx := context.Background()
	// OAuth: the authorization code flow through the token endpoint.
	conf := procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, RedirectURL: "http://localhost/cb",
		Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}
	store := &procore.MemoryTokenStore{}
	_, err := conf.Exchange(ctx, srv.AuthorizationCode("http://localhost/cb"), store)
	require.NoError(t, err)

	_, _, err = c.Users.Me(ctx)
	require.NoError(t, err)
	_, _, err = c.Companies.List(ctx, &procore.ListOptions{PerPage: 10})
	require.NoError(t, err)
	projects, _, err := c.Projects.List(ctx, srv.CompanyID, nil)
	require.NoError(t, err)
	require.NotEmpty(t, projects)
	_, _, err = c.Projects.Get(ctx, srv.CompanyID, srv.ProjectID)
	require.NoError(t, err)

	for _, sc := range []procore.Scope{procore.ProjectScope(srv.ProjectID), procore.CompanyScope(srv.CompanyID)} {
		root, _, err := c.Folders.Root(ctx, sc, &procore.FolderOptions{LatestVersionOnly: true})
		require.NoError(t, err)
		a, _, err := c.Folders.Create(ctx, sc, procore.FolderCreate{ParentID: root.ID, Name: "A"})
		require.NoError(t, err)
		b, _, err := c.Folders.Create(ctx, sc, procore.FolderCreate{Name: "B"})
		require.NoError(t, err)
		_, _, err = c.Folders.Create(ctx, sc, procore.FolderCreate{Name: "B"}) // 400: the name is taken
		require.Error(t, err)
		_, _, err = c.Folders.Update(ctx, sc, b.ID, procore.Update{ParentID: a.ID, Name: "B2"})
		require.NoError(t, err)
		uuid, err := c.Uploads.Send(ctx, sc, "x.txt", "text/plain", strings.NewReader("hello"), 5)
		require.NoError(t, err)
		f, _, err := c.Files.Create(ctx, sc, procore.FileCreate{ParentID: a.ID, Name: "x.txt", UploadUUID: uuid})
		require.NoError(t, err)
		uuid2, err := c.Uploads.Send(ctx, sc, "x.txt", "", strings.NewReader("hello again"), -1)
		require.NoError(t, err)
		v, _, err := c.FileVersions.Create(ctx, sc, f.ID, procore.FileVersionCreate{UploadUUID: uuid2, Notes: "second"})
		require.NoError(t, err)
		_, _, err = c.FileVersions.Get(ctx, sc, v.ID)
		require.NoError(t, err)
		_, _, err = c.Files.Get(ctx, sc, f.ID)
		require.NoError(t, err)
		_, _, err = c.Files.Update(ctx, sc, f.ID, procore.Update{Name: "y.txt"})
		require.NoError(t, err)
		_, _, err = c.Folders.Get(ctx, sc, a.ID, &procore.FolderOptions{LatestVersionOnly: true})
		require.NoError(t, err)
		no := false
		docs, _, err := c.Documents.List(ctx, sc, &procore.DocumentListOptions{ListOptions: procore.ListOptions{PerPage: 2},
			InRecycleBin: &no, UpdatedFrom: time.Now().AddDate(-1, 0, 0), UpdatedTo: time.Now().AddDate(1, 0, 0), Sort: "updated_at"})
		require.NoError(t, err)
		require.NotEmpty(t, docs)
		_, err = c.Files.Delete(ctx, sc, f.ID)
		require.NoError(t, err)
		_, err = c.Folders.Delete(ctx, sc, a.ID)
		require.NoError(t, err)
		_, _, err = c.Files.Get(ctx, sc, 12345) // 404
		require.Error(t, err)
	}
	// Webhooks: a hook with triggers, a delivery to a receiver, the
	// deliveries log.
	rcv := &procore.Receiver{Authorization: "Bearer x-secret"}
	hs := httptest.NewServer(rcv)
	defer hs.Close()
	wsc := procore.WebhookScope{ProjectID: srv.ProjectID}
	h, err := c.Webhooks.RegisterHook(ctx, wsc, "contract", hs.URL, "Bearer x-secret", "v2.0", procore.DocumentResources)
	require.NoError(t, err)
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "hooked.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	dels, _, err := c.Webhooks.ListDeliveries(ctx, wsc, h.ID, 10, 0)
	require.NoError(t, err)
	require.NotEmpty(t, dels)
	_, err = c.Webhooks.DeleteHook(ctx, wsc, h.ID)
	require.NoError(t, err)
	// v1.0 hooks and triggers directly.
	h1, _, err := c.Webhooks.CreateHook(ctx, wsc, procore.Hook{APIVersion: "v2.0", Namespace: "contract-v1", DestinationURL: hs.URL,
		DestinationHeaders: map[string]string{"Authorization": "Bearer x-secret"}})
	require.NoError(t, err)
	_, _, err = c.Webhooks.CreateTrigger(ctx, wsc, h1.ID, "v2.0", procore.Trigger{ResourceName: "Project Files", EventType: "create"})
	require.NoError(t, err)
	_, _, err = c.Webhooks.ListTriggers(ctx, wsc, h1.ID)
	require.NoError(t, err)
	_, _, err = c.Webhooks.ListHooks(ctx, wsc, "contract-v1")
	require.NoError(t, err)
	resV1, _, err := c.Webhooks.ListResourcesV1(ctx, wsc)
	require.NoError(t, err)
	require.NotEmpty(t, resV1)
	// v2.0 at company level: every hooks, triggers, deliveries and
	// resources endpoint.
	csc := procore.WebhookScope{CompanyID: srv.CompanyID}
	res, _, err := c.Webhooks.ListResources(ctx, csc, "v2.0", nil)
	require.NoError(t, err)
	require.NotEmpty(t, res)
	h2, _, err := c.Webhooks.CreateHookV2(ctx, csc, "contract-v2", hs.URL, "Bearer y-secret", "v2.0")
	require.NoError(t, err)
	hooks2, _, err := c.Webhooks.ListHooksV2(ctx, csc, "contract-v2", "v2.0", &procore.ListOptions{PerPage: 100})
	require.NoError(t, err)
	require.Len(t, hooks2, 1)
	_, _, err = c.Webhooks.GetHookV2(ctx, csc, h2.ID)
	require.NoError(t, err)
	_, _, err = c.Webhooks.UpdateHookV2(ctx, csc, h2.ID, procore.HookV2Update{Status: "active", Authorization: "Bearer x-secret"})
	require.NoError(t, err)
	tr, _, err := c.Webhooks.CreateTriggerV2(ctx, csc, h2.ID, "Company Files", "create")
	require.NoError(t, err)
	bulk, err := c.Webhooks.CreateTriggersBulk(ctx, csc, h2.ID, []procore.TriggerV2{
		{ResourceName: "Company Files", EventType: "update"}, {ResourceName: "Company Folders", EventType: "create"}})
	require.NoError(t, err)
	_, _, err = c.Webhooks.ListTriggersV2(ctx, csc, h2.ID, nil)
	require.NoError(t, err)
	_, err = srv.UIPutFile(procoretest.CompanyDocs(srv.CompanyID), "hooked-v2.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	dv, _, err := c.Webhooks.ListDeliveriesV2(ctx, csc, h2.ID, &procore.DeliveryListOptions{Status: "succeeded", EventType: "create"})
	require.NoError(t, err)
	require.NotEmpty(t, dv)
	_, err = c.Webhooks.DeleteTriggersBulk(ctx, csc, h2.ID, []string{bulk[0].ID, bulk[1].ID})
	require.NoError(t, err)
	_, err = c.Webhooks.DeleteTriggerV2(ctx, csc, h2.ID, tr.ID)
	require.NoError(t, err)
	_, err = c.Webhooks.DeleteHookV2(ctx, csc, h2.ID)
	require.NoError(t, err)
	// OAuth introspection and revocation.
	info, err := conf.TokenInfo(ctx, srv.IssueToken())
	require.NoError(t, err)
	require.Equal(t, srv.UserID, info.ResourceOwnerID)
	require.NoError(t, conf.Revoke(ctx, srv.IssueToken()))

	// Photos through the storage: albums and images.
	ps := procore.NewProjectPhotos(c, srv.ProjectID, nil)
	proot, err := ps.Stat(ctx, "")
	require.NoError(t, err)
	alb, err := ps.MakeDir(ctx, proot, "Album")
	require.NoError(t, err)
	pic, err := ps.Put(ctx, alb, "p.jpg", strings.NewReader("jpg"), 3, storage.PutOptions{})
	require.NoError(t, err)
	for _, err := range ps.List(ctx) {
		require.NoError(t, err)
	}
	rc0, err := ps.Open(ctx, pic)
	require.NoError(t, err)
	rc0.Close()
	stale := pic // a version other than the listed one: the image is read first
	stale.Version = "2000-01-01T00:00:00Z"
	rc0, err = ps.Open(ctx, stale)
	require.NoError(t, err)
	rc0.Close()
	pic, err = ps.Move(ctx, pic, proot, "p.jpg")
	require.NoError(t, err)
	_, err = ps.Move(ctx, alb, proot, "Album 2")
	require.NoError(t, err)
	require.NoError(t, ps.Delete(ctx, pic))
	require.NoError(t, ps.Delete(ctx, alb))

	// A segmented upload (two segments; the first at the 5 MiB minimum).
	sc := procore.ProjectScope(srv.ProjectID)
	data := bytes.Repeat([]byte("0123456789abcdef"), (procore.MinSegmentSize+100)/16)
	uuid, err := c.Uploads.SendSegmented(ctx, sc, "big.bin", bytes.NewReader(data), int64(len(data)), procore.MinSegmentSize)
	require.NoError(t, err)
	_, _, err = c.Uploads.Get(ctx, sc, uuid)
	require.NoError(t, err)
	f, _, err := c.Files.Create(ctx, sc, procore.FileCreate{Name: "big.bin", UploadUUID: uuid})
	require.NoError(t, err)
	rc, err := c.Download(ctx, f.CurrentVersion().URL, 0)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, data, got)

	// The Documents storage: the index in the extended view with keyset
	// paging (filters[updated_at], sort, document_type), a subtree
	// (filters[folder_id]), lookups by ID and the change feed.
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "Contract/Sub/c.txt", []byte("c"))
	require.NoError(t, err)
	ds := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{PerPage: 2})
	var dir, file storage.Entry
	for e, err := range ds.List(ctx) {
		require.NoError(t, err)
		switch e.Path {
		case "Contract":
			dir = e
		case "Contract/Sub/c.txt":
			file = e
		}
	}
	require.NotEmpty(t, dir.ID)
	require.NotEmpty(t, file.ID)
	for _, err := range ds.ListUnder(ctx, dir) {
		require.NoError(t, err)
	}
	_, err = ds.StatID(ctx, file.ID)
	require.NoError(t, err)
	_, err = ds.StatID(ctx, dir.ID)
	require.NoError(t, err)
	cur, err := ds.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = ds.Changes(ctx, cur)
	require.NoError(t, err)
}

func checkRequest(t *testing.T, spec *endpointSpec, ex procoretest.Exchange) {
	require.Equal(t, spec.Method, ex.Request.Method)
	q := ex.Request.URL.Query()
	declared := map[string]specParam{}
	for _, p := range spec.Parameters {
		declared[p.Name] = p
		switch p.In {
		case "query":
			if p.Required {
				if strings.Contains(spec.Path, "/webhooks/") && (p.Name == "company_id" || p.Name == "project_id") {
					// The descriptions mark both required; Procore's
					// webhooks guide takes one of company_id|project_id.
					require.Truef(t, q.Has("company_id") || q.Has("project_id"), "company_id or project_id")
					continue
				}
				require.Truef(t, q.Has(p.Name), "required query parameter %s missing", p.Name)
			}
		case "path":
			require.Containsf(t, ex.PathParams, p.Name, "path parameter %s", p.Name)
		}
	}
	for name, vals := range q {
		base := strings.TrimSuffix(name, "[]")
		p, ok := declared[name]
		if !ok {
			p, ok = declared[base]
		}
		require.Truef(t, ok, "query parameter %s is not in the endpoint description", name)
		require.Equal(t, "query", p.In, name)
		for _, v := range vals {
			checkParamValue(t, name, p.Schema, v)
		}
	}
	if !strings.HasPrefix(spec.Path, "/oauth/") {
		// Stripped from the descriptions upstream (SOURCE.md item 1);
		// Procore requires it on every call (Multiple Procore Regions).
		require.NotEmpty(t, ex.Request.Header.Get("Procore-Company-Id"), "Procore-Company-Id header")
		require.NotEmpty(t, ex.Request.Header.Get("User-Agent"))
	}
	if spec.RequestBody == nil || len(ex.ReqBody) == 0 {
		return
	}
	// The descriptions record only multipart/form-data where an operation
	// also takes JSON (SOURCE.md item 6); Procore's guides send JSON to
	// these endpoints, and the OAuth token endpoint declares JSON while
	// the OAuth guide uses forms. So the body is checked by structure.
	var body any // an object, or an array for the v2.0 bulk endpoints
	ct := ex.Request.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") {
		require.NoError(t, json.Unmarshal(ex.ReqBody, &body), "request body is not JSON")
		checkValue(t, "request", spec.RequestBody.Schema, documentedForm(spec.OperationID, "request", body), true)
	} else {
		require.Contains(t, ct, "application/x-www-form-urlencoded", "unexpected request content type")
		vals, err := url.ParseQuery(string(ex.ReqBody))
		require.NoError(t, err)
		for _, r := range spec.RequestBody.Schema.Required {
			require.Truef(t, vals.Has(r), "required form field %s missing", r)
		}
		for k := range vals {
			_, ok := spec.RequestBody.Schema.Properties[k]
			require.Truef(t, ok, "form field %s not in the endpoint description", k)
		}
	}
}

func checkParamValue(t *testing.T, name string, s schema, v string) {
	switch s.Type {
	case "integer":
		require.Regexpf(t, `^-?\d+$`, v, "%s must be an integer", name)
	case "boolean":
		require.Containsf(t, []string{"true", "false"}, v, "%s must be a boolean", name)
	}
	if len(s.Enum) > 0 && s.Type == "string" {
		v = strings.TrimPrefix(v, "-") // sort: "-" prefix means descending (description text)
		var enum []string
		for _, e := range s.Enum {
			enum = append(enum, fmt.Sprint(e))
		}
		require.Containsf(t, enum, v, "%s value", name)
	}
	if strings.HasSuffix(name, "_at]") {
		// Ranges "a...b" (Procore's filtering guide), although the schema says
		// format: date.
		require.Contains(t, v, "...", name)
	}
}

// checkValue validates v against s. strictProps rejects properties the
// description does not declare (requests: the client must not invent
// fields; responses: the fake must not either).
func checkValue(t require.TestingT, where string, s schema, v any, strictProps bool) {
	if s.Desc == "(nested object)" {
		return // collapsed upstream beyond depth 3 (SOURCE.md item 3): type unknown
	}
	if v == nil {
		// Procore returns null for most absent values; the descriptions
		// do not mark nullability.
		return
	}
	switch s.Type {
	case "integer":
		n, ok := v.(float64)
		require.Truef(t, ok && n == math.Trunc(n), "%s: want integer, got %T %v", where, v, v)
	case "number":
		_, ok := v.(float64)
		require.Truef(t, ok, "%s: want number, got %T", where, v)
	case "string":
		_, ok := v.(string)
		require.Truef(t, ok, "%s: want string, got %T %v", where, v, v)
	case "boolean":
		_, ok := v.(bool)
		require.Truef(t, ok, "%s: want boolean, got %T", where, v)
	case "array":
		arr, ok := v.([]any)
		require.Truef(t, ok, "%s: want array, got %T", where, v)
		if s.Items != nil {
			for i, it := range arr {
				checkValue(t, fmt.Sprintf("%s[%d]", where, i), *s.Items, it, strictProps)
			}
		}
	case "object":
		obj, ok := v.(map[string]any)
		require.Truef(t, ok, "%s: want object, got %T", where, v)
		if len(s.Properties) == 0 {
			return // collapsed upstream (SOURCE.md items 3 and 4)
		}
		for _, r := range s.Required {
			require.Containsf(t, obj, r, "%s: required property %s", where, r)
		}
		for k, pv := range obj {
			ps, ok := s.Properties[k]
			if !ok {
				require.Falsef(t, strictProps && !dynamicKey(s, k), "%s: property %s is not in the endpoint description", where, k)
				continue
			}
			checkValue(t, where+"."+k, ps, pv, strictProps)
		}
	}
}

// dynamicKey allows keys the description writes as templates
// (custom_field_%{id}).
func dynamicKey(s schema, k string) bool {
	for p := range s.Properties {
		if strings.Contains(p, "%{") && strings.HasPrefix(k, strings.SplitN(p, "%{", 2)[0]) {
			return true
		}
	}
	return false
}

func checkResponse(t *testing.T, spec *endpointSpec, ex procoretest.Exchange) {
	code := fmt.Sprint(ex.Status)
	r, ok := spec.Responses[code]
	if !ok {
		_, hasDefault := spec.Responses["default"]
		// 404, 409 and 422 are among Procore's documented status codes for
		// these endpoints even where the description lists only "default".
		require.Truef(t, hasDefault, "status %d is not in the endpoint description", ex.Status)
		return
	}
	if ex.Status/100 != 2 || r.Schema == nil || (r.Schema.Type == "" && len(r.Schema.Properties) == 0) {
		return // no usable 2xx schema (SOURCE.md item 4): the fake's shapes follow Procore's guides
	}
	var body any
	require.NoErrorf(t, json.Unmarshal(ex.RespBody, &body), "response of %s is not JSON", spec.OperationID)
	checkValue(t, "response", *r.Schema, documentedForm(spec.OperationID, "response", body), true)
}

// documentedForm maps the few shapes that Procore documents elsewhere than
// in the operation descriptions onto the description's form, so that the
// rest of the body is still checked strictly. Each case names its source;
// anything else passes through unchanged.
func documentedForm(opID, dir string, body any) any {
	switch {
	case opID == "RestV10ImagesPost" && dir == "request":
		// Procore's attachments guide (revised 2026-05) nests the upload:
		// {"upload": {"uuid", "image_name", "source"}, "image": {...}}; the
		// description has top-level upload_uuid and image_name.
		obj, ok := body.(map[string]any)
		up, nested := obj["upload"].(map[string]any)
		if !ok || !nested {
			return body
		}
		out := map[string]any{}
		for k, v := range obj {
			if k != "upload" {
				out[k] = v
			}
		}
		if v, ok := up["uuid"]; ok {
			out["upload_uuid"] = v
		}
		if v, ok := up["image_name"]; ok {
			out["image_name"] = v
		}
		return out
	case strings.HasSuffix(opID, "WebhooksHooksHookIdDeliveriesGet") && dir == "response":
		// A delivery has an id distinct from its event_id, and v1.0 pages
		// by it (page_start is the last delivery id of the previous page,
		// Procore's webhooks API guide); the description omits it.
		arr, ok := body.([]any)
		if !ok {
			return body
		}
		out := make([]any, len(arr))
		for i, d := range arr {
			m, ok := d.(map[string]any)
			if !ok {
				out[i] = d
				continue
			}
			c := map[string]any{}
			for k, v := range m {
				if k != "id" {
					c[k] = v
				}
			}
			out[i] = c
		}
		return out
	}
	return body
}

// failRecorder is a require.TestingT that records a failure.
type failRecorder struct{ failed bool }

func (f *failRecorder) Errorf(string, ...any) { f.failed = true }
func (f *failRecorder) FailNow()              { f.failed = true; panic(f) }

// TestContractValidatorRejects makes sure the validator is not vacuous.
func TestContractValidatorRejects(t *testing.T) {
	s := schema{Type: "object", Properties: map[string]schema{
		"id":   {Type: "integer"},
		"name": {Type: "string"},
		"tags": {Type: "array", Items: &schema{Type: "string"}},
		"deep": {Type: "object", Desc: "(nested object)"},
	}, Required: []string{"id"}}
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"id":1,"name":"a","tags":["x"],"deep":5}`, true},
		{`{"id":1,"name":null}`, true},
		{`{"id":"1"}`, false},
		{`{"id":1.5}`, false},
		{`{"name":"a"}`, false},
		{`{"id":1,"extra":true}`, false},
		{`{"id":1,"tags":[1]}`, false},
		{`[]`, false},
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(tc.body), &v))
		rec := &failRecorder{}
		func() {
			defer func() { _ = recover() }()
			checkValue(rec, "body", s, v, true)
		}()
		require.Equal(t, tc.ok, !rec.failed, tc.body)
	}
}
