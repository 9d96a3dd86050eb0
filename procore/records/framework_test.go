package records_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

// testRenderer is a small deterministic renderer: the fields, one a line.
func testRenderer(d recordpdf.Document) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%%PDF-test\n%s\n%s\n%s\n%s\n%s\n", d.Project, d.Tool, d.Number, d.Title, d.Status)
	for _, f := range d.Fields {
		fmt.Fprintf(&b, "%s: %s\n", f.Label, f.Value)
	}
	for _, s := range d.Sections {
		fmt.Fprintf(&b, "# %s\n", s.Heading)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "## %s (%s)\n%s\n", e.Heading, e.Author, e.Body)
			for _, a := range e.Attachments {
				fmt.Fprintf(&b, "  - %s\n", a)
			}
		}
	}
	for _, a := range d.Attachments {
		fmt.Fprintf(&b, "attachment: %s\n", a)
	}
	return []byte(b.String()), nil
}

// memTool is a Tool over records held in memory, counting calls.
type memTool struct {
	mu      sync.Mutex
	recs    map[string]records.Record
	deleted map[string]time.Time
	calls   map[string]int
}

func (m *memTool) Name() string { return "Things" }
func (m *memTool) count(op string) {
	m.mu.Lock()
	m.calls[op]++
	m.mu.Unlock()
}
func (m *memTool) Records(ctx context.Context) iter.Seq2[records.Record, error] {
	m.count("records")
	return func(yield func(records.Record, error) bool) {
		m.mu.Lock()
		var list []records.Record
		for _, r := range m.recs {
			list = append(list, r)
		}
		m.mu.Unlock()
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
		for _, r := range list {
			if !yield(r, nil) {
				return
			}
		}
	}
}
func (m *memTool) Record(ctx context.Context, id string) (records.Record, error) {
	m.count("record")
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return records.Record{}, storage.NewError("get", id, storage.ErrNotFound, nil)
	}
	return r, nil
}
func (m *memTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[records.Change, error] {
	m.count("changed")
	return func(yield func(records.Change, error) bool) {
		m.mu.Lock()
		var out []records.Change
		for id, r := range m.recs {
			if !r.UpdatedAt.Before(since) && !r.UpdatedAt.After(until) {
				out = append(out, records.Change{ID: id})
			}
		}
		m.mu.Unlock()
		for _, c := range out {
			if !yield(c, nil) {
				return
			}
		}
	}
}
func (m *memTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	m.count("deleted")
	return func(yield func(string, error) bool) {
		m.mu.Lock()
		var out []string
		for id, at := range m.deleted {
			if !at.Before(since) {
				out = append(out, id)
			}
		}
		m.mu.Unlock()
		for _, id := range out {
			if !yield(id, nil) {
				return
			}
		}
	}
}

func thing(id, number, title string, at time.Time, attach ...string) records.Record {
	r := records.Record{ID: id, Number: number, Title: title, UpdatedAt: at, Fingerprint: []byte(title)}
	doc := &recordpdf.Document{Tool: "Things", Number: number, Title: title}
	r.Files = append(r.Files, records.File{Key: "pdf", Name: number + " - " + title + ".pdf", Document: doc})
	for i, a := range attach {
		r.Files = append(r.Files, records.File{Key: fmt.Sprintf("a%d", i), Name: a, Size: int64(len(a)),
			URL: "FILEHOST/" + a + "?sig=" + fmt.Sprint(time.Now().UnixNano()), Version: "att-" + a})
	}
	return r
}

func newMem(t *testing.T, now func() time.Time) (*memTool, *records.Storage) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	t.Cleanup(files.Close)
	c, err := procore.NewClient(procore.Options{BaseURL: files.URL, CompanyID: 1,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"})})
	require.NoError(t, err)
	m := &memTool{recs: map[string]records.Record{}, deleted: map[string]time.Time{}, calls: map[string]int{}}
	t0 := now()
	for _, r := range []records.Record{
		thing("1", "001", "Footing depth", t0, "a.pdf", "a.pdf", "b/c.jpg"),
		thing("2", "002", "Rebar Ø 12 / Müller", t0),
		thing("3", "001", "Footing depth", t0), // collides with 1
	} {
		for i := range r.Files {
			r.Files[i].URL = strings.Replace(r.Files[i].URL, "FILEHOST", files.URL, 1)
		}
		m.recs[r.ID] = r
	}
	s, err := records.New(c, m, &records.Options{Renderer: testRenderer, RendererVersion: "t1", Now: now,
		DeletionCheckInterval: -1})
	require.NoError(t, err)
	return m, s
}

func listAll(t *testing.T, s storage.Storage) map[string]storage.Entry {
	out := map[string]storage.Entry{}
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		_, dup := out[e.Path]
		require.False(t, dup, e.Path)
		out[e.Path] = e
	}
	return out
}

func TestLayoutNamesAndVersions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	m, s := newMem(t, func() time.Time { return now })
	checkReadOnly(t, s)
	got := listAll(t, s)
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	require.Equal(t, []string{
		"001 - Footing depth",
		"001 - Footing depth (3)",
		"001 - Footing depth (3)/001 - Footing depth.pdf",
		"001 - Footing depth/001 - Footing depth.pdf",
		"001 - Footing depth/a (2).pdf",
		"001 - Footing depth/a.pdf",
		"001 - Footing depth/b-c.jpg",
		"002 - Rebar Ø 12 - Müller",
		"002 - Rebar Ø 12 - Müller/002 - Rebar Ø 12 - Müller.pdf",
	}, paths)
	pdf := got["001 - Footing depth/001 - Footing depth.pdf"]
	rc, err := s.Open(ctx, pdf)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	require.Contains(t, string(b), "attachment: a.pdf\nattachment: a (2).pdf\nattachment: b-c.jpg")
	require.Equal(t, int64(len(b)), pdf.Size)
	att := got["001 - Footing depth/b-c.jpg"]
	rc, err = s.Open(ctx, att)
	require.NoError(t, err)
	b, _ = io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "b/c.jpg", string(b))

	// A new signature on the same attachment changes nothing; a new
	// attachment changes the record's and its PDF's Version, not the other
	// attachments'.
	r := m.recs["1"]
	r.Files[1].URL += "x"
	m.recs["1"] = r
	again := listAll(t, s)
	require.Equal(t, got["001 - Footing depth"].Version, again["001 - Footing depth"].Version)
	r.Files = append(r.Files, records.File{Key: "new", Name: "new.txt", URL: r.Files[1].URL, Version: "n1", Size: 3})
	m.recs["1"] = r
	again = listAll(t, s)
	require.NotEqual(t, got["001 - Footing depth"].Version, again["001 - Footing depth"].Version)
	require.NotEqual(t, pdf.Version, again[pdf.Path].Version)
	require.Equal(t, att.Version, again[att.Path].Version)
	require.Equal(t, att.ID, again[att.Path].ID)

	// Stat and StatID read one record.
	m.calls = map[string]int{}
	e, err := s.Stat(ctx, "001 - Footing depth/new.txt")
	require.NoError(t, err)
	require.Equal(t, int64(3), e.Size)
	e2, err := s.StatID(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e, e2)
	require.Equal(t, map[string]int{"record": 2}, m.calls)
	_, err = s.Stat(ctx, "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// Writes are refused with a typed error.
	_, err = s.MakeDir(ctx, storage.Entry{IsDir: true}, "x")
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	require.ErrorIs(t, err, records.ErrReadOnly)
	require.ErrorIs(t, s.Delete(ctx, e), storage.ErrPermissionDenied)
	_, err = s.Put(ctx, storage.Entry{IsDir: true}, "x", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	_, err = s.Move(ctx, e, storage.Entry{IsDir: true}, "y")
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
}

func TestChangeFeed(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m, s := newMem(t, clock)
	now = now.Add(10 * time.Minute) // the records are older than the overlap
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	listAll(t, s)

	// Idle: one call (plus the deletion signal, asked every time here).
	now = now.Add(10 * time.Minute)
	m.calls = map[string]int{}
	ch, cur, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	require.Equal(t, map[string]int{"changed": 1, "deleted": 1}, m.calls)

	// An edit with an attachment removed; a deletion.
	now = now.Add(time.Minute)
	r := m.recs["1"]
	r.Title = "Footing depth rev"
	r.Files = r.Files[:2]
	r.UpdatedAt = now
	m.recs["1"] = r
	delete(m.recs, "2")
	m.deleted["2"] = now
	now = now.Add(time.Minute)
	ch, _, err = s.Changes(ctx, cur)
	require.NoError(t, err)
	var desc []string
	for _, c := range ch {
		desc = append(desc, fmt.Sprintf("%v %s %s", c.Deleted, c.Entry.ID, c.Entry.Path))
	}
	require.Equal(t, []string{
		"false r:1 001 - Footing depth rev",
		"false f:1:pdf 001 - Footing depth rev/001 - Footing depth.pdf",
		"false f:1:a0 001 - Footing depth rev/a.pdf",
		"true f:1:a1 001 - Footing depth/a (2).pdf",
		"true f:1:a2 001 - Footing depth/b-c.jpg",
		"true r:2 002 - Rebar Ø 12 - Müller",
	}, desc)
}

func TestInlineRecordsInDirs(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	m, s := newMem(t, func() time.Time { return now })
	url := m.recs["1"].Files[1].URL
	for _, id := range []string{"7", "8"} {
		m.recs[id] = records.Record{ID: id, Number: "A-101", Title: "Plan", Inline: true, Dir: []string{"Level 1", "Architectural"},
			UpdatedAt: now, Files: []records.File{{Key: "rev", Name: "A-101 - Plan.pdf", URL: url, Version: "rev" + id, Size: 5}}}
	}
	checkReadOnly(t, s)
	got := listAll(t, s)
	require.True(t, got["Level 1"].IsDir)
	require.Equal(t, "d:Level 1", got["Level 1/Architectural"].ParentID)
	a, b := got["Level 1/Architectural/A-101 - Plan.pdf"], got["Level 1/Architectural/A-101 - Plan (8).pdf"]
	require.False(t, a.IsDir)
	require.Equal(t, "r:7", a.ID)
	require.Equal(t, "r:8", b.ID)
	require.Equal(t, "d:Level 1/Architectural", a.ParentID)
	rc, err := s.Open(ctx, a)
	require.NoError(t, err)
	data, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "a.pdf", string(data))
	e, err := s.StatID(ctx, "r:8")
	require.NoError(t, err)
	require.Equal(t, b, e)
	for _, err := range s.ListUnder(ctx, a) {
		require.ErrorIs(t, err, storage.ErrNotDir)
	}
	var under []string
	for e, err := range s.ListUnder(ctx, got["Level 1"]) {
		require.NoError(t, err)
		under = append(under, e.Path)
	}
	require.ElementsMatch(t, []string{"Level 1", "Level 1/Architectural", "Level 1/Architectural/A-101 - Plan.pdf",
		"Level 1/Architectural/A-101 - Plan (8).pdf"}[1:], under)
}

// TestChangesBeforeAnyListing: a process that has not listed the tool
// cannot tell which files of a changed record went away, so it asks for
// one listing (ErrCursorExpired) instead of leaving a removed attachment
// on the target; with nothing changed it answers without listing.
func TestChangesBeforeAnyListing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	m, s := newMem(t, func() time.Time { return now })
	now = now.Add(10 * time.Minute)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	now = now.Add(10 * time.Minute)
	ch, cur, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	r := m.recs["2"]
	r.UpdatedAt = now
	m.recs["2"] = r
	now = now.Add(time.Minute)
	_, _, err = s.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	_, _, err = s.Changes(ctx, "garbage")
	require.ErrorIs(t, err, storage.ErrCursorExpired)
}

// TestUnchangedRecordsAreNotPrintedAgain: listing again prints only the
// records whose Version changed.
func TestUnchangedRecordsAreNotPrintedAgain(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	m, _ := newMem(t, func() time.Time { return now })
	prints := 0
	_, err := records.New(nil, m, nil)
	require.Error(t, err) // a client is required
	c, err := procore.NewClient(procore.Options{BaseURL: "http://127.0.0.1:1", CompanyID: 1,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	require.NoError(t, err)
	s, err := records.New(c, m, &records.Options{Renderer: func(d recordpdf.Document) ([]byte, error) {
		prints++
		return testRenderer(d)
	}})
	require.NoError(t, err)
	first := listAll(t, s)
	require.Equal(t, 3, prints)
	listAll(t, s)
	require.Equal(t, 3, prints)
	r := m.recs["2"]
	r.Fingerprint = []byte("edited")
	m.recs["2"] = r
	again := listAll(t, s)
	require.Equal(t, 4, prints)
	require.NotEqual(t, first["002 - Rebar Ø 12 - Müller"].Version, again["002 - Rebar Ø 12 - Müller"].Version)
}
