package records_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

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
	// gets the drawing ID.
	d4, _, err := srv.UIAddDrawing(pid, a, "Architectural", "a-101", "ground floor plan", nil)
	require.NoError(t, err)
	clk.Advance(time.Hour)
	r2, err := srv.UIAddDrawingRevision(d1, "1", procoretest.TinyPDF("A-101 rev 1"))
	require.NoError(t, err)

	ds := records.NewDrawings(c, pid, nil)
	got := ftList(t, ds)
	require.Equal(t, []string{
		"Building A", "Building A/Architectural", "Building A/Architectural/A-101 - Ground Floor Plan.pdf",
		"Building A/Architectural/a-101 - ground floor plan (id " + itoa(d4) + ").pdf",
		"Building A/No Discipline", "Building A/No Discipline/G-001 - Cover Sheet.pdf",
		"Level 2-3", "Level 2-3/Structural", "Level 2-3/Structural/S-201 - Framing.pdf",
	}, ftPaths(got))
	f := got["Building A/Architectural/A-101 - Ground Floor Plan.pdf"]
	require.Equal(t, "dwg:"+itoa(d1), f.ID)
	require.True(t, strings.HasPrefix(f.Version, itoa(r2)+"@"), f.Version)
	require.Equal(t, procoretest.TinyPDF("A-101 rev 1"), ftRead(t, ds, f))
	require.EqualValues(t, len(procoretest.TinyPDF("A-101 rev 1")), f.Size)

	// Superseded revisions kept under their revision number.
	keep := ftList(t, records.NewDrawings(c, pid, &records.DrawingsOptions{KeepSuperseded: true}))
	require.Contains(t, keep, "Building A/Architectural/A-101 - Ground Floor Plan (Rev 0).pdf")
	require.Contains(t, keep, "Building A/Architectural/A-101 - Ground Floor Plan.pdf")
	require.Len(t, keep, len(got)+1)

	// Read-only.
	root, err := ds.Stat(ctx, "")
	require.NoError(t, err)
	_, err = ds.Put(ctx, root, "x.pdf", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrUnsupported)
	require.ErrorIs(t, err, records.ErrFieldToolReadOnly)
	require.ErrorIs(t, ds.Delete(ctx, f), storage.ErrUnsupported)
	_, err = ds.MakeDir(ctx, root, "x")
	require.ErrorIs(t, err, storage.ErrUnsupported)
	_, err = ds.Move(ctx, f, root, "y.pdf")
	require.ErrorIs(t, err, storage.ErrUnsupported)
	st, err := ds.Stat(ctx, "building a/architectural/A-101 - Ground Floor Plan.pdf")
	require.NoError(t, err)
	require.Equal(t, f.ID, st.ID)
	_, err = ds.Stat(ctx, "nope.pdf")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestDrawingsWithoutAreas(t *testing.T) {
	srv, c, _ := ftFake(t)
	_, err := srv.SeedDrawings(srv.ProjectID, nil, 3)
	require.NoError(t, err)
	got := ftList(t, records.NewDrawings(c, srv.ProjectID, nil))
	require.Equal(t, []string{"Architectural", "Architectural/A-100 - Plan 0.pdf", "Mechanical", "Mechanical/M-102 - Plan 2.pdf",
		"Structural", "Structural/S-101 - Plan 1.pdf"}, ftPaths(got))
}

func TestDrawingsChangeFeed(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	ids, err := srv.SeedDrawings(pid, []string{"North", "South"}, 40)
	require.NoError(t, err)
	ds := records.NewDrawings(c, pid, &records.DrawingsOptions{PerPage: 100, Overlap: time.Second})
	before := ftList(t, ds)
	clk.Advance(time.Minute)
	cur, err := ds.LatestCursor(ctx)
	require.NoError(t, err)

	// Idle: three calls, nothing to report.
	clk.Advance(5 * time.Minute)
	srv.ResetCalls()
	ch, cur2, err := ds.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	require.Equal(t, 3, srv.CallsByHost(procoretest.HostAPI), srv.String())

	// A new revision: the same file (drawing ID) with a new version.
	clk.Advance(5 * time.Minute)
	rev, err := srv.UIAddDrawingRevision(ids[0], "1", nil)
	require.NoError(t, err)
	// A drawing's only revision deleted: the file leaves.
	var lone storage.Entry
	for _, e := range before {
		if e.ID == "dwg:"+itoa(ids[1]) {
			lone = e
		}
	}
	require.NotEmpty(t, lone.ID)
	revOf1, err := strconvParse(strings.Split(lone.Version, "@")[0])
	require.NoError(t, err)
	require.NoError(t, srv.UIDeleteDrawingRevision(revOf1))
	clk.Advance(time.Minute)
	ch, cur3, err := ds.Changes(ctx, cur2)
	require.NoError(t, err)
	m := ftChanged(ch)
	up := m["dwg:"+itoa(ids[0])]
	require.False(t, up.Deleted)
	require.True(t, strings.HasPrefix(up.Entry.Version, itoa(rev)+"@"))
	require.True(t, m["dwg:"+itoa(ids[1])].Deleted)
	after := ftList(t, ds)
	require.Len(t, after, len(before)-1)

	// Nothing new: the next check is empty again (reports may repeat
	// within the overlap, but only of what changed).
	clk.Advance(10 * time.Minute)
	ch, cur4, err := ds.Changes(ctx, cur3)
	require.NoError(t, err)
	require.Empty(t, ch)

	// An area renamed moves everything below it: the cursor expires.
	var north int64
	for _, e := range before {
		if e.Path == "North" {
			north, _ = strconvParse(strings.TrimPrefix(e.ID, "dwa:"))
		}
	}
	require.NoError(t, srv.UIRenameDrawingArea(north, "North Wing"))
	_, _, err = ds.Changes(ctx, cur4)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	_, _, err = ds.Changes(ctx, "not a cursor")
	require.ErrorIs(t, err, storage.ErrCursorExpired)
}

func TestDrawingsErrors(t *testing.T) {
	srv, c, _ := ftFake(t)
	_, err := srv.SeedDrawings(srv.ProjectID, nil, 1)
	require.NoError(t, err)
	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdDrawingRevisionsGet", Status: 403, Times: procoretest.Forever})
	for _, err := range records.NewDrawings(c, srv.ProjectID, nil).List(context.Background()) {
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
		var se *storage.Error
		require.True(t, errors.As(err, &se))
	}
}
