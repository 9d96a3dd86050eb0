package connect

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/procoresync/procoresync/internal/atomicfile"
)

// Record is a stored connection: what may be shown, and the sealed
// secrets (tokens, a custom client secret) only the Manager's key opens.
type Record struct {
	Connection Connection `json:"connection"`
	Sealed     []byte     `json:"sealed"`
}

// Store keeps connection records. Implementations are safe for concurrent
// use.
type Store interface {
	// Put stores or replaces the record with its Connection.ID.
	Put(ctx context.Context, r Record) error
	// Get returns the record or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Delete removes the record (ErrNotFound when absent).
	Delete(ctx context.Context, id string) error
	// List returns every record, ordered by Connection.Created then ID.
	List(ctx context.Context) ([]Record, error)
}

// MemoryStore is a Store in memory.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]Record
}

// NewMemoryStore returns an empty in-memory Store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]Record{}} }

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Sealed = slices.Clone(r.Sealed)
	s.m[r.Connection.ID] = r
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[id]
	if !ok {
		return Record{}, fmt.Errorf("connect: connection %q: %w", id, ErrNotFound)
	}
	r.Sealed = slices.Clone(r.Sealed)
	return r, nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; !ok {
		return fmt.Errorf("connect: connection %q: %w", id, ErrNotFound)
	}
	delete(s.m, id)
	return nil
}

// List implements Store.
func (s *MemoryStore) List(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.m))
	for _, r := range s.m {
		out = append(out, r)
	}
	sortRecords(out)
	return out, nil
}

func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		if c := a.Connection.Created.Compare(b.Connection.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.Connection.ID, b.Connection.ID)
	})
}

// FileStore is a Store in one JSON file (mode 0600), replaced atomically
// (temporary file, fsync, rename) on every change. Secrets in it are
// sealed; the file is still kept private.
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns a FileStore at path (created on the first Put).
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path returns the store's file.
func (s *FileStore) Path() string { return s.path }

func (s *FileStore) load() (map[string]Record, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("connect: reading the connection store: %w", err)
	}
	m := map[string]Record{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("connect: the connection store %s is corrupt: %w", s.path, err)
	}
	return m, nil
}

func (s *FileStore) save(m map[string]Record) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, b); err != nil {
		return fmt.Errorf("connect: writing the connection store: %w", err)
	}
	return nil
}

// Put implements Store.
func (s *FileStore) Put(_ context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	m[r.Connection.ID] = r
	return s.save(m)
}

// Get implements Store.
func (s *FileStore) Get(_ context.Context, id string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return Record{}, err
	}
	r, ok := m[id]
	if !ok {
		return Record{}, fmt.Errorf("connect: connection %q: %w", id, ErrNotFound)
	}
	return r, nil
}

// Delete implements Store.
func (s *FileStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := m[id]; !ok {
		return fmt.Errorf("connect: connection %q: %w", id, ErrNotFound)
	}
	delete(m, id)
	return s.save(m)
}

// List implements Store.
func (s *FileStore) List(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	sortRecords(out)
	return out, nil
}
