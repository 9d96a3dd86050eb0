package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/procoresync/procoresync/internal/atomicfile"
)

// ErrCorruptImportLog: a FileImportLog's file is not one this package
// wrote (or was cut short by something else than this package).
var ErrCorruptImportLog = errors.New("records: corrupt import log")

// maxImportLogSize bounds the file OpenFileImportLog reads.
const maxImportLogSize = 64 << 20

// importLogVersion is the format version a FileImportLog writes.
const importLogVersion = 1

// importLogFile is a FileImportLog's file: JSON.
type importLogFile struct {
	Version int      `json:"version"`
	Keys    []string `json:"keys"`
}

// FileImportLog is an ImportLog kept in a JSON file (mode 0600), for
// DailyLogPhotoImporter across restarts. Each MarkImported replaces the
// file atomically (a temporary file in the same folder, written, synced
// and renamed over it, then the folder synced), so a crash leaves the old
// or the new file, never a torn one. It is safe for concurrent use within
// one process; two processes must not share a file.
type FileImportLog struct {
	path string
	mu   sync.Mutex
	keys map[string]bool
}

// Compile-time check.
var _ ImportLog = (*FileImportLog)(nil)

// OpenFileImportLog opens the log kept at path, reading what it holds (a
// missing file is an empty log; its folder must exist). A file that is not
// a log gives an error matching ErrCorruptImportLog.
func OpenFileImportLog(path string) (*FileImportLog, error) {
	l := &FileImportLog{path: path, keys: map[string]bool{}}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("records: import log: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImportLogSize+1))
	if err != nil {
		return nil, fmt.Errorf("records: import log %s: %w", path, err)
	}
	if len(b) > maxImportLogSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorruptImportLog, path, maxImportLogSize)
	}
	var lf importLogFile
	if err := json.Unmarshal(b, &lf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptImportLog, path, err)
	}
	if lf.Version != importLogVersion {
		return nil, fmt.Errorf("%w: %s: version %d, not %d", ErrCorruptImportLog, path, lf.Version, importLogVersion)
	}
	for _, k := range lf.Keys {
		l.keys[k] = true
	}
	return l, nil
}

// Path returns the log's file.
func (l *FileImportLog) Path() string { return l.path }

// Len returns how many keys the log holds.
func (l *FileImportLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Imported reports whether key was marked.
func (l *FileImportLog) Imported(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[key], nil
}

// MarkImported marks key and writes the log before it returns. When the
// write fails the key is not marked.
func (l *FileImportLog) MarkImported(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys[key] {
		return nil
	}
	l.keys[key] = true
	if err := l.write(); err != nil {
		delete(l.keys, key)
		return err
	}
	return nil
}

// Remove deletes the log's file and forgets every key.
func (l *FileImportLog) Remove() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.keys)
	if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("records: import log: %w", err)
	}
	return nil
}

// write replaces the file with the keys (the caller holds l.mu).
func (l *FileImportLog) write() error {
	lf := importLogFile{Version: importLogVersion, Keys: make([]string, 0, len(l.keys))}
	for k := range l.keys {
		lf.Keys = append(lf.Keys, k)
	}
	slices.Sort(lf.Keys)
	b, err := json.Marshal(lf)
	if err != nil {
		return fmt.Errorf("records: import log: %w", err)
	}
	if err := atomicfile.WriteFile(l.path, b); err != nil {
		return fmt.Errorf("records: import log: %w", err)
	}
	return nil
}
