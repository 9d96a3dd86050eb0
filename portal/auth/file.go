package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/procoresync/procoresync/internal/atomicfile"
)

// FileAccounts is an AccountStore in one JSON file (mode 0600, replaced
// atomically on every change), for a portal that runs as one process:
// accounts survive restarts. It holds password hashes, never passwords.
// Several processes must not share one file; use a database-backed
// AccountStore for that. It keeps the accounts in a MemoryAccounts and
// applies each change to a copy that replaces it once the file is saved.
type FileAccounts struct {
	path string
	mu   sync.Mutex // serialises changes
	mem  atomic.Pointer[MemoryAccounts]
}

// OpenFileAccounts reads the accounts at path (none yet: an empty store,
// the file is made on the first change). A file others can read, or one
// that is not an account file, is refused.
func OpenFileAccounts(path string) (*FileAccounts, error) {
	s := &FileAccounts{path: path}
	mem := NewMemoryAccounts()
	s.mem.Store(mem)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: account file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth: account file %s is readable by others (mode %v): make it 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: account file: %w", err)
	}
	var list []Account
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("auth: account file %s is corrupt: %w", path, err)
	}
	for _, a := range list {
		if e, err := NormalizeEmail(a.Email); err != nil || e != a.Email || !a.Role.Valid() {
			return nil, fmt.Errorf("auth: account file %s holds an invalid account", path)
		}
		mem.m[a.Email] = a
	}
	return s, nil
}

// change applies f to a copy of the accounts and keeps the copy once it
// is saved.
func (s *FileAccounts) change(ctx context.Context, f func(m *MemoryAccounts) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, _ := s.mem.Load().List(ctx)
	next := NewMemoryAccounts()
	for _, a := range list {
		next.m[a.Email] = a
	}
	if err := f(next); err != nil {
		return err
	}
	list, _ = next.List(ctx)
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, b); err != nil {
		return fmt.Errorf("auth: saving the accounts: %w", err)
	}
	s.mem.Store(next)
	return nil
}

// Get implements AccountStore.
func (s *FileAccounts) Get(ctx context.Context, email string) (Account, error) {
	return s.mem.Load().Get(ctx, email)
}

// List implements AccountStore.
func (s *FileAccounts) List(ctx context.Context) ([]Account, error) { return s.mem.Load().List(ctx) }

// Create implements AccountStore.
func (s *FileAccounts) Create(ctx context.Context, a Account) error {
	return s.change(ctx, func(m *MemoryAccounts) error { return m.Create(ctx, a) })
}

// Update implements AccountStore.
func (s *FileAccounts) Update(ctx context.Context, a Account) error {
	return s.change(ctx, func(m *MemoryAccounts) error { return m.Update(ctx, a) })
}

// Delete implements AccountStore.
func (s *FileAccounts) Delete(ctx context.Context, email string) error {
	return s.change(ctx, func(m *MemoryAccounts) error { return m.Delete(ctx, email) })
}
