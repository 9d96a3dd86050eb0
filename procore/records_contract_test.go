package procore_test

// Contract tests of the one-way record tools: every request the record
// storages send to the fake, and every response the fake returns, are
// checked against Procore's endpoint descriptions in ../shared/specs/procore.
// A few operations the tools use (recycle bins, PDF exports) are listed in
// the catalog of the whole API there but have no per-operation
// description: their method, path and required parameters are checked
// against the catalog instead.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

type catalogRow struct {
	OperationID    string   `json:"operationId"`
	Method         string   `json:"method"`
	Path           string   `json:"path"`
	RequiredParams []string `json:"requiredParams"`
	PathParams     []string `json:"pathParams"`
}

func loadCatalog(t *testing.T, dir string) map[string]catalogRow {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "catalog-all-endpoints.json"))
	require.NoError(t, err)
	var rows []catalogRow
	require.NoError(t, json.Unmarshal(b, &rows))
	out := map[string]catalogRow{}
	for _, r := range rows {
		out[r.OperationID] = r
	}
	return out
}

// pathMatches reports whether a request path fits a catalog path template.
func pathMatches(tmpl, p string) bool {
	re := regexp.QuoteMeta(tmpl)
	re = regexp.MustCompile(`\\\{[a-z_]+\\\}`).ReplaceAllString(re, `[^/]+`)
	return regexp.MustCompile("^" + re + "$").MatchString(p)
}

func plainRenderer(d recordpdf.Document) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%s", d.Project, d.Tool, d.Number, d.Title, d.Status)
	for _, a := range d.Attachments {
		b.WriteString("|" + a)
	}
	return []byte(b.String()), nil
}

func TestRecordsContract(t *testing.T) {
	dir := specDir(t)
	catalog := loadCatalog(t, dir)
	var mu sync.Mutex
	var exchanges []procoretest.Exchange
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 1000 * time.Hour,
		OnExchange: func(e procoretest.Exchange) {
			mu.Lock()
			exchanges = append(exchanges, e)
			mu.Unlock()
		}}, nil)
	exerciseRecords(t, srv, c, clk)

	seen := map[string]int{}
	for _, ex := range exchanges {
		if fakeOnly[ex.Op] || !strings.HasPrefix(ex.Request.URL.Path, "/rest/") {
			continue
		}
		seen[ex.Op]++
		ex := ex
		t.Run(fmt.Sprintf("%s#%d", ex.Op, seen[ex.Op]), func(t *testing.T) {
			if spec, ok := loadSpec(t, dir, ex.Op); ok {
				checkRequest(t, spec, ex)
				if _, listed := spec.Responses["404"]; ex.Status == 404 && !listed && strings.HasSuffix(spec.Path, "/{id}") {
					// A recycled or deleted record's show answers 404, as
					// every Procore show of a missing record does; some
					// descriptions list only 200/400/401/403.
					return
				}
				for _, form := range recordsDocumentedForms(ex) {
					checkResponse(t, spec, form)
				}
				return
			}
			row, ok := catalog[ex.Op]
			require.Truef(t, ok, "operation %s is neither described nor in the catalog", ex.Op)
			require.Equal(t, row.Method, ex.Request.Method)
			require.Truef(t, pathMatches(row.Path, ex.Request.URL.Path), "%s does not match %s", ex.Request.URL.Path, row.Path)
			q := ex.Request.URL.Query()
			for _, p := range row.RequiredParams {
				if !contains(row.PathParams, p) {
					require.Truef(t, q.Has(p), "required parameter %s missing", p)
				}
			}
			for name := range q {
				require.Truef(t, name == "page" || name == "per_page" || contains(row.RequiredParams, name),
					"query parameter %s is not known for %s", name, ex.Op)
			}
			require.NotEmpty(t, ex.Request.Header.Get("Procore-Company-Id"))
			if ex.Status/100 != 2 {
				return
			}
			if strings.HasSuffix(row.Path, ".pdf") {
				require.True(t, strings.HasPrefix(string(ex.RespBody), "%PDF-"), "a PDF")
				require.Contains(t, string(ex.RespBody), "%%EOF")
				return
			}
			var body any
			require.NoError(t, json.Unmarshal(ex.RespBody, &body), "JSON")
		})
	}
	var ops []string
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	t.Logf("validated %d exchanges over %d operations: %s", len(exchanges), len(ops), strings.Join(ops, " "))
	for _, op := range []string{
		"RestV10ProjectsProjectIdRfisGet", "RestV10ProjectsProjectIdRfisIdGet", "RestV10ProjectsProjectIdRfisIdpdfGet",
		"RestV10ProjectsProjectIdRfisRecycleBinGet",
		"RestV11ProjectsProjectIdSubmittalsGet", "RestV11ProjectsProjectIdSubmittalsIdGet",
		"RestV11ProjectsProjectIdSubmittalsIdpdfGet", "RestV11ProjectsProjectIdSubmittalsRecycleBinGet",
		"RestV10ObservationsItemsGet", "RestV10ObservationsItemsIdGet", "RestV10ObservationsItemsIdPdfGet",
		"RestV10ProjectsProjectIdRecycleBinObservationsItemsGet",
		"RestV10ProjectsProjectIdChecklistListsGet", "RestV10ProjectsProjectIdChecklistListsIdGet",
		"RestV10ProjectsProjectIdChecklistListItemsGet", "RestV10ProjectsProjectIdChecklistListItemAttachmentsGet",
		"RestV10ProjectsProjectIdRecycleBinChecklistListsGet",
		"RestV10ProjectsProjectIdIncidentsGet", "RestV10ProjectsProjectIdIncidentsIdGet",
		"RestV10ProjectsProjectIdRecycleBinIncidentsGet",
		"RestV11ProjectsProjectIdFormsGet", "RestV10ProjectsProjectIdFormsIdGet", "RestV10ProjectsProjectIdRecycleBinFormsGet",
		"RestV10WorkOrderContractsGet", "RestV10WorkOrderContractsIdGet", "RestV10PurchaseOrderContractsGet",
		"RestV10PurchaseOrderContractsIdGet", "RestV20CompaniesCompanyIdProjectsProjectIdCommitmentContractsGet",
		"RestV10CompaniesCompanyIdFormTemplatesGet", "RestV10CompaniesCompanyIdFormTemplatesIdGet",
		"RestV10CompaniesCompanyIdRecycleBinFormTemplatesGet",
	} {
		require.Containsf(t, seen, op, "the scenario did not exercise %s", op)
	}
}

// recordsDocumentedForms maps the shapes documented elsewhere than in the
// operation descriptions onto the descriptions' form (one exchange to
// check per form).
func recordsDocumentedForms(ex procoretest.Exchange) []procoretest.Exchange {
	if ex.Op != "RestV10PurchaseOrderContractsIdGet" || ex.Status != 200 {
		return []procoretest.Exchange{ex}
	}
	// The purchase order show's description types attachments as one
	// object, the work order show's (the same contract model) as an array
	// of those objects, as Procore's generated SDK models do for both
	// (RestV10WorkOrderContractsPost201Response and its purchase order
	// twin). Each element is checked against the object schema.
	var body map[string]any
	if json.Unmarshal(ex.RespBody, &body) != nil {
		return []procoretest.Exchange{ex}
	}
	arr, ok := body["attachments"].([]any)
	if !ok {
		return []procoretest.Exchange{ex}
	}
	var out []procoretest.Exchange
	for _, a := range append(arr, nil) {
		body["attachments"] = a
		c := ex
		c.RespBody, _ = json.Marshal(body)
		out = append(out, c)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exerciseRecords drives every record endpoint through the storages:
// multi-page listings, shows, PDFs, attachments, change windows, recycle
// bins, and a record recycled between the list and the show.
func exerciseRecords(t *testing.T, srv *procoretest.Server, c *procore.Client, clk *clock) {
	ctx := context.Background()
	pid := srv.ProjectID
	type seed struct {
		tool  procoretest.RecordTool
		slots []string
	}
	for _, sd := range []seed{
		{procoretest.ToolRFIs, []string{procoretest.SlotQuestion, procoretest.SlotAnswer}},
		{procoretest.ToolSubmittals, []string{procoretest.SlotRecord, procoretest.SlotAssociated, procoretest.SlotApprover, procoretest.SlotDistributed}},
		{procoretest.ToolObservations, []string{procoretest.SlotRecord}},
		{procoretest.ToolInspections, []string{procoretest.SlotRecord, procoretest.SlotItem, procoretest.SlotSignature}},
		{procoretest.ToolIncidents, []string{procoretest.SlotRecord}},
		{procoretest.ToolForms, []string{procoretest.SlotRecord, procoretest.SlotFillable}},
		{procoretest.ToolWorkOrders, []string{procoretest.SlotRecord, procoretest.SlotPayment}},
		{procoretest.ToolPurchaseOrders, []string{procoretest.SlotPayment}},
		{procoretest.ToolFormTemplates, []string{procoretest.SlotRecord, procoretest.SlotFillable}},
	} {
		owner := pid
		if sd.tool == procoretest.ToolFormTemplates {
			owner = srv.CompanyID
		}
		for i := 1; i <= 3; i++ {
			id, err := srv.UICreateRecord(owner, sd.tool, fmt.Sprint(i), fmt.Sprintf("Record %d", i), "open")
			require.NoError(t, err)
			for _, slot := range sd.slots {
				_, err := srv.UIAddAttachment(owner, sd.tool, id, slot, slot+".pdf", []byte("attachment "+slot))
				require.NoError(t, err)
			}
		}
	}
	p := records.Project{ID: pid, Name: "Contract"}
	company := records.Project{ID: srv.CompanyID, Name: "Company"}
	all := func(opts *records.ToolOptions) []records.Tool {
		return append(records.Tools(c, p, opts), records.NewFormTemplates(c, company, opts))
	}
	for _, tool := range all(&records.ToolOptions{PerPage: 2, Workers: 2}) {
		s, err := records.New(c, tool, &records.Options{Renderer: plainRenderer, RendererVersion: "1", Now: clk.Now,
			DeletionCheckInterval: -1})
		require.NoError(t, err)
		cur, err := s.LatestCursor(ctx)
		require.NoError(t, err)
		n := 0
		for e, err := range s.List(ctx) {
			require.NoError(t, err, tool.Name())
			if e.IsDir {
				continue
			}
			rc, err := s.Open(ctx, e)
			require.NoError(t, err, e.Path)
			_, err = io.Copy(io.Discard, rc)
			require.NoError(t, err)
			rc.Close()
			n++
		}
		require.NotZero(t, n, tool.Name())
		clk.Advance(time.Minute)
		_, _, err = s.Changes(ctx, cur)
		require.NoError(t, err, tool.Name())
	}
	// Recycled records: the recycle bins and the include_deleted window.
	for _, tool := range []procoretest.RecordTool{procoretest.ToolRFIs, procoretest.ToolSubmittals, procoretest.ToolObservations,
		procoretest.ToolInspections, procoretest.ToolIncidents, procoretest.ToolForms, procoretest.ToolWorkOrders} {
		ids := srv.UIRecords(pid, tool)
		require.NoError(t, srv.UIRecycleRecord(pid, tool, ids[0]))
	}
	tmpl := srv.UIRecords(srv.CompanyID, procoretest.ToolFormTemplates)
	require.NoError(t, srv.UIRecycleRecord(srv.CompanyID, procoretest.ToolFormTemplates, tmpl[0]))
	for _, tool := range all(nil) {
		s, err := records.New(c, tool, &records.Options{Renderer: plainRenderer, Now: clk.Now, DeletionCheckInterval: -1})
		require.NoError(t, err)
		for _, err := range s.List(ctx) {
			require.NoError(t, err)
		}
		cur := "rec1:" + fmt.Sprint(clk.Now().Add(-time.Hour).UnixNano()) + ":" + fmt.Sprint(clk.Now().Add(-time.Hour).UnixNano())
		ch, _, err := s.Changes(ctx, cur)
		require.NoError(t, err, tool.Name())
		gone := ""
		for _, x := range ch {
			if x.Deleted && strings.HasPrefix(x.Entry.ID, "r:") {
				gone = x.Entry.ID
			}
		}
		require.NotEmpty(t, gone, tool.Name())
		// A show of a recycled record is a 404: the record is gone.
		_, err = s.StatID(ctx, gone)
		require.ErrorIs(t, err, storage.ErrNotFound, tool.Name())
	}
}
