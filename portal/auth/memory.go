package auth

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// MemoryAccounts is an AccountStore in memory.
type MemoryAccounts struct {
	mu sync.Mutex
	m  map[string]Account
}

// NewMemoryAccounts returns an empty in-memory AccountStore.
func NewMemoryAccounts() *MemoryAccounts { return &MemoryAccounts{m: map[string]Account{}} }

// Get implements AccountStore.
func (s *MemoryAccounts) Get(_ context.Context, email string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.m[email]
	if !ok {
		return Account{}, ErrNoAccount
	}
	return a, nil
}

// Create implements AccountStore.
func (s *MemoryAccounts) Create(_ context.Context, a Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[a.Email]; ok {
		return ErrAccountExists
	}
	s.m[a.Email] = a
	return nil
}

// Update implements AccountStore.
func (s *MemoryAccounts) Update(_ context.Context, a Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[a.Email]; !ok {
		return ErrNoAccount
	}
	s.m[a.Email] = a
	return nil
}

// Delete implements AccountStore.
func (s *MemoryAccounts) Delete(_ context.Context, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[email]; !ok {
		return ErrNoAccount
	}
	delete(s.m, email)
	return nil
}

// List implements AccountStore.
func (s *MemoryAccounts) List(context.Context) ([]Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, 0, len(s.m))
	for _, a := range s.m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Account) int { return cmp.Compare(x.Email, y.Email) })
	return out, nil
}

// MemorySessions is a SessionStore in memory. Expired sessions are
// dropped when read.
type MemorySessions struct {
	mu sync.Mutex
	m  map[string]Session
}

// NewMemorySessions returns an empty in-memory SessionStore.
func NewMemorySessions() *MemorySessions { return &MemorySessions{m: map[string]Session{}} }

// Put implements SessionStore.
func (s *MemorySessions) Put(_ context.Context, key string, ss Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = ss
	return nil
}

// Get implements SessionStore.
func (s *MemorySessions) Get(_ context.Context, key string) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[key]
	if !ok {
		return Session{}, ErrNoSession
	}
	return ss, nil
}

// Delete implements SessionStore.
func (s *MemorySessions) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// DeleteByID implements SessionStore.
func (s *MemorySessions) DeleteByID(_ context.Context, email, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ss := range s.m {
		if ss.ID == id && (email == "" || ss.Email == email) {
			delete(s.m, k)
			return nil
		}
	}
	return ErrNoSession
}

// DeleteAccount implements SessionStore.
func (s *MemorySessions) DeleteAccount(_ context.Context, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ss := range s.m {
		if ss.Email == email {
			delete(s.m, k)
		}
	}
	return nil
}

// List implements SessionStore.
func (s *MemorySessions) List(_ context.Context, email string) ([]Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Session
	for _, ss := range s.m {
		if ss.Email == email {
			out = append(out, ss)
		}
	}
	slices.SortFunc(out, func(x, y Session) int { return y.Created.Compare(x.Created) })
	return out, nil
}
