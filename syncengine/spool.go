package syncengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// spoolMemory is the size up to which a file of unknown size is kept in
// memory while it is copied; larger files go to a temporary file.
const spoolMemory = 4 << 20

// spooled is the complete content of a source of unknown size, in memory
// or in a temporary file.
type spooled struct {
	size int64
	mem  []byte
	f    *os.File
}

// reader returns the content from its start.
func (s *spooled) reader() (io.Reader, error) {
	if s.f == nil {
		return bytes.NewReader(s.mem), nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("syncengine: spool: %w", err)
	}
	return s.f, nil
}

// Close removes the temporary file, if any.
func (s *spooled) Close() error {
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	return errors.Join(s.f.Close(), os.Remove(name))
}

// spool reads r to its end, in memory while it stays within spoolMemory
// bytes, else into a temporary file in dir (created readable by its owner
// only, removed by Close). It fails with ErrSpoolTooLarge when r yields
// more than max bytes, and stops when ctx is done.
func spool(ctx context.Context, r io.Reader, dir string, max int64) (*spooled, error) {
	r = ctxReader{ctx: ctx, r: r}
	memMax := min(int64(spoolMemory), max)
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, memMax+1))
	if err != nil {
		return nil, err
	}
	if n <= memMax {
		return &spooled{size: n, mem: buf.Bytes()}, nil
	}
	if n > max {
		return nil, fmt.Errorf("%w (%d bytes)", ErrSpoolTooLarge, max)
	}
	f, err := os.CreateTemp(dir, "procoresync-spool-*")
	if err != nil {
		return nil, fmt.Errorf("syncengine: spool: %w", err)
	}
	s := &spooled{f: f}
	if err := f.Chmod(0o600); err != nil {
		s.Close()
		return nil, fmt.Errorf("syncengine: spool: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		s.Close()
		return nil, fmt.Errorf("syncengine: spool: %w", err)
	}
	m, err := io.Copy(f, io.LimitReader(r, max-n+1))
	if err != nil {
		s.Close()
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("syncengine: spool: %w", err)
		}
		return nil, err
	}
	if n+m > max {
		s.Close()
		return nil, fmt.Errorf("%w (%d bytes)", ErrSpoolTooLarge, max)
	}
	s.size = n + m
	return s, nil
}

// ctxReader ends a read with ctx's error once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
