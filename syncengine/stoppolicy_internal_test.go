package syncengine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStopCountsCount(t *testing.T) {
	run := func(id int64, st RunStatus) Run { return Run{ID: id, Status: st} }
	tests := []struct {
		name    string
		runs    []Run
		want    StopCounts
		counted bool // whether the last run counted
	}{
		{"success", []Run{run(1, RunSucceeded)}, StopCounts{Runs: 1, Successes: 1, LastRunID: 1}, true},
		{"failure", []Run{run(1, RunFailed)}, StopCounts{Runs: 1, Failures: 1, ConsecutiveFailures: 1, LastRunID: 1}, true},
		{"refused is a failure", []Run{run(1, RunRefused)},
			StopCounts{Runs: 1, Failures: 1, ConsecutiveFailures: 1, LastRunID: 1}, true},
		{"partial is an execution only", []Run{run(1, RunPartial)}, StopCounts{Runs: 1, LastRunID: 1}, true},
		{"cancelled does not count", []Run{run(1, RunCancelled)}, StopCounts{}, false},
		{"running does not count", []Run{run(1, RunRunning)}, StopCounts{}, false},
		{"unrecorded does not count", []Run{run(0, RunRefused)}, StopCounts{}, false},
		{"the same run counts once", []Run{run(4, RunFailed), run(4, RunFailed)},
			StopCounts{Runs: 1, Failures: 1, ConsecutiveFailures: 1, LastRunID: 4}, false},
		{"streak", []Run{run(1, RunFailed), run(2, RunFailed), run(3, RunRefused)},
			StopCounts{Runs: 3, Failures: 3, ConsecutiveFailures: 3, LastRunID: 3}, true},
		{"success ends a streak", []Run{run(1, RunFailed), run(2, RunFailed), run(3, RunSucceeded), run(4, RunFailed)},
			StopCounts{Runs: 4, Successes: 1, Failures: 3, ConsecutiveFailures: 1, LastRunID: 4}, true},
		{"partial ends a streak", []Run{run(1, RunFailed), run(2, RunPartial)},
			StopCounts{Runs: 2, Failures: 1, LastRunID: 2}, true},
		{"cancelled does not end a streak", []Run{run(1, RunFailed), run(2, RunCancelled), run(3, RunFailed)},
			StopCounts{Runs: 2, Failures: 2, ConsecutiveFailures: 2, LastRunID: 3}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c StopCounts
			var counted bool
			for _, r := range tc.runs {
				c, counted = c.count(r)
			}
			require.Equal(t, tc.want, c)
			require.Equal(t, tc.counted, counted)
		})
	}
}

func TestStopPolicyFired(t *testing.T) {
	tests := []struct {
		name   string
		policy StopPolicy
		counts StopCounts
		want   string
	}{
		{"zero policy never fires", StopPolicy{}, StopCounts{Runs: 1000, Successes: 500, Failures: 500, ConsecutiveFailures: 500}, ""},
		{"runs below", StopPolicy{AfterRuns: 3}, StopCounts{Runs: 2}, ""},
		{"runs reached", StopPolicy{AfterRuns: 3}, StopCounts{Runs: 3}, "stopped after 3 runs"},
		{"one run", StopPolicy{AfterRuns: 1}, StopCounts{Runs: 1}, "stopped after 1 run"},
		{"successes reached", StopPolicy{AfterSuccesses: 2}, StopCounts{Runs: 5, Successes: 2}, "stopped after 2 successful runs"},
		{"successes below", StopPolicy{AfterSuccesses: 2}, StopCounts{Runs: 5, Successes: 1, Failures: 4}, ""},
		{"failures in total", StopPolicy{AfterFailures: 3}, StopCounts{Runs: 6, Failures: 3, ConsecutiveFailures: 1},
			"stopped after 3 failed runs"},
		{"consecutive below", StopPolicy{AfterConsecutiveFailures: 3}, StopCounts{Runs: 6, Failures: 5, ConsecutiveFailures: 2}, ""},
		{"consecutive reached", StopPolicy{AfterConsecutiveFailures: 2}, StopCounts{Runs: 2, Failures: 2, ConsecutiveFailures: 2},
			"stopped after 2 consecutive failed runs"},
		{"two limits at once", StopPolicy{AfterRuns: 2, AfterFailures: 2}, StopCounts{Runs: 2, Failures: 2, ConsecutiveFailures: 2},
			"stopped after 2 runs and 2 failed runs"},
		{"beyond the limit still fires", StopPolicy{AfterRuns: 2}, StopCounts{Runs: 7}, "stopped after 7 runs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.policy.fired(tc.counts))
		})
	}
}

func TestStopPolicyValidate(t *testing.T) {
	require.NoError(t, StopPolicy{}.validate())
	require.NoError(t, StopPolicy{AfterRuns: 1, AfterSuccesses: 2, AfterFailures: 3, AfterConsecutiveFailures: 4}.validate())
	for _, p := range []StopPolicy{{AfterRuns: -1}, {AfterSuccesses: -1}, {AfterFailures: -1}, {AfterConsecutiveFailures: -1}} {
		require.Error(t, p.validate(), "%+v", p)
	}
	require.True(t, StopPolicy{}.IsZero())
	require.False(t, StopPolicy{AfterFailures: 1}.IsZero())
}
