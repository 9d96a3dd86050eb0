package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/portal/auth"
)

var cheap = &auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}

const pw = "correct horse battery staple"

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword(pw) // the production cost
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, pw) {
		t.Fatalf("hash %q", h)
	}
	h2, _ := auth.HashPassword(pw)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{pw, true}, {pw + " ", false}, {"", false}, {strings.Repeat("x", auth.MaxPasswordLength+1), false}} {
		if ok, err := auth.VerifyPassword(h, tc.pw); ok != tc.want || err != nil {
			t.Errorf("VerifyPassword(%.20q) = %v %v", tc.pw, ok, err)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=19456,t=2,p=1$AAAA", "$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if _, err := auth.VerifyPassword(bad, pw); !errors.Is(err, auth.ErrBadHash) {
			t.Errorf("VerifyPassword(%q): %v", bad, err)
		}
	}
}

func newAuth(t *testing.T, now *time.Time, opt auth.Options) *auth.Authenticator {
	t.Helper()
	opt.Hasher = cheap
	opt.Now = func() time.Time { return *now }
	a, err := auth.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginSessionsAndCSRF(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	a := newAuth(t, &now, auth.Options{SessionTTL: 8 * time.Hour, IdleTimeout: time.Hour})
	if _, err := a.CreateAccount(ctx, "Ada@Example.com", "Ada", auth.RoleAdmin, pw); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ email, pw string }{{"ada@example.com", "wrong password!!"}, {"bob@example.com", pw}} {
		if _, _, err := a.Login(ctx, bad.email, bad.pw, auth.Client{Address: "10.0.0.1"}); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("login %s: %v", bad.email, err)
		}
	}
	tok, s, err := a.Login(ctx, "ADA@example.com", pw, auth.Client{Address: "10.0.0.1", UserAgent: "test"})
	if err != nil || len(tok) < 40 || s.Email != "ada@example.com" || len(s.CSRF) < 40 || s.ID == tok {
		t.Fatalf("login: %q %+v %v", tok, s, err)
	}
	if _, acct, err := a.Resolve(ctx, tok); err != nil || acct.Role != auth.RoleAdmin {
		t.Fatalf("resolve: %+v %v", acct, err)
	}
	if err := auth.CheckCSRF(s, s.CSRF); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", s.CSRF[:10], tok} {
		if err := auth.CheckCSRF(s, bad); !errors.Is(err, auth.ErrBadCSRF) {
			t.Errorf("CSRF %q accepted", bad)
		}
	}
	// Idle for longer than the idle timeout: the session ends.
	now = now.Add(61 * time.Minute)
	if _, _, err := a.Resolve(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("idle session: %v", err)
	}
	// Used often, it still ends at its TTL.
	tok, _, _ = a.Login(ctx, "ada@example.com", pw, auth.Client{})
	alive := 0
	for range 10 {
		now = now.Add(59 * time.Minute)
		if _, _, err := a.Resolve(ctx, tok); err != nil {
			break
		}
		alive++
	}
	if alive != 8 {
		t.Fatalf("a session used every 59 minutes lived %d hours, want 8 (its TTL)", alive)
	}
	if _, _, err := a.Resolve(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("session past its TTL: %v", err)
	}
	// Disabling an account ends its sessions.
	tok, _, _ = a.Login(ctx, "ada@example.com", pw, auth.Client{})
	yes := true
	if _, err := a.UpdateAccount(ctx, "ada@example.com", auth.AccountChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Resolve(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("disabled account: %v", err)
	}
	if _, _, err := a.Login(ctx, "ada@example.com", pw, auth.Client{}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("disabled account signs in: %v", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	a := newAuth(t, &now, auth.Options{}) // defaults: 5 per account, then one per 20 s; 20 per address
	if _, err := a.CreateAccount(ctx, "ada@example.com", "", auth.RoleViewer, pw); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, _, err := a.Login(ctx, "ada@example.com", "guess "+strings.Repeat("x", i+10), auth.Client{Address: "10.0.0.1"}); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// The sixth attempt is refused before the password is looked at, even
	// the right one, and from another address.
	_, _, err := a.Login(ctx, "ada@example.com", pw, auth.Client{Address: "10.0.0.2"})
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, auth.ErrRateLimited) || rl.RetryAfter <= 0 || rl.RetryAfter > 20*time.Second {
		t.Fatalf("sixth attempt: %v", err)
	}
	now = now.Add(20 * time.Second)
	if _, _, err := a.Login(ctx, "ada@example.com", pw, auth.Client{Address: "10.0.0.2"}); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	// Per address: 20 attempts on many accounts from one address.
	for i := range 20 {
		_, _, _ = a.Login(ctx, "nobody"+strings.Repeat("x", i)+"@example.com", "whatever whatever", auth.Client{Address: "10.9.9.9"})
	}
	if _, _, err := a.Login(ctx, "someone@example.com", "whatever whatever", auth.Client{Address: "10.9.9.9"}); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("21st attempt from one address: %v", err)
	}
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	a := newAuth(t, &now, auth.Options{})
	if ok, err := a.Bootstrap(ctx, "owner@example.com", pw); !ok || err != nil {
		t.Fatalf("bootstrap: %v %v", ok, err)
	}
	if ok, err := a.Bootstrap(ctx, "second@example.com", pw); ok || err != nil {
		t.Fatalf("second bootstrap: %v %v", ok, err)
	}
	for _, tc := range []struct {
		email, pw string
		role      auth.Role
		want      error
	}{
		{"not an email", pw, auth.RoleViewer, auth.ErrBadEmail},
		{"x@example.com", "short", auth.RoleViewer, auth.ErrPasswordTooShort},
		{"x@example.com", pw, "god", auth.ErrBadRole},
		{"OWNER@example.com", pw, auth.RoleViewer, auth.ErrAccountExists},
	} {
		if _, err := a.CreateAccount(ctx, tc.email, "", tc.role, tc.pw); !errors.Is(err, tc.want) {
			t.Errorf("CreateAccount(%q, %q): %v, want %v", tc.email, tc.role, err, tc.want)
		}
	}
	viewer := auth.RoleViewer
	if _, err := a.UpdateAccount(ctx, "owner@example.com", auth.AccountChange{Role: &viewer}); !errors.Is(err, auth.ErrLastOwner) {
		t.Fatalf("demoting the last owner: %v", err)
	}
	if err := a.DeleteAccount(ctx, "owner@example.com"); !errors.Is(err, auth.ErrLastOwner) {
		t.Fatalf("deleting the last owner: %v", err)
	}
	tok, _, _ := a.Login(ctx, "owner@example.com", pw, auth.Client{})
	now = now.Add(time.Second)
	if err := a.SetPassword(ctx, "owner@example.com", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Resolve(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("session after a password change: %v", err)
	}
	if !auth.RoleOwner.AtLeast(auth.RoleAdmin) || auth.RoleViewer.AtLeast(auth.RoleAdmin) || auth.Role("").AtLeast(auth.RoleViewer) {
		t.Fatal("role order")
	}
}
