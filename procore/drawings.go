package procore

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// DrawingArea is an area of a project's Drawings (a building, a floor):
// GET /rest/v1.0/projects/{project_id}/drawing_areas. Projects without
// areas have none.
type DrawingArea struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	DrawingsCount int       `json:"drawings_count"`
	CreatedAt     Timestamp `json:"created_at"`
	UpdatedAt     Timestamp `json:"updated_at"`
}

// DrawingDiscipline is a drawing's discipline (Architectural, Structural,
// …) as a revision carries it.
type DrawingDiscipline struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Position int    `json:"position"`
}

// idRef is an {"id": …} reference; a null id is 0.
type idRef struct {
	ID int64 `json:"id"`
}

// DrawingRevision is one revision of a drawing
// (GET /rest/v1.0/projects/{project_id}/drawing_revisions). Current marks
// the drawing's current revision; PDFURL is on a Procore file host.
type DrawingRevision struct {
	ID             int64              `json:"id"`
	DrawingID      int64              `json:"drawing_id"`
	Number         string             `json:"number"`
	Title          string             `json:"title"`
	RevisionNumber string             `json:"revision_number"`
	DrawingDate    string             `json:"drawing_date"`
	ReceivedDate   string             `json:"received_date"`
	Current        bool               `json:"current"`
	Obsolete       bool               `json:"obsolete"`
	PDFURL         string             `json:"pdf_url"`
	PDFSize        int64              `json:"pdf_size"`
	Status         string             `json:"status"`
	Position       int                `json:"position"`
	UpdatedAt      Timestamp          `json:"updated_at"`
	DrawingSet     *idRef             `json:"drawing_set"`
	DrawingArea    *idRef             `json:"drawing_area"`
	Discipline     *DrawingDiscipline `json:"discipline"`
}

// AreaID is the revision's drawing area (0: none).
func (r *DrawingRevision) AreaID() int64 {
	if r.DrawingArea == nil {
		return 0
	}
	return r.DrawingArea.ID
}

// DisciplineName is the revision's discipline name ("" when none).
func (r *DrawingRevision) DisciplineName() string {
	if r.Discipline == nil {
		return ""
	}
	return r.Discipline.Name
}

// DrawingsService reads a project's Drawings: areas and drawing revisions.
type DrawingsService service

// ListAreas returns one page of the project's drawing areas.
func (s *DrawingsService) ListAreas(ctx context.Context, projectID int64, opts *ListOptions) ([]DrawingArea, *Response, error) {
	q := url.Values{}
	opts.apply(q)
	p := "/rest/v1.0/projects/" + itoa(projectID) + "/drawing_areas"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out []DrawingArea
	resp, err := s.c.get(ctx, p, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Areas iterates over all the project's drawing areas.
func (s *DrawingsService) Areas(ctx context.Context, projectID int64, perPage int) iter.Seq2[DrawingArea, error] {
	return paginate(ctx, 1, func(page int) ([]DrawingArea, *Response, error) {
		return s.ListAreas(ctx, projectID, &ListOptions{Page: page, PerPage: perPage})
	})
}

// Values of DrawingRevisionListOptions.Deleted (filters[deleted]).
const (
	DeletedOnly = "only" // deleted revisions only
	DeletedWith = "with" // live and deleted revisions
)

// DrawingRevisionListOptions filter drawing revision listings.
type DrawingRevisionListOptions struct {
	ListOptions
	DrawingAreaID int64 // drawing_area_id (0: all)
	DrawingID     int64 // drawing_id (0: all)
	// UpdatedFrom and UpdatedTo are sent as filters[updated_at] (either
	// end may be open).
	UpdatedFrom, UpdatedTo time.Time
	// Deleted is filters[deleted]: DeletedOnly or DeletedWith ("":
	// live revisions only, the default).
	Deleted string
	// WithObsolete includes obsolete revisions (filtered by default).
	WithObsolete bool
	// Sort is "id" or "-id" ("": the endpoint's order).
	Sort string
}

func drawingRevisionsPath(projectID, id int64, q url.Values) string {
	p := "/rest/v1.0/projects/" + itoa(projectID) + "/drawing_revisions"
	if id != 0 {
		p += "/" + itoa(id)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// ListRevisions returns one page of the project's drawing revisions. Every
// revision of every drawing is listed; the current one has Current set
// (Procore's drawings guide: filter on current on the client).
func (s *DrawingsService) ListRevisions(ctx context.Context, projectID int64, opts *DrawingRevisionListOptions) ([]DrawingRevision, *Response, error) {
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.apply(q)
		if opts.DrawingAreaID != 0 {
			q.Set("drawing_area_id", itoa(opts.DrawingAreaID))
		}
		if opts.DrawingID != 0 {
			q.Set("drawing_id", itoa(opts.DrawingID))
		}
		if !opts.UpdatedFrom.IsZero() || !opts.UpdatedTo.IsZero() {
			q.Set("filters[updated_at]", formatRangeEnd(opts.UpdatedFrom)+"..."+formatRangeEnd(opts.UpdatedTo))
		}
		if opts.Deleted != "" {
			q.Set("filters[deleted]", opts.Deleted)
		}
		if opts.WithObsolete {
			q.Set("with_obsolete", "true")
		}
		if opts.Sort != "" {
			q.Set("sort", opts.Sort)
		}
	}
	var out []DrawingRevision
	resp, err := s.c.get(ctx, drawingRevisionsPath(projectID, 0, q), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// Revisions iterates over every page of a drawing revision listing.
func (s *DrawingsService) Revisions(ctx context.Context, projectID int64, opts *DrawingRevisionListOptions) iter.Seq2[DrawingRevision, error] {
	o := DrawingRevisionListOptions{}
	if opts != nil {
		o = *opts
	}
	return paginate(ctx, o.Page, func(page int) ([]DrawingRevision, *Response, error) {
		o.Page = page
		return s.ListRevisions(ctx, projectID, &o)
	})
}

// GetRevision returns one drawing revision
// (GET /rest/v1.0/projects/{project_id}/drawing_revisions/{id}).
func (s *DrawingsService) GetRevision(ctx context.Context, projectID, id int64) (*DrawingRevision, *Response, error) {
	var out DrawingRevision
	resp, err := s.c.get(ctx, drawingRevisionsPath(projectID, id, nil), &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
