// Command portal is the reference web portal of procoresync: one program
// that runs the sync engine and serves, over it, server-rendered pages
// (dashboard, projects, project detail with runs and errors, the file
// manager with "sync this level", held deletions, the audit log, exports
// as CSV and XLSX, connections, accounts) and the portal's JSON API under
// /api/v1 (package portal). Progress of running syncs updates without a
// reload; the pages work on a laptop and on a tablet.
//
//	go run ./examples/portal
//
// With no credentials it starts the in-process fakes of Procore and of
// the target (-target sharepoint|onedrive|box|dropbox), seeded with a
// construction project, like examples/quickstart: sign in, connect
// Procore and the target through the fakes' sign-in pages ("Sign in with
// Procore"), add the project and watch its initial sync. With real
// credentials (the quickstart's flags and environment variables: the
// Procore app, the Microsoft app and SharePoint site, Box or Dropbox) the
// same program connects the real accounts.
//
// The first run creates the owner account (-owner, $PORTAL_OWNER_EMAIL)
// with the password in $PORTAL_OWNER_PASSWORD, or with a one-time
// password printed on the terminal; no password is built in. Connection
// tokens are kept encrypted with the key in $PORTAL_KEY or the file
// -key-file ($PORTAL_KEY_FILE; made on the first run, mode 0600); on the
// fakes a random key lives in memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/procoresync/procoresync/examples/internal/app"
)

func main() {
	o := options{cfg: app.Config{Target: app.SharePoint}}
	app.Flags(flag.CommandLine, &o.cfg)
	flag.StringVar(&o.owner, "owner", envOr("PORTAL_OWNER_EMAIL", "owner@example.com"), "email of the owner account made on the first run ($PORTAL_OWNER_EMAIL)")
	flag.StringVar(&o.keyFile, "key-file", os.Getenv("PORTAL_KEY_FILE"), "file holding the key that encrypts connection tokens, made on the first run ($PORTAL_KEY_FILE; or the key itself in $PORTAL_KEY)")
	flag.BoolVar(&o.secureCookies, "secure-cookies", false, "mark the session cookie Secure (the portal is behind an https proxy)")
	verbose := flag.Bool("v", false, "log every action")
	flag.Parse()
	if err := o.cfg.LoadSecrets(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(2)
	}
	storeSet := false
	flag.Visit(func(f *flag.Flag) { storeSet = storeSet || f.Name == "store" })
	if !storeSet && os.Getenv("PROCORESYNC_STORE") == "" && !o.cfg.Real() {
		o.cfg.Store = "" // on the fakes: a temporary directory
	}
	o.ownerPassword = os.Getenv("PORTAL_OWNER_PASSWORD")
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run serves the portal until ctx is done.
func run(ctx context.Context, out io.Writer, o options) error {
	p, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer p.Close()
	if p.fakes != nil {
		fmt.Fprintf(out, "== In-process fakes: Procore at %s, %s at %s (project %q)\n", p.fakes.Procore.URL, p.fakes.Target,
			p.fakes.TargetURL(), app.ProjectName)
	}
	fmt.Fprintf(out, "== Portal: %s\n", p.URL)
	if p.oneTimePassword != "" {
		fmt.Fprintf(out, "   sign in as %s with the password %s (made for this first run, printed only now)\n", o.owner, p.oneTimePassword)
	} else if p.ownerCreated {
		fmt.Fprintf(out, "   sign in as %s with the password in $PORTAL_OWNER_PASSWORD\n", o.owner)
	}
	fmt.Fprintln(out, "   Ctrl-C stops it.")
	return p.Wait(ctx)
}
