package httpclient

import (
	"context"
	"errors"
	"fmt"
)

// ErrPageLoop and ErrTooManyPages are matched (errors.Is) by the
// *PageError of a listing that does not end.
var (
	// ErrPageLoop: the next link or cursor repeats an earlier page.
	ErrPageLoop = errors.New("the next link repeats an earlier page")
	// ErrTooManyPages: the listing went on past the sanity cap.
	ErrTooManyPages = errors.New("the listing did not end")
)

// PageError is a paginated listing stopped by a PageGuard.
type PageError struct {
	// Pages is how many pages had been admitted.
	Pages int
	// Err is ErrPageLoop or ErrTooManyPages.
	Err error
}

// Error describes why the listing stopped.
func (e *PageError) Error() string {
	if errors.Is(e.Err, ErrTooManyPages) {
		return fmt.Sprintf("the listing did not end after %d pages", e.Pages)
	}
	return e.Err.Error()
}

// Unwrap returns ErrPageLoop or ErrTooManyPages.
func (e *PageError) Unwrap() error { return e.Err }

// PageGuard bounds a paginated listing that follows next links, page
// numbers or cursors: it refuses a page it admitted before (a service that
// loops) and any page beyond Max. A fresh guard per listing.
type PageGuard struct {
	max  int
	n    int
	seen map[string]struct{}
}

// NewPageGuard returns a guard that admits at most max pages (max < 1:
// one page).
func NewPageGuard(max int) *PageGuard {
	return &PageGuard{max: max, seen: map[string]struct{}{}}
}

// Next admits the page at cursor (a link, a page number, an opaque
// cursor), or returns ctx's error or a *PageError saying why not.
func (g *PageGuard) Next(ctx context.Context, cursor string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, dup := g.seen[cursor]; dup {
		return &PageError{Pages: g.n, Err: ErrPageLoop}
	}
	if g.n >= max(g.max, 1) {
		return &PageError{Pages: g.n, Err: ErrTooManyPages}
	}
	g.n++
	g.seen[cursor] = struct{}{}
	return nil
}

// Pages returns how many pages were admitted.
func (g *PageGuard) Pages() int { return g.n }
