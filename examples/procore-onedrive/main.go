// Command procore-onedrive is a long-running service that keeps one Procore
// project (Documents, Photos) and the company Documents in two-way sync
// with a OneDrive folder: configuration from flags or environment variables,
// the sync engine with an SQLite store, one HTTP listener for Procore
// webhooks (/procore/webhook) and Graph change notifications
// (/graph/notify), the interval as the fallback, structured logs, and a
// graceful shutdown on SIGINT or SIGTERM.
//
//	go run ./examples/procore-onedrive -h
//
// With -fake it runs against the in-process fakes (no credentials).
// See examples/README.md for the real-tenant set-up.

package main

import "github.com/procoresync/procoresync/examples/internal/app"

func main() { app.Main(app.OneDrive, "procore-onedrive") }
