package mailnotify_test

import (
	"context"
	"log"
	"os"

	"github.com/procoresync/procoresync/notify/mailnotify"
	"github.com/procoresync/procoresync/syncengine"
)

// Mails go to each project's own recipients; a burst of events gives one
// mail per recipient list. Pass the Notifier as syncengine.Options.Notifier
// (combined with others through syncengine.Fanout).
func ExampleNew() {
	perProject := map[string][]string{
		"tower-3-documents": {"pm.tower3@example.com"},
		"tower-3-photos":    {"pm.tower3@example.com", "site@example.com"},
	}
	n, err := mailnotify.New(mailnotify.Options{
		Host:        "smtp.example.com", // STARTTLS on 587 is required by default
		Username:    "sync@example.com",
		Password:    os.Getenv("SMTP_PASSWORD"),
		From:        "procoresync <sync@example.com>",
		Integration: "Tower 3 → SharePoint",
		Recipients:  func(ev syncengine.Event) []string { return perProject[ev.PairID] },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close(context.Background()) // sends what is still pending
	notifier := syncengine.Fanout(n, syncengine.NewSlogNotifier(nil))
	_ = notifier
}
