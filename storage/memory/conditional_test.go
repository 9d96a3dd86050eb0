package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

// TestConditionalDeleteMove: by default a stale Version refuses Delete
// and Move; WithConditionalDeleteMove(false) acts on the item as it is now,
// as a service without If-Match does.
func TestConditionalDeleteMove(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{true, false} {
		s := memory.New(memory.WithConditionalDeleteMove(on))
		f := s.Features()
		if f.ConditionalDelete != on || f.ConditionalMove != on {
			t.Fatalf("WithConditionalDeleteMove(%v): Features %+v", on, f)
		}
		stale, err := s.WriteFile("a.txt", []byte("1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteFile("a.txt", []byte("22")); err != nil {
			t.Fatal(err)
		}
		root, _ := s.Stat(ctx, "")
		_, merr := s.Move(ctx, stale, root, "b.txt")
		if on != errors.Is(merr, storage.ErrPreconditionFailed) || !on && merr != nil {
			t.Errorf("conditional %v: Move with a stale Version: %v", on, merr)
		}
		cur, err := s.StatID(ctx, stale.ID)
		if err != nil {
			t.Fatal(err)
		}
		cur.Version = stale.Version
		derr := s.Delete(ctx, cur)
		if on != errors.Is(derr, storage.ErrPreconditionFailed) || !on && derr != nil {
			t.Errorf("conditional %v: Delete with a stale Version: %v", on, derr)
		}
		if _, serr := s.StatID(ctx, stale.ID); on != (serr == nil) {
			t.Errorf("conditional %v: after Delete with a stale Version, StatID: %v", on, serr)
		}
	}
}

// TestPutReaderErrorAfterSize: a reader that fails right after the
// declared bytes commits nothing, whole or chunked (issue 9.6).
func TestPutReaderErrorAfterSize(t *testing.T) {
	ctx := context.Background()
	for _, chunked := range []bool{false, true} {
		s := memory.New()
		if chunked {
			s.SetChunking(4, 4)
		}
		root, _ := s.Stat(ctx, "")
		r := &errAfter{data: []byte("0123456789")}
		if _, err := s.Put(ctx, root, "f.txt", r, 10, storage.PutOptions{}); err == nil {
			t.Errorf("chunked %v: Put of a reader that fails after the declared bytes succeeded", chunked)
		} else {
			t.Logf("chunked %v: %v", chunked, err)
		}
		if _, err := s.Stat(ctx, "f.txt"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("chunked %v: after a failed Put, Stat: %v", chunked, err)
		}
	}
}

type errAfter struct{ data []byte }

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, errors.New("disk error")
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}
