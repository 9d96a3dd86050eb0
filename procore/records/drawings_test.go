package records_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

// newDrawings is the Drawings storage on the records framework.
func newDrawings(t testing.TB, c *procore.Client, pid int64, clk *ftClock, opts *records.DrawingsOptions) *records.Storage {
	t.Helper()
	s, err := records.New(c, records.NewDrawings(c, pid, opts), &records.Options{Now: clk.Now, Overlap: time.Second,
		DeletionCheckInterval: -1})
	require.NoError(t, err)
	return s
}

func TestDrawingsLayout(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	a := srv.UIAddDrawingArea(pid, "Building A")
	b := srv.UIAddDrawingArea(pid, "Level 2/3") // "/" cannot be in a name
	d1, _, err := srv.UIAddDrawing(pid, a, "Architectural", "A-101", "Ground Floor Plan", nil)
	require.NoError(t, err)
	_, _, err = srv.UIAddDrawing(pid, b, "Structural", "S-201", "Framing", nil)
	require.NoError(t, err)
	_, _, err = srv.UIAddDrawing(pid, a, "", "G-001", "Cover Sheet", nil)
	require.NoError(t, err)
	// Two drawings shown with the same name in one folder: the later one
	// gets its record ID.
	d4, _, err := srv.UIAddDrawing(pid, a, "Architectural", "a-101", "ground floor plan", nil)
	require.NoError(t, err)
	clk.Advance(time.Hour)
	_, err = srv.UIAddDrawingRevision(d1, "1", procoretest.TinyPDF("A-101 rev 1"))
	require.NoError(t, err)

	ds := newDrawings(t, c, pid, clk, nil)
	got := ftList(t, ds)
	require.Equal(t, []string{
		"Building A", "Building A/Architectural", "Building A/Architectural/A-101 - Ground Floor Plan.pdf",
		"Building A/Architectural/a-101 - ground floor plan (d" + itoa(d4) + ").pdf",
		"Building A/No Discipline", "Building A/No Discipline/G-001 - Cover Sheet.pdf",
		"Level 2-3", "Level 2-3/Structural", "Level 2-3/Structural/S-201 - Framing.pdf",
	}, ftPaths(got))
	f := got["Building A/Architectural/A-101 - Ground Floor Plan.pdf"]
	require.Equal(t, "r:d"+itoa(d1), f.ID)
	require.Equal(t, procoretest.TinyPDF("A-101 rev 1"), ftRead(t, ds, f))
	require.EqualValues(t, len(procoretest.TinyPDF("A-101 rev 1")), f.Size)

	// Superseded revisions kept under their revision number.
	kept := newDrawings(t, c, pid, clk, &records.DrawingsOptions{KeepSuperseded: true})
	keep := ftList(t, kept)
	require.Contains(t, keep, "Building A/Architectural/A-101 - Ground Floor Plan (Rev 0).pdf")
	require.Equal(t, procoretest.TinyPDF("A-101 - Ground Floor Plan rev 0"),
		ftRead(t, kept, keep["Building A/Architectural/A-101 - Ground Floor Plan (Rev 0).pdf"]))
	require.Len(t, keep, len(got)+1)

	// Read-only.
	root, err := ds.Stat(ctx, "")
	require.NoError(t, err)
	_, err = ds.Put(ctx, root, "x.pdf", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, records.ErrReadOnly)
	require.ErrorIs(t, ds.Delete(ctx, f), storage.ErrPermissionDenied)
	st, err := ds.Stat(ctx, "Building A/Architectural/A-101 - Ground Floor Plan.pdf")
	require.NoError(t, err)
	require.Equal(t, f.ID, st.ID)
	_, err = ds.Stat(ctx, "nope.pdf")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestDrawingsWithoutAreas(t *testing.T) {
	srv, c, clk := ftFake(t)
	_, err := srv.SeedDrawings(srv.ProjectID, nil, 3)
	require.NoError(t, err)
	got := ftList(t, newDrawings(t, c, srv.ProjectID, clk, nil))
	require.Equal(t, []string{"Architectural", "Architectural/A-100 - Plan 0.pdf", "Mechanical", "Mechanical/M-102 - Plan 2.pdf",
		"Structural", "Structural/S-101 - Plan 1.pdf"}, ftPaths(got))
}

func TestDrawingsChangeFeed(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	ids, err := srv.SeedDrawings(pid, []string{"North", "South"}, 40)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	ds := newDrawings(t, c, pid, clk, &records.DrawingsOptions{PerPage: 100})
	before := ftList(t, ds)
	cur, err := ds.LatestCursor(ctx)
	require.NoError(t, err)

	// Idle: the revisions window, the areas, the deleted revisions.
	clk.Advance(5 * time.Minute)
	srv.ResetCalls()
	ch, cur, err := ds.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	require.Equal(t, 3, srv.CallsByHost(procoretest.HostAPI), srv.String())

	// A new revision: the same file (drawing ID) with a new version.
	clk.Advance(5 * time.Minute)
	_, err = srv.UIAddDrawingRevision(ids[0], "1", nil)
	require.NoError(t, err)
	// A drawing's only revision deleted: the file leaves.
	lone, _, err := c.Drawings.ListRevisions(ctx, pid, &procore.DrawingRevisionListOptions{DrawingID: ids[1]})
	require.NoError(t, err)
	require.Len(t, lone, 1)
	require.NoError(t, srv.UIDeleteDrawingRevision(lone[0].ID))
	clk.Advance(time.Minute)
	ch, cur, err = ds.Changes(ctx, cur)
	require.NoError(t, err)
	m := ftChanged(ch)
	up, ok := m["r:d"+itoa(ids[0])]
	require.True(t, ok)
	require.False(t, up.Deleted)
	require.NotEqual(t, before[up.Entry.Path].Version, up.Entry.Version)
	require.True(t, m["r:d"+itoa(ids[1])].Deleted)
	after := ftList(t, ds)
	require.Len(t, after, len(before)-1)

	// Nothing new: the next check is empty again.
	clk.Advance(10 * time.Minute)
	ch, cur, err = ds.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)

	// An area renamed moves everything below it: the cursor expires.
	var north int64
	for _, e := range before {
		if e.Path == "North" {
			for rv, err := range c.Drawings.Areas(ctx, pid, 10) {
				require.NoError(t, err)
				if rv.Name == "North" {
					north = rv.ID
				}
			}
		}
	}
	require.NoError(t, srv.UIRenameDrawingArea(north, "North Wing"))
	_, _, err = ds.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
}

func TestDrawingsErrors(t *testing.T) {
	srv, c, clk := ftFake(t)
	_, err := srv.SeedDrawings(srv.ProjectID, nil, 1)
	require.NoError(t, err)
	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdDrawingRevisionsGet", Status: 403, Times: procoretest.Forever})
	n := 0
	for _, err := range newDrawings(t, c, srv.ProjectID, clk, nil).List(context.Background()) {
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
		n++
	}
	require.Equal(t, 1, n)
}
