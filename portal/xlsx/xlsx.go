// Package xlsx writes the portal's exports as Excel workbooks
// (github.com/xuri/excelize/v2), streaming rows through excelize's
// StreamWriter so that large sheets do not build up in memory. It is a
// package of its own so that programs that only embed the engine do not
// compile excelize.
package xlsx

import (
	"context"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/procoresync/procoresync/portal"
)

// Writer writes a portal.Table as a one-sheet workbook. It implements
// portal.SheetWriter.
type Writer struct{}

// WriteSheet streams t to w as an .xlsx workbook with one worksheet named
// after t (at most 31 characters), a bold frozen header row and the rows
// in order. Times are UTC date-time cells; strings longer than Excel's
// cell limit (32,767 characters) are cut.
func (Writer) WriteSheet(ctx context.Context, w io.Writer, t portal.Table) error {
	f := excelize.NewFile()
	defer f.Close()
	name := sheetName(t.Name)
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	dateTime, err := f.NewStyle(&excelize.Style{NumFmt: 22})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if len(t.Columns) > 0 {
		if err := sw.SetColWidth(1, len(t.Columns), 18); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	header := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = excelize.Cell{StyleID: bold, Value: c}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	row := 2
	cells := make([]any, len(t.Columns))
	for values, err := range t.Rows {
		if err != nil {
			return err
		}
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if row > excelize.TotalRows {
			return fmt.Errorf("xlsx: more than %d rows: export a smaller range", excelize.TotalRows-1)
		}
		for i := range cells {
			cells[i] = nil
			if i < len(values) {
				cells[i] = cell(values[i], dateTime)
			}
		}
		ref, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
		if err := sw.SetRow(ref, cells); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
		row++
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

// cell converts a table value to what the stream writer takes.
func cell(v any, dateTime int) any {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return excelize.Cell{StyleID: dateTime, Value: x.UTC()}
	case string:
		return cut(x)
	case int, int64, float64, bool, nil:
		return x
	}
	return cut(fmt.Sprint(v))
}

// cut keeps a string within Excel's cell limit, on a rune boundary.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= excelize.TotalCellChars {
		return s
	}
	r := []rune(s)
	return string(r[:excelize.TotalCellChars])
}

// sheetName makes a valid worksheet name: at most 31 characters, none of
// : \ / ? * [ ].
func sheetName(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case ':', '\\', '/', '?', '*', '[', ']':
			r = '_'
		}
		out = append(out, r)
		if len(out) == excelize.MaxSheetNameLength {
			break
		}
	}
	if len(out) == 0 {
		return "Export"
	}
	return string(out)
}
