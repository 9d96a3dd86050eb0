package records_test

import (
	"context"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newFake(t testing.TB, clk *fakeClock) (*procoretest.Server, *procore.Client) {
	t.Helper()
	srv := procoretest.New(procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 1000 * time.Hour})
	t.Cleanup(srv.Close)
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: srv.CompanyID,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Now: clk.Now})
	require.NoError(t, err)
	return srv, c
}

func storageOf(t testing.TB, c *procore.Client, tool records.Tool, clk *fakeClock) *records.Storage {
	s, err := records.New(c, tool, &records.Options{Renderer: testRenderer, RendererVersion: "test-1", Now: clk.Now,
		DeletionCheckInterval: -1})
	require.NoError(t, err)
	return s
}

func list(t testing.TB, s storage.Storage) map[string]storage.Entry {
	out := map[string]storage.Entry{}
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		out[e.Path] = e
	}
	return out
}

func read(t testing.TB, s storage.Storage, e storage.Entry) string {
	rc, err := s.Open(context.Background(), e)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	if e.Size >= 0 {
		require.Equal(t, e.Size, int64(len(b)), e.Path)
	}
	return string(b)
}

func paths(m map[string]storage.Entry) []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestEveryToolOnTheFake exports each tool's records with every kind of
// attachment and checks the layout, the content and what a person's edits
// in Procore do to the listing and the change feed.
func TestEveryToolOnTheFake(t *testing.T) {
	ctx := context.Background()
	type place struct{ slot, name string }
	cases := []struct {
		tool   procoretest.RecordTool
		number string
		places []place
		want   []string // files in the record folder besides the PDF
		pdf    string   // a prefix of the PDF's content
		build  func(*procore.Client, records.Project) records.Tool
		// company: a company-level tool (the helpers take the company ID)
		company bool
	}{
		{procoretest.ToolRFIs, "7", []place{{procoretest.SlotQuestion, "sketch.pdf"}, {procoretest.SlotAnswer, "answer.pdf"}, {procoretest.SlotAnswer, "answer.pdf"}},
			[]string{"answer (2).pdf", "answer.pdf", "sketch.pdf"}, "%PDF-1.4",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewRFIs(c, p, nil) }, false},
		{procoretest.ToolSubmittals, "7", []place{{procoretest.SlotRecord, "shop.pdf"}, {procoretest.SlotAssociated, "assoc.pdf"}, {procoretest.SlotApprover, "stamped.pdf"}, {procoretest.SlotDistributed, "final.pdf"}},
			[]string{"assoc.pdf", "final.pdf", "shop.pdf", "stamped.pdf"}, "%PDF-1.4",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewSubmittals(c, p, nil) }, false},
		{procoretest.ToolObservations, "7", []place{{procoretest.SlotRecord, "photo.jpg"}},
			[]string{"photo.jpg"}, "%PDF-1.4",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewObservations(c, p, nil) }, false},
		{procoretest.ToolInspections, "7", []place{{procoretest.SlotRecord, "list.pdf"}, {procoretest.SlotItem, "rail.jpg"}, {procoretest.SlotSignature, "sig.png"}},
			[]string{"list.pdf", "rail.jpg", "sig.png"}, "%PDF-test\nProj\nInspections\n7\n",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewInspections(c, p, nil) }, false},
		{procoretest.ToolIncidents, "7", []place{{procoretest.SlotRecord, "scene.jpg"}},
			[]string{"scene.jpg"}, "%PDF-test\nProj\nIncidents\n7\n",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewIncidents(c, p, nil) }, false},
		{procoretest.ToolForms, "Daily Form", []place{{procoretest.SlotRecord, "extra.pdf"}, {procoretest.SlotFillable, "filled.pdf"}},
			[]string{"extra.pdf"}, "fillable",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewForms(c, p, nil) }, false},
		{procoretest.ToolWorkOrders, "WO-7", []place{{procoretest.SlotRecord, "contract.pdf"}, {procoretest.SlotPayment, "invoice.pdf"}},
			[]string{"contract.pdf", "invoice.pdf"}, "%PDF-test\nProj\nCommitments\nWO-7\n",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewCommitments(c, p, nil) }, false},
		{procoretest.ToolPurchaseOrders, "PO-7", []place{{procoretest.SlotPayment, "invoice.pdf"}},
			[]string{"invoice.pdf"}, "%PDF-test\nProj\nCommitments\nPO-7\n",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewCommitments(c, p, nil) }, false},
		{procoretest.ToolFormTemplates, "", []place{{procoretest.SlotRecord, "guide.pdf"}, {procoretest.SlotFillable, "blank.pdf"}},
			[]string{"guide.pdf"}, "fillable",
			func(c *procore.Client, p records.Project) records.Tool { return records.NewFormTemplates(c, p, nil) }, true},
	}
	for _, tc := range cases {
		t.Run(string(tc.tool), func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
			srv, c := newFake(t, clk)
			owner := srv.ProjectID
			if tc.company {
				owner = srv.CompanyID
			}
			id, err := srv.UICreateRecord(owner, tc.tool, tc.number, "Müller Ø 12 / 東京", "open")
			require.NoError(t, err)
			fill := ""
			for _, p := range tc.places {
				content := p.name + " content"
				if p.slot == procoretest.SlotFillable {
					content = "fillable form"
					fill = content
				}
				_, err := srv.UIAddAttachment(owner, tc.tool, id, p.slot, p.name, []byte(content))
				require.NoError(t, err)
			}
			s := storageOf(t, c, tc.build(c, records.Project{ID: owner, Name: "Proj"}), clk)
			checkReadOnly(t, s)
			folder := "Müller Ø 12 - 東京"
			if tc.number != "" {
				folder = tc.number + " - " + folder
			}
			got := list(t, s)
			want := []string{folder, folder + "/" + folder + ".pdf"}
			for _, w := range tc.want {
				want = append(want, folder+"/"+w)
			}
			sort.Strings(want)
			require.Equal(t, want, paths(got))
			pdf := got[folder+"/"+folder+".pdf"]
			body := read(t, s, pdf)
			require.True(t, strings.HasPrefix(body, tc.pdf), "%q", body)
			if fill != "" {
				require.Equal(t, fill, body)
			}
			for _, w := range tc.want {
				require.Equal(t, strings.Replace(w, " (2)", "", 1)+" content", read(t, s, got[folder+"/"+w]))
			}

			// An idle change feed reports nothing.
			clk.Advance(time.Hour)
			cur, err := s.LatestCursor(ctx)
			require.NoError(t, err)
			clk.Advance(time.Hour)
			ch, cur, err := s.Changes(ctx, cur)
			require.NoError(t, err)
			require.Empty(t, ch)

			// A new attachment: the record's and its PDF's Version change,
			// the other files' do not, and the feed reports the record.
			clk.Advance(time.Minute)
			slot := tc.places[len(tc.places)-1].slot
			if slot == procoretest.SlotFillable || slot == procoretest.SlotAssociated {
				slot = procoretest.SlotRecord
			}
			_, err = srv.UIAddAttachment(owner, tc.tool, id, slot, "late.txt", []byte("late"))
			require.NoError(t, err)
			clk.Advance(time.Minute)
			ch, cur, err = s.Changes(ctx, cur)
			require.NoError(t, err)
			var changed, deleted []string
			for _, x := range ch {
				if x.Deleted {
					deleted = append(deleted, x.Entry.Path)
					continue
				}
				changed = append(changed, x.Entry.Path)
			}
			require.Contains(t, changed, folder+"/late.txt")
			again := list(t, s)
			require.NotEqual(t, got[folder].Version, again[folder].Version)
			require.NotEqual(t, pdf.Version, again[pdf.Path].Version)
			if tc.tool == procoretest.ToolFormTemplates {
				// A template has one attachment: the new one replaces it,
				// and the feed reports the old file deleted.
				require.Equal(t, []string{folder + "/guide.pdf"}, deleted)
			} else {
				require.Empty(t, deleted)
				for _, w := range tc.want {
					require.Equal(t, got[folder+"/"+w].Version, again[folder+"/"+w].Version, w)
				}
			}
			require.Equal(t, "late", read(t, s, again[folder+"/late.txt"]))

			// Recycled: gone from the listing, reported deleted.
			clk.Advance(time.Minute)
			require.NoError(t, srv.UIRecycleRecord(owner, tc.tool, id))
			clk.Advance(time.Minute)
			ch, _, err = s.Changes(ctx, cur)
			require.NoError(t, err)
			require.NotEmpty(t, ch)
			last := ch[len(ch)-1]
			require.True(t, last.Deleted)
			require.Equal(t, got[folder].ID, last.Entry.ID)
			require.Empty(t, list(t, s))
			_, err = s.StatID(ctx, got[folder].ID)
			require.ErrorIs(t, err, storage.ErrNotFound)
		})
	}
}
