package projects_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
)

// BenchmarkManagerAdd adds b.N projects of three tools (Documents, Photos,
// RFIs) with their names given, and reports the Procore API calls and the
// target calls per project added (the layout's folders made, the pairs'
// state read), and CheckLayout's target calls per project.
func BenchmarkManagerAdd(b *testing.B) {
	ctx := b.Context()
	srv, c, _ := newFake(b)
	mem := memory.New()
	target := memTarget{mem}
	e := newEnv(b, b.TempDir())
	ids := make([]int64, b.N)
	for i := range ids {
		ids[i] = srv.AddProject(srv.CompanyID, fmt.Sprintf("Project %05d", i))
	}
	srv.ResetCalls()
	b.ResetTimer()
	for i := range b.N {
		p := project(c, ids[i], target, projects.Documents, projects.Photos, projects.RFIs)
		p.Name = fmt.Sprintf("Project %05d", i)
		_, err := e.m.Add(ctx, p)
		require.NoError(b, err)
	}
	b.StopTimer()
	calls := 0
	for _, n := range mem.Calls() {
		calls += n
	}
	b.ReportMetric(float64(srv.CallsByHost(procoretest.HostAPI))/float64(b.N), "procore-calls/project")
	b.ReportMetric(float64(calls)/float64(b.N), "target-calls/project")
	mem.ResetCalls()
	require.NoError(b, e.m.CheckLayout(ctx))
	calls = 0
	for _, n := range mem.Calls() {
		calls += n
	}
	b.ReportMetric(float64(calls)/float64(b.N), "layout-check-calls/project")
	require.Len(b, e.eng.Pairs(), 3*b.N)
}
