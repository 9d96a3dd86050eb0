package auth

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

// FileAccounts is an AccountStore in one JSON file (mode 0600, replaced
// atomically on every change), for a portal that runs as one process:
// accounts survive restarts. It holds password hashes, never passwords.
// Several processes must not share one file; use a database-backed
// AccountStore for that.
type FileAccounts struct {
	path string
	mu   sync.Mutex
	m    map[string]Account
}

// OpenFileAccounts reads the accounts at path (none yet: an empty store,
// the file is made on the first change). A file others can read, or one
// that is not an account file, is refused.
func OpenFileAccounts(path string) (*FileAccounts, error) {
	s := &FileAccounts{path: path, m: map[string]Account{}}
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
		s.m[a.Email] = a
	}
	return s, nil
}

// save writes m (the caller holds s.mu).
func (s *FileAccounts) save(m map[string]Account) error {
	list := make([]Account, 0, len(m))
	for _, a := range m {
		list = append(list, a)
	}
	slices.SortFunc(list, func(x, y Account) int { return cmp.Compare(x.Email, y.Email) })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, b); err != nil {
		return fmt.Errorf("auth: saving the accounts: %w", err)
	}
	return nil
}

// change applies f to a copy of the accounts and keeps it once saved.
func (s *FileAccounts) change(f func(m map[string]Account) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]Account, len(s.m)+1)
	for k, v := range s.m {
		next[k] = v
	}
	if err := f(next); err != nil {
		return err
	}
	if err := s.save(next); err != nil {
		return err
	}
	s.m = next
	return nil
}

// Get implements AccountStore.
func (s *FileAccounts) Get(_ context.Context, email string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.m[email]
	if !ok {
		return Account{}, ErrNoAccount
	}
	return a, nil
}

// Create implements AccountStore.
func (s *FileAccounts) Create(_ context.Context, a Account) error {
	return s.change(func(m map[string]Account) error {
		if _, ok := m[a.Email]; ok {
			return ErrAccountExists
		}
		m[a.Email] = a
		return nil
	})
}

// Update implements AccountStore.
func (s *FileAccounts) Update(_ context.Context, a Account) error {
	return s.change(func(m map[string]Account) error {
		if _, ok := m[a.Email]; !ok {
			return ErrNoAccount
		}
		m[a.Email] = a
		return nil
	})
}

// Delete implements AccountStore.
func (s *FileAccounts) Delete(_ context.Context, email string) error {
	return s.change(func(m map[string]Account) error {
		if _, ok := m[email]; !ok {
			return ErrNoAccount
		}
		delete(m, email)
		return nil
	})
}

// List implements AccountStore.
func (s *FileAccounts) List(context.Context) ([]Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, 0, len(s.m))
	for _, a := range s.m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Account) int { return cmp.Compare(x.Email, y.Email) })
	return out, nil
}
