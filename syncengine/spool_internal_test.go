package syncengine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// endless yields bytes forever and counts them.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestSpool(t *testing.T) {
	ctx := context.Background()
	t.Run("memory", func(t *testing.T) {
		dir := t.TempDir()
		s, err := spool(ctx, strings.NewReader("small"), dir, 1<<30)
		require.NoError(t, err)
		defer s.Close()
		require.EqualValues(t, 5, s.size)
		r, err := s.reader()
		require.NoError(t, err)
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Equal(t, "small", string(b))
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, ents)
	})
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		data := bytes.Repeat([]byte("0123456789"), spoolMemory/10+7)
		s, err := spool(ctx, bytes.NewReader(data), dir, 1<<30)
		require.NoError(t, err)
		require.EqualValues(t, len(data), s.size)
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, ents, 1)
		fi, err := ents[0].Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		for range 2 { // read twice: each reader starts at the beginning
			r, err := s.reader()
			require.NoError(t, err)
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, b))
		}
		require.NoError(t, s.Close())
		ents, err = os.ReadDir(dir)
		require.NoError(t, err)
		require.Empty(t, ents)
	})
	t.Run("exactly max", func(t *testing.T) {
		s, err := spool(ctx, strings.NewReader("12345"), t.TempDir(), 5)
		require.NoError(t, err)
		require.EqualValues(t, 5, s.size)
		s.Close()
	})
	for _, max := range []int64{5, spoolMemory + 5} {
		t.Run("too large", func(t *testing.T) {
			dir := t.TempDir()
			src := &endless{}
			_, err := spool(ctx, src, dir, max)
			require.ErrorIs(t, err, ErrSpoolTooLarge)
			require.LessOrEqual(t, src.n, max+64<<10, "stops reading soon after max")
			ents, _ := os.ReadDir(dir)
			require.Empty(t, ents)
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		cctx, cancel := context.WithCancelCause(ctx)
		stop := errors.New("stop")
		src := &cancelAt{r: &endless{}, at: spoolMemory + 100, cancel: func() { cancel(stop) }}
		_, err := spool(cctx, src, dir, 1<<40)
		require.ErrorIs(t, err, stop)
		ents, _ := os.ReadDir(dir)
		require.Empty(t, ents)
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("reset")
		_, err := spool(ctx, io.MultiReader(strings.NewReader("abc"), errReader{boom}), t.TempDir(), 100)
		require.ErrorIs(t, err, boom)
	})
}

type cancelAt struct {
	r      io.Reader
	n, at  int64
	cancel func()
}

func (c *cancelAt) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.at {
		c.cancel()
	}
	return n, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// A transfer of unknown size gets the deadline of the largest file it may
// be (Options.MaxSpoolSize at MinTransferRate).
func TestActionTimeoutOfUnknownSize(t *testing.T) {
	e := &Engine{opts: Options{ActionTimeout: 30 * time.Minute, MinTransferRate: 1 << 20, MaxSpoolSize: 2 << 30}}
	require.Equal(t, 30*time.Minute+2048*time.Second, e.actionTimeout(Action{Kind: ActionCopy, Source: storage.Entry{Size: -1}}))
}
