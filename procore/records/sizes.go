package records

import (
	"context"
	"io"
	"sync"

	"github.com/procoresync/procoresync/storage"
)

// sizeInfo is the size a file had at a Version.
type sizeInfo struct {
	version string
	size    int64
}

// measure gives every file of snap that its tool listed without a size
// (Procore's PDF exports and attachments, which Procore lists without
// one) its size: the engine syncs no file of unknown size. Each file is
// read once per Version (an export once per record version, an attachment
// once per attachment version); later listings reuse the size.
// Up to measureWorkers records are measured at once.
func (s *Storage) measure(ctx context.Context, snap *snapshot) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *built)
	errs := make(chan error, measureWorkers)
	var wg sync.WaitGroup
	for range measureWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if err := s.measureOne(ctx, b); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, b := range snap.records {
		select {
		case work <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// measureWorkers is how many records' files are measured at once.
const measureWorkers = 4

// measureOne measures the files of one laid-out record.
func (s *Storage) measureOne(ctx context.Context, b *built) error {
	if !b.folder.IsDir && b.folder.Size < 0 {
		n, err := s.sizeOf(ctx, b, b.folder)
		if err != nil {
			return err
		}
		b.folder.Size = n
	}
	for i, e := range b.files {
		if e.Size >= 0 {
			continue
		}
		n, err := s.sizeOf(ctx, b, e)
		if err != nil {
			return err
		}
		b.files[i].Size = n
	}
	return nil
}

// sizeOf is the size of file e of b at its Version, read to its end once.
func (s *Storage) sizeOf(ctx context.Context, b *built, e storage.Entry) (int64, error) {
	s.mu.Lock()
	info, ok := s.sizes[e.ID]
	s.mu.Unlock()
	if ok && info.version == e.Version {
		return info.size, nil
	}
	rc, err := s.openRef(ctx, b.refs[e.ID])
	if err != nil {
		return 0, s.storageErr("list", e.Path, err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		return 0, s.storageErr("list", e.Path, err)
	}
	s.mu.Lock()
	if s.sizes == nil {
		s.sizes = map[string]sizeInfo{}
	}
	s.sizes[e.ID] = sizeInfo{version: e.Version, size: n}
	s.mu.Unlock()
	return n, nil
}
