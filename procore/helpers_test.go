package procore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
)

// newFake starts a fake and a client for its company with a static token.
// The client lists the fake's file host in Options.FileHosts (the default
// trust, the API host name on any port, would cover it too).
func newFake(t testing.TB, opts procoretest.Options, mod func(*procore.Options)) (*procoretest.Server, *procore.Client) {
	t.Helper()
	srv := procoretest.New(opts)
	t.Cleanup(srv.Close)
	o := procore.Options{
		BaseURL:      srv.URL,
		FileHosts:    srv.FileHosts(),
		CompanyID:    srv.CompanyID,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()}),
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
		Now:          opts.Now,
	}
	if mod != nil {
		mod(&o)
	}
	c, err := procore.NewClient(o)
	require.NoError(t, err)
	return srv, c
}

// clock is a fake clock for the fake's rate windows and timestamps.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }
