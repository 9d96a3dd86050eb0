package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// service is a reference service running against the fakes.
type service struct {
	s    *Sync
	f    *Fakes
	cfg  *Config
	url  string
	stop func()
}

// startService starts the service (Serve's code) on the fakes with random
// secrets; mod adjusts the configuration first.
func startService(t *testing.T, mod func(*Config)) *service {
	t.Helper()
	return startServiceOn(t, SharePoint, mod)
}

// startServiceOn is startService for target tg.
func startServiceOn(t *testing.T, tg Target, mod func(*Config)) *service {
	t.Helper()
	cfg := &Config{Target: tg, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db"),
		Interval: time.Hour, DeleteLimit: 25, Listen: "127.0.0.1:0"}
	f := StartFakes(cfg)
	t.Cleanup(f.Close)
	cfg.RandomSecrets()
	if mod != nil {
		mod(cfg)
	}
	return runService(t, f, cfg)
}

// runService runs the service (Serve's code) with cfg on the fakes f.
func runService(t *testing.T, f *Fakes, cfg *Config) *service {
	t.Helper()
	return runServiceWith(t, f, cfg, Options{})
}

// runServiceWith is runService with options o (Serve's own: a discarding
// logger, shared feeds).
func runServiceWith(t *testing.T, f *Fakes, cfg *Config, o Options) *service {
	t.Helper()
	o.Logger, o.SharedFeeds = slog.New(slog.DiscardHandler), true
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, cfg, ln, slog.New(slog.DiscardHandler)) }()
	var once sync.Once
	sv := &service{s: s, f: f, cfg: cfg, url: "http://" + ln.Addr().String()}
	sv.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("service stopped with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("service did not stop")
			}
			s.Close()
		})
	}
	t.Cleanup(sv.stop)
	return sv
}

// procoreDelivery is a v2.0 webhook delivery for a file of the project.
func (sv *service) procoreDelivery(id int) string {
	return fmt.Sprintf(`{"id":%d,"timestamp":"2026-12-05T06:00:00.000000Z","user_id":7,"company_id":%d,"project_id":%d,`+
		`"api_version":"v2.0","event_type":"update","resource_name":"Project Files","resource_id":%d}`,
		id, sv.cfg.ProcoreCompanyID, sv.cfg.ProcoreProjectID, 1000+id)
}

// graphNotification is a change-notification collection with clientState.
func graphNotification(clientState string) string {
	return `{"value":[{"subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","clientState":"` + clientState +
		`","changeType":"updated","resource":"drives/b!x/root","tenantId":"84bd8158-6d4d-4958-8b9f-9d6445542f95",` +
		`"subscriptionExpirationDateTime":"2026-12-08T06:00:00Z"}]}`
}

func post(t *testing.T, url, auth, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// settle waits until the service is quiet: no Procore API call and no new
// run for more than the engine's wake-up delay. It returns the Procore
// API-host calls and the runs so far.
func (sv *service) settle(t *testing.T) (calls, runs int) {
	quiet := max(sv.cfg.WakeDelay, time.Second) + 500*time.Millisecond
	t.Helper()
	ctx := context.Background()
	count := func() (int, int) {
		n := 0
		for _, id := range sv.s.Pairs {
			st, err := sv.s.Engine.Stats(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			n += st.Runs
		}
		return sv.f.Procore.CallsByHost(procoretest.HostAPI), n
	}
	deadline := time.Now().Add(60 * time.Second)
	c, r := count()
	for {
		time.Sleep(quiet)
		c2, r2 := count()
		if c2 == c && r2 == r && r >= len(sv.s.Pairs) {
			return c, r
		}
		c, r = c2, r2
		if time.Now().After(deadline) {
			t.Fatalf("the service did not settle: %d Procore API calls, %d runs", c, r)
		}
	}
}

// TestServiceRefusesWithoutSecrets: a service does not listen without a
// Procore webhook secret and a Graph clientState, both set and different;
// the error names the variable or flag to set, never a secret's value.
func TestServiceRefusesWithoutSecrets(t *testing.T) {
	const procoreSecret, graphState = "Pr0coreHookSecretValue-1", "Gr4phClientStateValue-2"
	for _, tc := range []struct {
		name          string
		procore, gr   string
		want, wantNot string
	}{
		{"none", "", "", "PROCORESYNC_PROCORE_HOOK_SECRET", ""},
		{"no Graph clientState", procoreSecret, "", "PROCORESYNC_GRAPH_CLIENT_STATE", procoreSecret},
		{"no Procore secret", "", graphState, "procore-hook-secret-file", graphState},
		{"the same", procoreSecret, procoreSecret, "two different secrets", procoreSecret},
		{"short", "Zq9x", graphState, "shorter than 16", "Zq9x"},
		{"header injection", "abcdefghijklmnop\r\nX-Evil: 1", graphState, "control", "X-Evil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Target: SharePoint, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db"),
				Interval: time.Hour, DeleteLimit: 25}
			f := StartFakes(cfg)
			defer f.Close()
			cfg.ProcoreHookSecret, cfg.GraphClientState = tc.procore, tc.gr
			// A port that is free now: the service must not take it.
			probe, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Listen = probe.Addr().String()
			probe.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = RunService(ctx, cfg, false, slog.New(slog.DiscardHandler))
			if err == nil || ctx.Err() != nil {
				t.Fatalf("the service ran (err %v) without valid secrets", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			if tc.wantNot != "" && strings.Contains(err.Error(), tc.wantNot) {
				t.Errorf("error %q shows the secret", err)
			}
			if n := f.Procore.CallsByHost(procoretest.HostAPI); n != 0 {
				t.Errorf("%d Procore API calls before refusing", n)
			}
		})
	}
}

// TestSecondServiceOnStoreRefused: a second service on the same store
// stops at once, before any API call, naming the first one's PID.
func TestSecondServiceOnStoreRefused(t *testing.T) {
	sv := startService(t, nil)
	cfg := *sv.cfg
	f := StartFakes(&cfg) // its own fakes, to count its calls
	defer f.Close()
	cfg.RandomSecrets()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := RunService(ctx, &cfg, false, slog.New(slog.DiscardHandler))
	if !errors.Is(err, sqlitestore.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint("process ", os.Getpid())) {
		t.Fatalf("second service on the store: %v", err)
	}
	if n := f.Procore.CallsByHost(procoretest.HostAPI); n != 0 {
		t.Errorf("%d Procore API calls before refusing", n)
	}
}

// TestMissingClientSecretNamed: a missing app client secret is reported
// by the variable or flag that sets it, before any API call.
func TestMissingClientSecretNamed(t *testing.T) {
	cfg := &Config{Target: SharePoint, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db")}
	f := StartFakes(cfg)
	defer f.Close()
	cfg.MSClientSecret = ""
	_, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "MS_CLIENT_SECRET") || !strings.Contains(err.Error(), "-ms-client-secret-file") {
		t.Errorf("New without the Microsoft client secret: %v", err)
	}
	if n := f.Procore.CallsByHost(procoretest.HostAPI); n != 0 {
		t.Errorf("%d Procore API calls", n)
	}
}

// TestServiceSeparateSecrets: the Procore receiver takes only the Procore
// hook secret and the Graph notifier only the Graph clientState: one
// leaked secret does not open the other endpoint.
func TestServiceSeparateSecrets(t *testing.T) {
	sv := startService(t, nil)
	sv.settle(t)
	c0 := sv.f.Procore.CallsByHost(procoretest.HostAPI)
	if got := post(t, sv.url+"/procore/webhook", "Bearer "+sv.cfg.GraphClientState, sv.procoreDelivery(1)); got != http.StatusUnauthorized {
		t.Errorf("Procore delivery with the Graph clientState: %d, want 401", got)
	}
	if got := post(t, sv.url+"/procore/webhook", "", sv.procoreDelivery(2)); got != http.StatusUnauthorized {
		t.Errorf("Procore delivery without Authorization: %d, want 401", got)
	}
	post(t, sv.url+"/graph/notify", "", graphNotification(sv.cfg.ProcoreHookSecret))
	post(t, sv.url+"/graph/notify", "", graphNotification(""))
	c1, _ := sv.settle(t)
	if c1 != c0 {
		t.Errorf("forged deliveries made %d Procore API calls", c1-c0)
	}
	if got := post(t, sv.url+"/procore/webhook", "Bearer "+sv.cfg.ProcoreHookSecret, sv.procoreDelivery(3)); got != http.StatusOK {
		t.Errorf("authentic Procore delivery: %d, want 200", got)
	}
	if c2, _ := sv.settle(t); c2 == c1 {
		t.Errorf("an authentic delivery did not make the service look at Procore")
	}
}

// TestServiceFloodCoalesced: a flood of authentic-looking deliveries and
// notifications (a leaked secret, or Procore retrying), 8 a second as in
// the security review, costs about what two wake-ups cost (at most three,
// for a slow machine), not one run each: the engine coalesces a pair's
// wake-ups into one run per WakeDelay. Without coalescing it costs about
// six times as much.
func TestServiceFloodCoalesced(t *testing.T) {
	sv := startService(t, func(c *Config) { c.WakeDelay = 3 * time.Second })
	c0, r0 := sv.settle(t)
	// One wake-up of every pair: a Procore delivery and a notification.
	post(t, sv.url+"/procore/webhook", "Bearer "+sv.cfg.ProcoreHookSecret, sv.procoreDelivery(1))
	post(t, sv.url+"/graph/notify", "", graphNotification(sv.cfg.GraphClientState))
	c1, r1 := sv.settle(t)
	one := c1 - c0
	if one == 0 {
		t.Fatal("a wake-up made no Procore API call")
	}
	// 16 deliveries at 8 a second: the flood lasts less than WakeDelay,
	// so each pair runs at most twice (at once, then WakeDelay after).
	const n = 16
	tick := time.NewTicker(125 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		var code int
		if i%4 == 3 {
			code = post(t, sv.url+"/graph/notify", "", graphNotification(sv.cfg.GraphClientState))
		} else {
			code = post(t, sv.url+"/procore/webhook", "Bearer "+sv.cfg.ProcoreHookSecret, sv.procoreDelivery(100+i))
		}
		if code != http.StatusOK && code != http.StatusAccepted {
			t.Fatalf("authentic delivery %d refused: %d", i, code)
		}
	}
	c2, r2 := sv.settle(t)
	t.Logf("one wake-up of every pair: %d Procore API calls in %d runs; %d deliveries: %d calls in %d runs", one, r1-r0, n, c2-c1, r2-r1)
	if c2-c1 > 3*one {
		t.Errorf("%d deliveries made %d Procore API calls (%d runs); one wake-up of every pair makes %d (%d runs)", n, c2-c1, r2-r1, one, r1-r0)
	}
}

// TestServiceBodyLimits: every endpoint refuses a body larger than it
// needs with 413, before the handler reads it.
func TestServiceBodyLimits(t *testing.T) {
	sv := startService(t, nil)
	auth := "Bearer " + sv.cfg.ProcoreHookSecret
	// A delivery that parses, padded to 200 KiB.
	big := strings.TrimSuffix(sv.procoreDelivery(1), "}") + `,"pad":"` + strings.Repeat("x", 200<<10) + `"}`
	if got := post(t, sv.url+"/procore/webhook", auth, big); got != http.StatusRequestEntityTooLarge {
		t.Errorf("200 KiB Procore delivery: %d, want 413", got)
	}
	bigGraph := `{"value":[` + strings.Repeat(graphNotification(sv.cfg.GraphClientState)[10:len(graphNotification(""))-2]+",", 0) +
		`{"clientState":"` + sv.cfg.GraphClientState + `","pad":"` + strings.Repeat("y", 2<<20) + `"}]}`
	if got := post(t, sv.url+"/graph/notify", "", bigGraph); got != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB notification: %d, want 413", got)
	}
	if got := post(t, sv.url+"/healthz", "", strings.Repeat("z", 64<<10)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("64 KiB to /healthz: %d, want 413", got)
	}
	// Without a Content-Length (chunked) the receiver cuts the read at its
	// limit and drops the delivery, answering 2xx: an authentic delivery
	// is never refused, since any non-2xx pauses every delivery to the
	// endpoint (procore.Receiver).
	req, _ := http.NewRequest(http.MethodPost, sv.url+"/procore/webhook", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("chunked 200 KiB authentic Procore delivery: %d, want 200 (dropped)", resp.StatusCode)
		}
	}
	resp, err = http.Get(sv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}

// TestServiceTimeouts: a client that sends its body slowly, or keeps an
// idle connection open, is cut off.
func TestServiceTimeouts(t *testing.T) {
	saved := serverTimeouts
	serverTimeouts.ReadHeader, serverTimeouts.Read, serverTimeouts.Write, serverTimeouts.Idle =
		300*time.Millisecond, 500*time.Millisecond, 2*time.Second, 500*time.Millisecond
	t.Cleanup(func() { serverTimeouts = saved })
	sv := startService(t, nil)
	addr := strings.TrimPrefix(sv.url, "http://")
	closed := func(c net.Conn) error {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound, not a measurement
		_, err := io.Copy(io.Discard, c)
		return err // nil: the server closed the connection
	}
	t.Run("slow body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /procore/webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 500\r\n\r\n{", sv.cfg.ProcoreHookSecret)
		if err := closed(c); err != nil {
			t.Errorf("a stalled body kept its connection: %v", err)
		}
	})
	t.Run("idle", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := closed(c); err != nil {
			t.Errorf("an idle keep-alive connection stayed open: %v", err)
		}
	})
}

// TestServiceConnectionLimit: the listener keeps at most -max-conns
// connections; further clients wait until some close. (The fakes' own
// keep-alive connections may hold a slot too.)
func TestServiceConnectionLimit(t *testing.T) {
	sv := startService(t, func(c *Config) { c.MaxConns = 3 })
	addr := strings.TrimPrefix(sv.url, "http://")
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(sv.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a fourth connection was served while 3 were open (limit 3)")
	}
	for _, c := range held {
		c.Close()
	}
	client.Timeout = 10 * time.Second
	resp, err := client.Get(sv.url + "/healthz")
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	resp.Body.Close()
}

// TestServiceStopsWhenSubscriptionDeleteFails: a failing Graph does not
// hold up the shutdown for the subscription delete's full timeout.
func TestServiceStopsWhenSubscriptionDeleteFails(t *testing.T) {
	sv := startService(t, nil)
	sv.settle(t)
	if len(sv.f.Graph.Subscriptions()) != 1 {
		t.Fatalf("subscriptions: %v", sv.f.Graph.Subscriptions())
	}
	sv.f.Graph.Inject(graphtest.Fault{Op: "subscriptions.Delete", Status: http.StatusServiceUnavailable, Times: 1000})
	start := time.Now()
	sv.stop()
	// A bound on a hang, not a measurement: the delete alone may take 30 s.
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the service took %s to stop", d)
	}
}

// TestPublicURL: the public URL (where deliveries carry the secrets) is
// https; plain http only on a loopback host.
func TestPublicURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://sync.example.com", true},
		{"https://sync.example.com:8443/procoresync", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://sync.example.com", false},
		{"http://10.0.0.5:8080", false},
		{"ftp://sync.example.com", false},
		{"sync.example.com", false},
		{"https://user:Pa55word@sync.example.com", false},
		{"https://sync.example.com/?token=x", false},
	} {
		err := checkPublicURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "Pa55word") {
			t.Errorf("%s: error shows the password: %v", tc.url, err)
		}
	}
	fakes := &Config{ProcoreAPIURL: "http://127.0.0.1:4001", MSGraphURL: "http://127.0.0.1:4002"}
	real := &Config{ProcoreAPIURL: "https://api.procore.com", MSGraphURL: ""}
	for _, tc := range []struct {
		c    *Config
		addr string
		ok   bool
	}{
		{fakes, "127.0.0.1:8080", true}, {fakes, "[::1]:8080", true}, {fakes, "0.0.0.0:8080", false},
		{fakes, "[::]:8080", false}, {fakes, "192.0.2.7:80", false},
		{real, "127.0.0.1:8080", false}, {real, "0.0.0.0:8080", false},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := defaultPublicURL(tc.c, a); ok != tc.ok {
			t.Errorf("listener %s, Procore %s: default public URL usable %v, want %v", tc.addr, tc.c.ProcoreAPIURL, ok, tc.ok)
		}
	}
	// The service refuses an http public URL.
	cfg := &Config{Target: SharePoint, Store: filepath.Join(t.TempDir(), "svc.db"), PublicURL: "http://sync.example.com"}
	cfg.RandomSecrets()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := Serve(context.Background(), cfg, ln, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("Serve with an http public URL: %v", err)
	}
}

// TestFlagsNeverShowSecrets: -h, and the usage printed after a mistyped
// flag, show no secret from the environment; secrets are not flags; they
// come from the environment or from a file.
func TestFlagsNeverShowSecrets(t *testing.T) {
	secrets := map[string]string{
		"PROCORE_CLIENT_SECRET":           "procore-client-secret-VALUE",
		"MS_CLIENT_SECRET":                "ms-client-secret-VALUE",
		"PROCORESYNC_PROCORE_HOOK_SECRET": "procore-hook-secret-VALUE",
		"PROCORESYNC_GRAPH_CLIENT_STATE":  "graph-client-state-VALUE",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{{"-h"}, {"-procore-clinet-id", "x"}, {"-interval", "soon"}} {
		var out bytes.Buffer
		fs := flag.NewFlagSet("svc", flag.ContinueOnError)
		fs.SetOutput(&out)
		var c Config
		Flags(fs, &c)
		if err := fs.Parse(args); err == nil {
			t.Fatalf("%v parsed", args)
		}
		for _, v := range secrets {
			if strings.Contains(out.String(), v) {
				t.Errorf("%v prints a secret:\n%s", args, out.String())
			}
		}
	}
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	var c Config
	Flags(fs, &c)
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Name, "secret") && !strings.HasSuffix(f.Name, "-file") {
			t.Errorf("flag -%s takes a secret on the command line", f.Name)
		}
	})
	if err := c.LoadSecrets(nil); err != nil {
		t.Fatal(err)
	}
	if c.ProcoreClientSecret != secrets["PROCORE_CLIENT_SECRET"] || c.MSClientSecret != secrets["MS_CLIENT_SECRET"] ||
		c.ProcoreHookSecret != secrets["PROCORESYNC_PROCORE_HOOK_SECRET"] || c.GraphClientState != secrets["PROCORESYNC_GRAPH_CLIENT_STATE"] {
		t.Errorf("secrets from the environment not loaded")
	}

	// From files: the flag names the file; its trailing newline is dropped.
	dir := t.TempDir()
	file := filepath.Join(dir, "hook")
	if err := os.WriteFile(file, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROCORESYNC_PROCORE_HOOK_SECRET", "")
	fs = flag.NewFlagSet("svc", flag.ContinueOnError)
	c = Config{}
	Flags(fs, &c)
	if err := fs.Parse([]string{"-procore-hook-secret-file", file}); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadSecrets(nil); err != nil || c.ProcoreHookSecret != "from-a-file-0123456789" {
		t.Errorf("secret file: %q, %v", c.ProcoreHookSecret, err)
	}
	// Both a file and the variable: refused, without showing either.
	t.Setenv("PROCORESYNC_PROCORE_HOOK_SECRET", "env-value-0123456789")
	if err := c.LoadSecrets(nil); err == nil || strings.Contains(err.Error(), "env-value") || strings.Contains(err.Error(), "from-a-file") {
		t.Errorf("file and variable: %v", err)
	}
	t.Setenv("PROCORESYNC_PROCORE_HOOK_SECRET", "")
	c.ProcoreHookSecretFile = filepath.Join(dir, "missing")
	if err := c.LoadSecrets(nil); err == nil || !strings.Contains(err.Error(), "-procore-hook-secret-file") {
		t.Errorf("missing file: %v", err)
	}
	// The single secret of earlier versions is refused with a pointer to
	// the two that replace it.
	c.ProcoreHookSecretFile = ""
	t.Setenv("PROCORESYNC_HOOK_SECRET", "old-shared-secret")
	if err := c.LoadSecrets(nil); err == nil || !strings.Contains(err.Error(), "PROCORESYNC_GRAPH_CLIENT_STATE") || strings.Contains(err.Error(), "old-shared") {
		t.Errorf("old variable: %v", err)
	}
}
