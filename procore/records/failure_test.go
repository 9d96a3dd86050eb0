package records_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

// TestListingFailures: a listing stopped early leaves no reads behind; a
// show refused by Procore ends the listing with a typed error; a record
// recycled between the list and its show is left out; a malformed show
// is an error, never a panic or a silently shorter listing.
func TestListingFailures(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	srv, c := newFake(t, clk)
	require.NoError(t, srv.SeedRecords(srv.ProjectID, procoretest.ToolRFIs, 30, 1, 10))
	tool := records.NewRFIs(c, records.Project{ID: srv.ProjectID, Name: "P"}, &records.ToolOptions{Workers: 3, PerPage: 7})

	n := 0
	for _, err := range tool.Records(ctx) {
		require.NoError(t, err)
		if n++; n == 3 {
			break
		}
	}

	settle(srv) // the shows the early stop cancelled are answered first
	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdRfisIdGet", Status: 403, After: 5})
	s := storageOf(t, c, tool, clk)
	var err error
	for _, e := range s.List(ctx) {
		if e != nil {
			err = e
		}
	}
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	srv.ClearFaults()

	// One RFI recycled, and one more whose show answers 404 (recycled
	// after the list was read): both are left out.
	ids := srv.UIRecords(srv.ProjectID, procoretest.ToolRFIs)
	require.NoError(t, srv.UIRecycleRecord(srv.ProjectID, procoretest.ToolRFIs, ids[29]))
	// The listing that failed cancelled its other shows, but the fake may
	// still be answering them: they must not take the fault's place.
	settle(srv)
	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdRfisIdGet", Status: 404, After: 2})
	got := 0
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if e.IsDir {
			got++
		}
	}
	require.Equal(t, 28, got)

	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdRfisIdGet", Status: 200, Body: `{"id": "not a number"`, Times: fakeservice.Forever})
	err = nil
	for _, e := range s.List(ctx) {
		if e != nil {
			err = e
		}
	}
	require.Error(t, err)
	srv.ClearFaults()
}

// settle waits until the fake has answered every request sent so far
// (requests a client cancelled may still reach it): until its call counts
// stop changing.
func settle(srv *procoretest.Server) {
	total := func() int {
		n := 0
		for _, c := range srv.Calls() {
			n += c
		}
		return n
	}
	last := total()
	for range 100 {
		time.Sleep(20 * time.Millisecond)
		n := total()
		if n == last {
			return
		}
		last = n
	}
}
