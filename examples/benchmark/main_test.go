package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuick runs every measurement at the -quick sizes and checks that the
// table holds each figure with a plausible value.
func TestQuick(t *testing.T) {
	c := defaults(true)
	c.Files, c.Projects, c.PlanItems = 3, 3, 2000
	rows, err := Run(context.Background(), c, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var out bytes.Buffer
	Print(&out, rows)
	table := out.String()
	t.Log("\n" + table)
	for _, want := range []string{
		"Procore → SharePoint: calls per file", "OneDrive → Procore: calls per file", "Procore → Box", "Dropbox → Procore",
		"files per hour at 3600", "files per hour at 600", "DryRun) of 2000 items: time",
		"3 projects × 3 tools, 3600 calls/h: idle Procore calls", "3 projects × 3 tools, 600 calls/h: Graph calls per minute",
		"engine memory per idle pair", "change in Procore → file in SharePoint", "change in SharePoint → file in Procore",
		"3 projects × 3 tools, 600 calls/h: delivery-log check (every 12m0s, 1 call(s)",
		"3 projects × 3 tools, 3600 calls/h: safety net in all (check + reconciliation)",
	} {
		require.Contains(t, table, want)
	}
	for _, r := range rows {
		require.NotEmpty(t, r.Value, r.Figure)
		require.NotContains(t, r.Value, "NaN", r.Figure)
		require.NotContains(t, r.Value, "Inf", r.Figure)
		if strings.Contains(r.Figure, "calls per file") {
			require.NotContains(t, r.Value, "0.00 +", "every file costs Procore calls: %s", r.Figure)
		}
		if strings.Contains(r.Figure, "safety net in all") {
			var calls, pct float64
			_, err := fmt.Sscanf(r.Value, "%f calls/h = %f%%", &calls, &pct)
			require.NoError(t, err, r.Value)
			require.Positive(t, calls)
			require.LessOrEqual(t, pct, 5.0, r.Figure)
		}
	}
}
