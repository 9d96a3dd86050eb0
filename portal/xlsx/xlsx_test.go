package xlsx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/xlsx"
)

func table(n int) portal.Table {
	t0 := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	return portal.Table{Name: "History: pair/1 [all]", Columns: []string{"pair", "run", "started", "ok", "bytes", "note"},
		Rows: func(yield func([]any, error) bool) {
			for i := range n {
				note := fmt.Sprintf("=cmd|' /C calc'!A%d", i) // formula-like text stays text
				if i == 1 {
					note = strings.Repeat("é", 40000) // over Excel's cell limit
				}
				if !yield([]any{"tower-3/documents", int64(i + 1), t0.Add(time.Duration(i) * time.Minute), i%2 == 0,
					int64(i) * 1000, note}, nil) {
					return
				}
			}
		}}
}

func TestWriteSheetReadBack(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	var buf bytes.Buffer
	if err := (xlsx.Writer{}).WriteSheet(context.Background(), &buf, table(n)); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	if sheet != "History_ pair_1 _all_" {
		t.Fatalf("sheet name %q", sheet)
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || strings.Join(rows[0], ",") != "pair,run,started,ok,bytes,note" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if rows[1][0] != "tower-3/documents" || rows[1][1] != "1" || rows[1][3] != "TRUE" || rows[n][1] != fmt.Sprint(n) {
		t.Fatalf("rows: %v ... %v", rows[1], rows[n])
	}
	if got := len([]rune(rows[2][5])); got != excelize.TotalCellChars {
		t.Fatalf("a long cell kept %d characters", got)
	}
	// Text that looks like a formula is stored as text, not a formula.
	if fm, _ := f.GetCellFormula(sheet, "F2"); fm != "" {
		t.Fatalf("a cell became a formula: %q", fm)
	}
	// Times are date-time cells.
	v, _ := f.GetCellValue(sheet, "C2", excelize.Options{RawCellValue: true})
	if strings.Contains(v, "-") || v == "" {
		t.Fatalf("started is not a date-time number: %q", v)
	}
}

func TestWriteSheetErrors(t *testing.T) {
	boom := errors.New("store gone")
	tb := portal.Table{Name: "x", Columns: []string{"a"}, Rows: func(yield func([]any, error) bool) {
		if yield([]any{"1"}, nil) {
			yield(nil, boom)
		}
	}}
	if err := (xlsx.Writer{}).WriteSheet(context.Background(), io.Discard, tb); !errors.Is(err, boom) {
		t.Fatalf("row error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (xlsx.Writer{}).WriteSheet(ctx, io.Discard, table(5000)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// BenchmarkWriteSheet streams a 100,000-row export.
func BenchmarkWriteSheet(b *testing.B) {
	for b.Loop() {
		if err := (xlsx.Writer{}).WriteSheet(context.Background(), io.Discard, table(100000)); err != nil {
			b.Fatal(err)
		}
	}
}
