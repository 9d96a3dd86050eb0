package procore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
)

// Delivery outcomes of the v1.0 deliveries log (Delivery.Outcome).
const (
	// DeliveryOK: the destination answered 2xx.
	DeliveryOK = "ok"
	// DeliveryRetried: the destination failed (non-2xx, timeout, no
	// connection); Procore retries with backoff, every delivery to the
	// destination paused meanwhile.
	DeliveryRetried = "retried"
	// DeliveryFailed: an attempt failed (listed by Procore's description
	// next to retried).
	DeliveryFailed = "failed"
	// DeliveryDiscarded: Procore gave up (after 12 hours of failures) and
	// will never deliver the event.
	DeliveryDiscarded = "discarded"
)

// Status filters of the v1.0 deliveries log (DeliveriesOptions.Status).
const (
	DeliveriesAny        = "any"
	DeliveriesSuccessful = "successful"
	DeliveriesFailing    = "failing"
	DeliveriesDiscarded  = "discarded"
)

// DeliveriesOptions choose what Deliveries reads.
type DeliveriesOptions struct {
	// After is the delivery id to start after (page_start: the last
	// Delivery.ID already read; 0 for the beginning of the log).
	After int64
	// PageSize is the deliveries per call (page_size; default 100, the
	// endpoint's default).
	PageSize int
	// Status is filters[status]: DeliveriesAny (the default),
	// DeliveriesSuccessful, DeliveriesFailing or DeliveriesDiscarded.
	Status string
	// MaxPages bounds the calls (default MaxPages).
	MaxPages int
}

// Deliveries reads a hook's delivery log in order, one call per page
// (GET /rest/v1.0/webhooks/hooks/{hook_id}/deliveries?company_id=|project_id=,
// page_size, page_start = the last delivery id of the previous page,
// filters[status]), until a short or empty page. The log lists every
// event Procore sent (or tried to send) to the hook, with its outcome: a
// page of a company hook covers every project of the company. A page
// whose last delivery id does not advance the cursor (which would repeat
// the page forever), or MaxPages pages without an end, stop the listing
// with a *PaginationError (ErrPagination). Every call obeys ctx.
func (s *WebhooksService) Deliveries(ctx context.Context, sc WebhookScope, hookID int64, opts DeliveriesOptions) iter.Seq2[Delivery, error] {
	return func(yield func(Delivery, error) bool) {
		size := opts.PageSize
		if size <= 0 {
			size = 100
		}
		limit := opts.MaxPages
		if limit <= 0 {
			limit = MaxPages
		}
		if hookID <= 0 {
			yield(Delivery{}, fmt.Errorf("procore: invalid webhook hook id %d", hookID))
			return
		}
		cursor := opts.After
		path := "/rest/v1.0/webhooks/hooks/" + itoa(hookID) + "/deliveries"
		for page := 1; ; page++ {
			if page > limit {
				yield(Delivery{}, &PaginationError{Path: path, Page: page, Reason: "more than " + strconv.Itoa(limit) + " pages"})
				return
			}
			if err := ctx.Err(); err != nil {
				yield(Delivery{}, err)
				return
			}
			q := sc.values()
			q.Set("page_size", strconv.Itoa(size))
			if cursor > 0 {
				q.Set("page_start", itoa(cursor))
			}
			if opts.Status != "" {
				q.Set("filters[status]", opts.Status)
			}
			var items []Delivery
			if _, err := s.c.get(ctx, path+"?"+q.Encode(), &items); err != nil {
				yield(Delivery{}, err)
				return
			}
			for _, d := range items {
				if !yield(d, nil) {
					return
				}
			}
			if len(items) < size {
				return
			}
			last := items[len(items)-1].ID
			if last <= cursor {
				yield(Delivery{}, &PaginationError{Path: path, Page: page,
					Reason: fmt.Sprintf("page_start %d: the last delivery id %d does not advance", cursor, last)})
				return
			}
			cursor = last
		}
	}
}

// ParseEvent decodes the delivery's event (any payload version) with
// ParseEvent. A delivery whose event is missing or unreadable gives an
// error; its Outcome and IDs are still valid.
func (d Delivery) ParseEvent() (Event, error) {
	if len(d.Event) == 0 || string(d.Event) == "null" {
		return Event{}, errors.New("procore: webhook delivery without an event")
	}
	return ParseEvent(d.Event)
}

// Delivered reports whether the destination acknowledged the delivery
// (Outcome ok).
func (d Delivery) Delivered() bool { return d.Outcome == DeliveryOK }
