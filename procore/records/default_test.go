package records_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
)

// Without Options.Renderer, printed records come from recordpdf.Render
// and their Versions carry recordpdf.Version.
func TestDefaultRenderer(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	srv, c := newFake(t, clk)
	_, err := srv.UICreateRecord(srv.ProjectID, procoretest.ToolInspections, "7", "Pre-pour Müller", "open")
	require.NoError(t, err)
	clk.Advance(time.Minute)
	p := records.Project{ID: srv.ProjectID, Name: "Harbour"}
	s, err := records.New(c, records.NewInspections(c, p, nil), &records.Options{Now: clk.Now})
	require.NoError(t, err)
	var pdf []byte
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		if strings.HasSuffix(e.Path, ".pdf") {
			pdf = ftRead(t, s, e)
			require.Equal(t, int64(len(pdf)), e.Size)
		}
	}
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")), "%.20q", pdf)

	// The same record printed by recordpdf with a Document read back
	// from the storage's own Renderer gives the same bytes.
	var doc recordpdf.Document
	s2, err := records.New(c, records.NewInspections(c, p, nil), &records.Options{Now: clk.Now,
		Renderer: func(d recordpdf.Document) ([]byte, error) { doc = d; return recordpdf.Render(d, nil) }})
	require.NoError(t, err)
	for _, err := range s2.List(context.Background()) {
		require.NoError(t, err)
	}
	want, err := recordpdf.Render(doc, nil)
	require.NoError(t, err)
	require.Equal(t, want, pdf)
	require.Equal(t, recordpdf.Version, records.DefaultRendererVersion)
}

// By default, files Procore lists without a size (its PDF exports,
// attachments) are listed with Size -1 and nothing is read to list them:
// the engine spools them when it copies them.
func TestUnsizedFilesListedUnknown(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	srv, c := newFake(t, clk)
	id, err := srv.UICreateRecord(srv.ProjectID, procoretest.ToolRFIs, "3", "Footing depth", "open")
	require.NoError(t, err)
	_, err = srv.UIAddAttachment(srv.ProjectID, procoretest.ToolRFIs, id, procoretest.SlotQuestion, "sketch.txt", []byte("12345"))
	require.NoError(t, err)
	clk.Advance(time.Minute)
	s, err := records.New(c, records.NewRFIs(c, records.Project{ID: srv.ProjectID, Name: "Harbour"}, nil), &records.Options{Now: clk.Now})
	require.NoError(t, err)
	srv.ResetCalls()
	files := 0
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		if !e.IsDir {
			files++
			require.Equal(t, int64(-1), e.Size, e.Path)
		}
	}
	require.Equal(t, 2, files)
	require.Zero(t, srv.Calls()["RestV10ProjectsProjectIdRfisIdpdfGet"])
	require.Zero(t, srv.CallsByHost(procoretest.HostFile))
}

// With MeasureSizes, files Procore lists without a size are listed with
// their exact size, read once per version.
func TestSizesOfUnsizedFiles(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	srv, c := newFake(t, clk)
	id, err := srv.UICreateRecord(srv.ProjectID, procoretest.ToolRFIs, "3", "Footing depth", "open")
	require.NoError(t, err)
	_, err = srv.UIAddAttachment(srv.ProjectID, procoretest.ToolRFIs, id, procoretest.SlotQuestion, "sketch.txt", []byte("12345"))
	require.NoError(t, err)
	clk.Advance(time.Minute)
	s, err := records.New(c, records.NewRFIs(c, records.Project{ID: srv.ProjectID, Name: "Harbour"}, nil), &records.Options{Now: clk.Now, MeasureSizes: true})
	require.NoError(t, err)
	srv.ResetCalls()
	files := 0
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		if e.IsDir {
			continue
		}
		files++
		require.Equal(t, int64(len(ftRead(t, s, e))), e.Size, e.Path)
	}
	require.Equal(t, 2, files)
	first := srv.CallsByHost(procoretest.HostAPI) + srv.CallsByHost(procoretest.HostFile)

	// Listed again unchanged: no file is read to be sized.
	srv.ResetCalls()
	for _, err := range s.List(context.Background()) {
		require.NoError(t, err)
	}
	again := srv.CallsByHost(procoretest.HostAPI) + srv.CallsByHost(procoretest.HostFile)
	require.Less(t, again, first)
	require.Zero(t, srv.Calls()["RestV10ProjectsProjectIdRfisIdpdfGet"])
	require.Zero(t, srv.CallsByHost(procoretest.HostFile))
}
