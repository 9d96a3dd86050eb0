// Command procore-sync is a long-running service that keeps one Procore
// project (Documents, Photos) and the company Documents in two-way sync
// with a folder on the target chosen by -target: a SharePoint library
// (the default), a OneDrive, a Box folder or a Dropbox folder.
// Configuration from flags or environment variables, the sync engine with
// an SQLite store, one HTTP listener for Procore webhooks
// (/procore/webhook) and the target's push (/graph/notify for Graph
// change notifications, /box/webhook for Box webhooks v2, /dropbox/webhook
// for Dropbox webhooks; Box's and Dropbox's long-polls as well), the
// interval as the fallback, structured logs, and a graceful shutdown on
// SIGINT or SIGTERM.
//
//	go run ./examples/procore-sync -h
//	go run ./examples/procore-sync -fake -target box
//
// With -fake it runs against the in-process fakes (no credentials).
// See examples/README.md for the set-up with real accounts.
package main

import "github.com/procoresync/procoresync/examples/internal/app"

func main() { app.Main(app.SharePoint, "procore-sync") }
