package auth

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFileAccounts: accounts survive a reopen, the file is 0600 and holds
// no password, and a file others can read or a corrupt one is refused.
func TestFileAccounts(t *testing.T) {
	ctx := t.Context()
	p := filepath.Join(t.TempDir(), "accounts.json")
	s, err := OpenFileAccounts(p)
	require.NoError(t, err)
	a := Account{Email: "owner@example.com", Role: RoleOwner, PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", Created: time.Unix(1, 0).UTC()}
	require.NoError(t, s.Create(ctx, a))
	require.ErrorIs(t, s.Create(ctx, a), ErrAccountExists)
	v := Account{Email: "viewer@example.com", Role: RoleViewer}
	require.NoError(t, s.Create(ctx, v))
	v.Role = RoleAdmin
	require.NoError(t, s.Update(ctx, v))
	require.ErrorIs(t, s.Update(ctx, Account{Email: "nobody@example.com", Role: RoleViewer}), ErrNoAccount)

	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	s2, err := OpenFileAccounts(p)
	require.NoError(t, err)
	got, err := s2.Get(ctx, "owner@example.com")
	require.NoError(t, err)
	require.Equal(t, a, got)
	list, err := s2.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, RoleAdmin, list[1].Role)
	require.NoError(t, s2.Delete(ctx, "viewer@example.com"))
	require.ErrorIs(t, s2.Delete(ctx, "viewer@example.com"), ErrNoAccount)
	s3, err := OpenFileAccounts(p)
	require.NoError(t, err)
	_, err = s3.Get(ctx, "viewer@example.com")
	require.ErrorIs(t, err, ErrNoAccount)

	require.NoError(t, os.Chmod(p, 0o644))
	_, err = OpenFileAccounts(p)
	require.ErrorContains(t, err, "readable by others")
	require.NoError(t, os.Chmod(p, 0o600))
	require.NoError(t, os.WriteFile(p, []byte(`[{"Email":"Not An Email","Role":"owner"}]`), 0o600))
	_, err = OpenFileAccounts(p)
	require.ErrorContains(t, err, "invalid account")
	require.NoError(t, os.WriteFile(p, []byte(`{`), 0o600))
	_, err = OpenFileAccounts(p)
	require.ErrorContains(t, err, "corrupt")
}
