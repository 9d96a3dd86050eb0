package records_test

import (
	"context"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/storage"
)

// ftClock is a manual clock shared by the fake and the storages.
type ftClock struct{ t time.Time }

func (c *ftClock) Now() time.Time          { return c.t }
func (c *ftClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// ftFake starts a fake Procore on a manual clock (2026-12-05 09:00 UTC)
// with rate limits out of the way, and a client for it.
func ftFake(t testing.TB) (*procoretest.Server, *procore.Client, *ftClock) {
	t.Helper()
	clk := &ftClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	srv := procoretest.New(procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: srv.CompanyID,
		TokenSource:  ftTokens{srv},
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Now: clk.Now})
	require.NoError(t, err)
	return srv, c, clk
}

// ftRender is the tests' deterministic renderer: the Document as JSON.
func ftRender(doc recordpdf.Document) ([]byte, error) {
	b, err := json.Marshal(doc)
	return append([]byte("%PDF-test\n"), b...), err
}

// ftList lists s by path.
func ftList(t testing.TB, s storage.Storage) map[string]storage.Entry {
	t.Helper()
	out := map[string]storage.Entry{}
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		_, dup := out[e.Path]
		require.Falsef(t, dup, "path %s listed twice", e.Path)
		out[e.Path] = e
	}
	return out
}

func ftPaths(m map[string]storage.Entry) []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func ftRead(t testing.TB, s storage.Storage, e storage.Entry) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), e)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// ftChanged maps a change list by entry ID.
func ftChanged(ch []storage.Change) map[string]storage.Change {
	out := map[string]storage.Change{}
	for _, c := range ch {
		out[c.Entry.ID] = c
	}
	return out
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// ftTokens issues a fresh token for every request, so that tests may move
// the fake's clock by days.
type ftTokens struct{ srv *procoretest.Server }

func (f ftTokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: f.srv.IssueToken()}, nil
}
