package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (or $PORTAL_CHROMIUM). Without it
// the browser tests skip loudly outside CI and fail in CI (CI=1), where
// .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PORTAL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed (apt-get install chromium, or set PORTAL_CHROMIUM): the portal's browser tests cannot run"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Log("SKIPPING: " + msg)
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless chromium with a fresh profile for one test
// and returns a context for chromedp actions, bounded by timeout.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

// screenshots is where the tests write an image of each page they visit:
// $PORTAL_SCREENSHOTS, or a new temporary directory named in the log.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PORTAL_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "portal-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// shooter writes a full-page screenshot of the current page as
// dir/NN-name.jpg (JPEG: Chrome encodes it several times faster than
// PNG, which matters on a loaded CI machine).
type shooter struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func (s *shooter) shot(name string) {
	s.t.Helper()
	img, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(85))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	file := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.jpg", s.n, strings.ReplaceAll(name, " ", "-")))
	if err := os.WriteFile(file, img, 0o644); err != nil {
		s.t.Fatal(err)
	}
}
