package webhooknotify_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/procoresync/procoresync/notify/webhooknotify"
)

// The sending side: batches of events POSTed as signed JSON.
func ExampleNew() {
	n, err := webhooknotify.New(webhooknotify.Options{
		URL:    "https://ops.example.com/hooks/procoresync",
		Secret: []byte(os.Getenv("PROCORESYNC_NOTIFY_SECRET")),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close(context.Background())
}

// The receiving side: check the signature before trusting a delivery, and
// answer 2xx once it is accepted (the delivery ID tells retries apart).
func ExampleVerify() {
	secret := []byte(os.Getenv("PROCORESYNC_NOTIFY_SECRET"))
	http.HandleFunc("/hooks/procoresync", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := webhooknotify.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
