package portal

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/syncengine"
)

// Table is an export: a named sheet with a header and rows streamed from
// the store. Cells are string, int, int64, float64, bool or time.Time
// (zero: empty).
type Table struct {
	Name    string
	Columns []string
	Rows    iter.Seq2[[]any, error]
}

// Export kinds.
const (
	ExportHistory  = "history"  // runs: start, end, result, counts
	ExportActivity = "activity" // the activity log
	ExportErrors   = "errors"   // the error log
	ExportData     = "data"     // every synced item with both sides' IDs, paths and versions
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// ExportRequest selects an export: one kind, of one pair or of every tool
// of one project, over a date range (not for the data view).
type ExportRequest struct {
	Kind    string
	Format  string
	PairID  string
	Project string
	Range   DateRange
}

// Export is a prepared export: checked and ready to stream.
type Export struct {
	Filename    string
	ContentType string
	table       Table
	format      string
	xlsx        SheetWriter
}

// Table returns the export's table (for a caller that renders it).
func (e *Export) Table() Table { return e.table }

// Write streams the export to w.
func (e *Export) Write(ctx context.Context, w io.Writer) error {
	if e.format == FormatXLSX {
		return e.xlsx.WriteSheet(ctx, w, e.table)
	}
	return WriteCSV(ctx, w, e.table)
}

// WriteCSV writes t as CSV with a header line. Cells that a spreadsheet
// would take for a formula are prefixed with an apostrophe.
func WriteCSV(ctx context.Context, w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for row, err := range t.Rows {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range rec {
			rec[i] = ""
			if i < len(row) {
				rec[i] = cellString(row[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cellString formats a cell for CSV.
func cellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

var fileSafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Export prepares an export. It checks the caller (admin: viewers do not
// export), the kind, the format and the pair or project before anything
// is written, so that an HTTP handler can still answer with an error.
func (s *Service) Export(ctx context.Context, req ExportRequest) (*Export, error) {
	if _, err := s.require(ctx, RoleAdmin); err != nil {
		return nil, err
	}
	switch req.Format {
	case "", FormatCSV:
		req.Format = FormatCSV
	case FormatXLSX:
		if s.opt.XLSX == nil {
			return nil, fmt.Errorf("%w: XLSX exports are not configured", ErrUnavailable)
		}
	default:
		return nil, invalid("format", `must be "csv" or "xlsx"`)
	}
	var pairs []string
	scope := ""
	switch {
	case req.PairID != "" && req.Project != "":
		return nil, invalid("pair", "give a pair or a project, not both")
	case req.PairID != "":
		if _, err := s.pair(req.PairID); err != nil {
			return nil, err
		}
		pairs, scope = []string{req.PairID}, req.PairID
	case req.Project != "":
		p, err := s.project(ctx, req.Project)
		if err != nil {
			return nil, err
		}
		for _, t := range p.Tools {
			if _, ok := s.eng.Pair(t.PairID); ok {
				pairs = append(pairs, t.PairID)
			}
		}
		scope = p.Name
	default:
		ps, err := s.projects(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			for _, t := range p.Tools {
				if _, ok := s.eng.Pair(t.PairID); ok {
					pairs = append(pairs, t.PairID)
				}
			}
		}
		scope = "all"
	}
	var t Table
	switch req.Kind {
	case ExportHistory:
		t = s.historyTable(ctx, pairs, req.Range)
	case ExportActivity:
		t = s.activityTable(ctx, pairs, req.Range)
	case ExportErrors:
		t = s.errorsTable(ctx, pairs, req.Range)
	case ExportData:
		if s.opt.Store == nil {
			return nil, fmt.Errorf("%w: the data view needs Options.Store", ErrUnavailable)
		}
		t = s.dataTable(ctx, pairs)
	default:
		return nil, invalid("kind", "must be history, activity, errors or data")
	}
	name := strings.Trim(fileSafe.ReplaceAllString(scope, "_"), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	e := &Export{Filename: fmt.Sprintf("%s-%s-%s.%s", req.Kind, name, s.opt.Now().UTC().Format("20060102-150405"), req.Format),
		table: t, format: req.Format, xlsx: s.opt.XLSX}
	e.ContentType = "text/csv; charset=utf-8"
	if req.Format == FormatXLSX {
		e.ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return e, nil
}

// exportPage is how many log entries an export reads at a time.
const exportPage = 1000

// paged streams a newest-first log, page by page, stopping at the first
// entry older than since.
func paged[T any](ctx context.Context, read func(syncengine.Page) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for off := 0; ; off += exportPage {
			if err := ctx.Err(); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			page, err := read(syncengine.Page{Limit: exportPage, Offset: off})
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			if len(page) < exportPage {
				return
			}
		}
	}
}

func (s *Service) historyTable(ctx context.Context, pairs []string, r DateRange) Table {
	cols := []string{"pair", "run", "initial", "started", "ended", "status", "error", "files_copied", "folders_made",
		"moved", "deleted", "linked", "conflicts", "held", "failed", "waiting", "skipped", "bytes_copied", "bytes_deleted",
		"undone"}
	return Table{Name: "History", Columns: cols, Rows: func(yield func([]any, error) bool) {
		for _, id := range pairs {
			for run, err := range paged(ctx, func(p syncengine.Page) ([]syncengine.Run, error) {
				p.Since = r.From
				return s.eng.History(ctx, id, p)
			}) {
				if err != nil {
					yield(nil, err)
					return
				}
				if !r.contains(run.Started) {
					continue
				}
				c := run.Counts
				if !yield([]any{id, run.ID, run.Initial, run.Started, run.Ended, string(run.Status), run.Error,
					c.FilesCopied, c.FoldersMade, c.Moved, c.Deleted, c.Linked, c.Conflicts, c.Held, c.Failed, c.Waiting,
					c.Skipped, c.BytesCopied, c.BytesDeleted, run.Undone}, nil) {
					return
				}
			}
		}
	}}
}

func (s *Service) activityTable(ctx context.Context, pairs []string, r DateRange) Table {
	cols := []string{"pair", "id", "run", "time", "action", "side", "path", "size", "detail"}
	return Table{Name: "Activity", Columns: cols, Rows: func(yield func([]any, error) bool) {
		for _, id := range pairs {
			p, _ := s.eng.Pair(id)
			for a, err := range paged(ctx, func(pg syncengine.Page) ([]syncengine.Activity, error) {
				pg.Since = r.From
				return s.eng.Activity(ctx, id, pg)
			}) {
				if err != nil {
					yield(nil, err)
					return
				}
				if !r.contains(a.Time) {
					continue
				}
				if !yield([]any{id, a.ID, a.RunID, a.Time, a.Kind.String(), sideName(p, a.Side), a.Path, a.Size,
					a.Detail}, nil) {
					return
				}
			}
		}
	}}
}

func (s *Service) errorsTable(ctx context.Context, pairs []string, r DateRange) Table {
	cols := []string{"pair", "id", "run", "time", "side", "path", "operation", "error"}
	return Table{Name: "Errors", Columns: cols, Rows: func(yield func([]any, error) bool) {
		for _, id := range pairs {
			p, _ := s.eng.Pair(id)
			for e, err := range paged(ctx, func(pg syncengine.Page) ([]syncengine.ErrorRecord, error) {
				pg.Since = r.From
				return s.eng.Errors(ctx, id, pg)
			}) {
				if err != nil {
					yield(nil, err)
					return
				}
				if !r.contains(e.Time) {
					continue
				}
				if !yield([]any{id, e.ID, e.RunID, e.Time, sideName(p, e.Side), e.Path, e.Op, e.Error}, nil) {
					return
				}
			}
		}
	}}
}

func (s *Service) dataTable(ctx context.Context, pairs []string) Table {
	cols := []string{"pair", "type", "a_name", "a_id", "a_path", "a_version", "a_size", "a_modified",
		"b_name", "b_id", "b_path", "b_version", "b_size", "b_modified"}
	return Table{Name: "Data", Columns: cols, Rows: func(yield func([]any, error) bool) {
		for _, id := range pairs {
			p, _ := s.eng.Pair(id)
			an, bn := sideName(p, syncengine.SideA), sideName(p, syncengine.SideB)
			for it, err := range s.opt.Store.Items(ctx, id) {
				if err != nil {
					yield(nil, err)
					return
				}
				typ := "file"
				if it.IsDir {
					typ = "folder"
				}
				if !yield([]any{id, typ, an, it.A.ID, it.A.Path, it.A.Version, it.A.Size, it.A.ModTime,
					bn, it.B.ID, it.B.Path, it.B.Version, it.B.Size, it.B.ModTime}, nil) {
					return
				}
			}
		}
	}}
}
