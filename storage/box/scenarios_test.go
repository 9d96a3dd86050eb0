package box_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
)

// contractOps are the operations the scenarios and the conformance run
// must exercise.
var contractOps = []string{"post_oauth2_token", "post_oauth2_token#refresh", "get_users_me", "post_folders", "get_folders_id",
	"put_folders_id", "delete_folders_id", "get_folders_id_items", "get_files_id", "put_files_id", "delete_files_id",
	"get_files_id_content", "post_files_id_copy", "options_files_content", "post_files_content", "post_files_id_content",
	"post_files_upload_sessions", "post_files_id_upload_sessions", "put_files_upload_sessions_id",
	"delete_files_upload_sessions_id", "get_files_upload_sessions_id_parts", "post_files_upload_sessions_id_commit",
	"options_events", "get_events", "post_webhooks", "get_webhooks", "get_webhooks_id", "delete_webhooks_id"}

func TestScenarios(t *testing.T) {
	scenarios(t, newEnv(t, boxtest.Options{PageSize: 2}))
}

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// recPacer records what the client told the Pacer.
type recPacer struct {
	mu    sync.Mutex
	waits map[string]int
	fb    []storage.Feedback
}

func (p *recPacer) Wait(_ context.Context, key string, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waits == nil {
		p.waits = map[string]int{}
	}
	p.waits[key] += n
	return nil
}

func (p *recPacer) Observe(_ string, fb storage.Feedback) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fb = append(p.fb, fb)
}

// scenarios drives every operation of the client through the fake,
// checking the behaviours Box is known for.
func scenarios(t *testing.T, e *env) {
	srv := e.srv
	s := e.storage(t, "Scenarios")
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)

	t.Run("ConflictShapesAndVersions", func(t *testing.T) {
		// Box sends 409 conflicts as an array or an object (the fake
		// alternates): both lead to a new version of the same file.
		a, err := s.Put(ctx, root, "a.txt", bytes.NewReader([]byte("one")), 3, storage.PutOptions{})
		require.NoError(t, err)
		for i, v := range []string{"two", "three"} {
			b, err := s.Put(ctx, root, "A.TXT", strings.NewReader(v), int64(len(v)), storage.PutOptions{})
			require.NoError(t, err, "overwrite %d", i)
			require.Equal(t, a.ID, b.ID)
			require.Equal(t, "a.txt", b.Name(), "the name Box keeps")
			a = b
		}
		_, err = s.Put(ctx, root, "a.txt", strings.NewReader("x"), 1, storage.PutOptions{NoOverwrite: true})
		require.ErrorIs(t, err, storage.ErrAlreadyExists)
		_, err = s.Put(ctx, root, "a.txt", strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: "999"})
		require.ErrorIs(t, err, storage.ErrPreconditionFailed)
		_, err = s.Put(ctx, root, "none.txt", strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: a.Version})
		require.ErrorIs(t, err, storage.ErrPreconditionFailed)
		_, err = s.Put(ctx, root, "none.txt", strings.NewReader("x"), 1, storage.PutOptions{})
		require.NoError(t, err)
		_, err = s.Move(ctx, storage.Entry{ID: a.ID, Path: a.Path, Version: "999"}, root, "b.txt")
		require.ErrorIs(t, err, storage.ErrPreconditionFailed)
		require.ErrorIs(t, s.Delete(ctx, storage.Entry{ID: a.ID, Path: a.Path, Version: "999"}), storage.ErrPreconditionFailed)
		got, ok := srv.Content(a.ID)
		require.True(t, ok, "a refused delete deletes nothing")
		require.Equal(t, "three", string(got))
		d, err := s.MakeDir(ctx, root, "dir")
		require.NoError(t, err)
		d2, err := s.MakeDir(ctx, root, "DIR")
		require.ErrorIs(t, err, storage.ErrAlreadyExists)
		require.Equal(t, d.ID, d2.ID)
		_, err = s.Move(ctx, storage.Entry{ID: d.ID, IsDir: true, Path: "dir", Version: "999"}, root, "dir2")
		require.ErrorIs(t, err, storage.ErrPreconditionFailed)
		d, err = s.Move(ctx, d, root, "dir2")
		require.NoError(t, err)
		require.ErrorIs(t, s.Delete(ctx, storage.Entry{ID: d.ID, IsDir: true, Version: "999"}), storage.ErrPreconditionFailed)
		require.NoError(t, s.Delete(ctx, d))
		require.True(t, srv.Trashed(d.ID), "Delete moves to the trash")
		cp, err := s.Copy(ctx, a, root, "copy.txt")
		require.NoError(t, err)
		got, _ = srv.Content(cp.ID)
		require.Equal(t, "three", string(got))
		_, err = s.Copy(ctx, a, root, `bad\name`)
		require.ErrorIs(t, err, storage.ErrInvalidName, "Box would strip the character silently")
	})

	t.Run("Download", func(t *testing.T) {
		f, err := s.Put(ctx, root, "r.bin", bytes.NewReader(data(3000)), 3000, storage.PutOptions{})
		require.NoError(t, err)
		before := srv.CallCount("get_files_id_content")
		rc, err := s.OpenAt(ctx, f, 1000)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, rc.Close())
		require.NoError(t, err)
		require.Equal(t, data(3000)[1000:], b)
		require.Equal(t, 2, srv.CallCount("get_files_id_content")-before, "a 202 + Retry-After right after the upload, then the redirect")
		require.Equal(t, 1, srv.CallsByHost(boxtest.HostDownload))
	})

	t.Run("Chunked", func(t *testing.T) {
		e.part.Store(1024)
		s.SetChunking(1025)
		n := int64(3*1024 + 100)
		var states []storage.UploadState
		stop := errors.New("stop")
		_, err := s.Put(ctx, root, "big.bin", bytes.NewReader(data(int(n))), n, storage.PutOptions{
			ModTime: time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC),
			OnUploadState: func(st storage.UploadState) error {
				states = append(states, st)
				if len(states) == 2 {
					return stop
				}
				return nil
			}})
		require.ErrorIs(t, err, stop)
		require.Equal(t, int64(2048), states[1].Offset)
		_, ok := srv.Lookup("Scenarios/big.bin")
		require.False(t, ok, "nothing committed yet")
		big, err := s.ResumeUpload(ctx, states[1], bytes.NewReader(data(int(n))[2048:]), storage.PutOptions{ModTime: time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)})
		require.NoError(t, err)
		require.Equal(t, n, big.Size)
		require.Equal(t, "Scenarios/big.bin", "Scenarios/"+big.Path)
		require.True(t, big.ModTime.Equal(time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)))
		got, _ := srv.Content(big.ID)
		require.Equal(t, data(int(n)), got)
		// A new version through a session (409 at creation names the
		// file), then a torn source: the session is aborted, the file
		// keeps its content.
		v2, err := s.Put(ctx, root, "big.bin", bytes.NewReader(data(int(n) + 1)[1:]), n, storage.PutOptions{ExpectedVersion: big.Version})
		require.NoError(t, err)
		require.Equal(t, big.ID, v2.ID)
		aborts := srv.CallCount("delete_files_upload_sessions_id")
		_, err = s.Put(ctx, root, "big.bin", bytes.NewReader(data(int(n)-1)), n, storage.PutOptions{})
		require.Error(t, err)
		require.Equal(t, aborts+1, srv.CallCount("delete_files_upload_sessions_id"))
		got, _ = srv.Content(big.ID)
		require.Equal(t, data(int(n) + 1)[1:], got)
		_, err = s.ResumeUpload(ctx, states[1], bytes.NewReader(nil), storage.PutOptions{})
		require.ErrorIs(t, err, storage.ErrNotFound, "a committed session is gone")
		// A source of unknown size above the threshold is spooled, then
		// sent through a session.
		sessions := srv.CallCount("post_files_upload_sessions")
		u, err := s.Put(ctx, root, "unknown.bin", io.MultiReader(bytes.NewReader(data(int(n)))), -1, storage.PutOptions{})
		require.NoError(t, err)
		require.Equal(t, n, u.Size)
		require.Equal(t, sessions+1, srv.CallCount("post_files_upload_sessions"))
		got, _ = srv.Content(u.ID)
		require.Equal(t, data(int(n)), got)
		e.part.Store(8 << 20)
		s.SetChunking(box.MinChunked)
	})

	t.Run("ThrottlingAndTemporaryConflicts", func(t *testing.T) {
		p := &recPacer{}
		clk := fakeservice.NewClock(time.Now())
		c, err := box.NewClient(box.ClientOptions{BaseURL: srv.BaseURL(), UploadURL: srv.UploadURL(), Pacer: p, PaceKey: "box:me",
			TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
			RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Now: clk.Now, Sleep: clk.Sleep})
		require.NoError(t, err)
		srv.Throttle("get_users_me", 2, 7*time.Second)
		_, err = c.Me(ctx)
		require.NoError(t, err)
		require.Len(t, p.fb, 2)
		require.Equal(t, 7*time.Second, p.fb[0].RetryAfter)
		require.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, clk.Sleeps(), "every request waits out retry-after")
		srv.Inject(boxtest.Fault{Op: "post_folders", Status: 409, Code: "operation_blocked_temporary"})
		srv.Inject(boxtest.Fault{Op: "post_folders", Status: 409, Code: "name_temporarily_reserved"})
		_, err = c.CreateFolder(ctx, root.ID, "retried")
		require.NoError(t, err)
		_, err = c.UploadFile(ctx, "", box.UploadAttrs{ParentID: root.ID, Name: "up.txt"}, []byte("u"))
		require.NoError(t, err)
		require.Positive(t, p.waits["box:me:upload"], "upload host calls wait on the upload budget")
		srv.Throttle("get_users_me", 100, time.Second)
		_, err = c.Me(ctx)
		require.ErrorIs(t, err, storage.ErrThrottled)
		srv.ClearFaults()
	})

	t.Run("ChangeFeed", func(t *testing.T) {
		cur, err := s.LatestCursor(ctx)
		require.NoError(t, err)
		id, err := srv.WebUpload("Scenarios/web/new.txt", []byte("n"))
		require.NoError(t, err)
		out, err := srv.WebUpload("elsewhere.txt", []byte("o"))
		require.NoError(t, err)
		require.NoError(t, srv.WebMove(out, root.ID, ""))
		ch, cur, err := s.Changes(ctx, cur)
		require.NoError(t, err)
		byID := map[string]storage.Change{}
		for _, c := range ch {
			byID[c.Entry.ID] = c
		}
		require.Equal(t, "web/new.txt", byID[id].Entry.Path)
		require.Equal(t, "elsewhere.txt", byID[out].Entry.Path, "moved in")
		require.NoError(t, srv.WebMove(out, "0", ""))
		ch, cur, err = s.Changes(ctx, cur)
		require.NoError(t, err)
		require.Len(t, ch, 1)
		require.True(t, ch[0].Deleted, "an item that left the root is a deletion")
		ch, cur, err = s.Changes(ctx, cur)
		require.NoError(t, err)
		require.Empty(t, ch, "the event Box sends again is not reported again")
		srv.ExpireEvents()
		_, _, err = s.Changes(ctx, cur)
		require.ErrorIs(t, err, storage.ErrCursorExpired)
	})

	t.Run("Webhooks", func(t *testing.T) {
		rcv := &box.WebhookReceiver{PrimaryKey: "old-key-rotated", SecondaryKey: "sec"}
		hook := httptest.NewServer(rcv)
		defer hook.Close()
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		sig := rcv.Watch(wctx)
		wh, err := s.Client().CreateWebhook(ctx, root.ID, hook.URL, box.TreeTriggers)
		require.NoError(t, err)
		srv.SetWebhookKeys("primary-new", "sec")
		_, err = srv.WebUpload("Scenarios/hooked.txt", []byte("h"))
		require.NoError(t, err)
		select {
		case <-sig:
		case <-time.After(10 * time.Second):
			t.Fatal("no signal from a delivery signed with the secondary key")
		}
		require.NoError(t, s.Client().DeleteWebhook(ctx, wh.ID))
	})

	t.Run("WebhookListing", func(t *testing.T) {
		// Three webhooks over pages of two (PageSize): the listing
		// follows next_marker; Box lists Webhook--Mini (no address),
		// GetWebhook has the address.
		want := map[string]string{}
		for i := range 3 {
			f, err := s.Client().CreateFolder(ctx, root.ID, fmt.Sprintf("hooked-%d", i))
			require.NoError(t, err)
			wh, err := s.Client().CreateWebhook(ctx, f.ID, fmt.Sprintf("https://example.com/hook/%d", i), box.TreeTriggers)
			require.NoError(t, err)
			want[wh.ID] = f.ID
		}
		calls := srv.CallCount("get_webhooks")
		got := map[string]string{}
		for wh, err := range s.Client().ListWebhooks(ctx) {
			require.NoError(t, err)
			require.Equal(t, "folder", wh.Target.Type)
			require.Empty(t, wh.Address, "a listed webhook is Webhook--Mini")
			got[wh.ID] = wh.Target.ID
		}
		require.Equal(t, want, got)
		require.Equal(t, 2, srv.CallCount("get_webhooks")-calls, "two pages of two")
		for id, folder := range want {
			wh, err := s.Client().GetWebhook(ctx, id)
			require.NoError(t, err)
			require.Equal(t, folder, wh.Target.ID)
			require.Contains(t, wh.Address, "https://example.com/hook/")
			require.NoError(t, s.Client().DeleteWebhook(ctx, id))
		}
		for wh, err := range s.Client().ListWebhooks(ctx) {
			require.NoError(t, err)
			t.Errorf("webhook %s left after its deletion", wh.ID)
		}
	})

	t.Run("LongPoll", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := s.Watch(wctx)
		require.NoError(t, err)
		_, err = srv.WebUpload("Scenarios/polled.txt", []byte("p"))
		require.NoError(t, err)
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no signal")
		}
	})

	t.Run("Auth", func(t *testing.T) { authScenarios(t, srv) })
}

func authScenarios(t *testing.T, srv *boxtest.Server) {
	cfg := box.Config{ClientID: "box-client-id", ClientSecret: "box-client-secret", TokenURL: srv.TokenURL()}
	me := func(ts oauth2.TokenSource) error {
		_, err := newClient(t, srv, ts).Me(ctx)
		return err
	}
	t.Run("ClientCredentials", func(t *testing.T) {
		require.NoError(t, me(box.ClientCredentialsSource(cfg, box.Subject{Type: "enterprise", ID: "900001"})))
		require.NoError(t, me(box.ClientCredentialsSource(cfg, box.Subject{Type: "user", ID: boxtest.MeID})))
		// A token Box stops accepting before its expiry is renewed once
		// and the call retried.
		src := box.ClientCredentialsSource(cfg, box.Subject{Type: "enterprise", ID: "900001"})
		c := newClient(t, srv, src)
		_, err := c.Me(ctx)
		require.NoError(t, err)
		srv.ExpireTokens()
		_, err = c.Me(ctx)
		require.NoError(t, err, "a 401 renews the token")
		err = me(box.ClientCredentialsSource(cfg, box.Subject{Type: "enterprise", ID: "1"}))
		var ae *box.AuthError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "invalid_grant", ae.Code)
		require.NotContains(t, err.Error(), "box-client-secret")
	})
	t.Run("RotatingRefresh", func(t *testing.T) {
		tok, err := cfg.Exchange(ctx, srv.AuthCode())
		require.NoError(t, err)
		first := tok.RefreshToken
		tok.Expiry = time.Now().Add(-time.Minute) // due for a refresh
		var saved []string
		src := box.OAuthSource(cfg, tok, func(t *oauth2.Token) error { saved = append(saved, t.RefreshToken); return nil })
		require.NoError(t, me(src))
		require.Len(t, saved, 1)
		require.NotEqual(t, first, saved[0], "Box rotates the refresh token")
		old := &oauth2.Token{RefreshToken: first, Expiry: time.Now().Add(-time.Minute)}
		require.Error(t, me(box.OAuthSource(cfg, old, nil)), "a used refresh token is dead")
		failing := box.OAuthSource(cfg, &oauth2.Token{RefreshToken: saved[0], Expiry: time.Now().Add(-time.Minute)},
			func(*oauth2.Token) error { return errors.New("disk full") })
		require.ErrorContains(t, me(failing), "disk full", "a token that cannot be saved is not used")
	})
	t.Run("JWT", func(t *testing.T) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		srv.SetJWTKey(&key.PublicKey, "kid-1")
		conf := jwtConfigJSON(t, key, "kid-1", "secret passphrase")
		jc, err := box.ParseJWTConfig(conf)
		require.NoError(t, err)
		require.NoError(t, me(box.JWTSource(cfg, jc, box.Subject{Type: "enterprise", ID: jc.EnterpriseID})))
		bad := bytes.Replace(conf, []byte("secret passphrase"), []byte("wrong"), 1)
		_, err = box.ParseJWTConfig(bad)
		require.ErrorIs(t, err, box.ErrBadKey)
	})
}

// jwtConfigJSON writes a Box app config.json with key encrypted as Box
// does (PKCS#8, PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC).
func jwtConfigJSON(t *testing.T, key *rsa.PrivateKey, kid, pass string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	salt, iv := make([]byte, 16), make([]byte, 16)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(iv)
	k, err := pbkdf2.Key(sha256.New, pass, salt, 2048, 32)
	require.NoError(t, err)
	pad := 16 - len(der)%16
	plain := append(der, bytes.Repeat([]byte{byte(pad)}, pad)...)
	blk, _ := aes.NewCipher(k)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(ct, plain)
	mustRaw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		require.NoError(t, err)
		return asn1.RawValue{FullBytes: b}
	}
	kdf := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}, Parameters: mustRaw(struct {
		Salt []byte
		Iter int
		PRF  pkix.AlgorithmIdentifier
	}{salt, 2048, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}})}
	scheme := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}, Parameters: mustRaw(iv)}
	enc, err := asn1.Marshal(struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}, Parameters: mustRaw(struct{ KDF, Scheme pkix.AlgorithmIdentifier }{kdf, scheme})}, ct})
	require.NoError(t, err)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc})
	b, err := json.Marshal(map[string]any{"boxAppSettings": map[string]any{"clientID": "box-client-id", "clientSecret": "box-client-secret",
		"appAuth": map[string]any{"publicKeyID": kid, "privateKey": string(pemKey), "passphrase": pass}}, "enterpriseID": "900001"})
	require.NoError(t, err)
	return b
}
