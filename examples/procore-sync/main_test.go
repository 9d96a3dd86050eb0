package main

import (
	"testing"

	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/examples/internal/apptest"
)

// TestService starts the service against the fakes for each target and
// checks that a change made on either side arrives on the other.
func TestService(t *testing.T) {
	for _, tg := range app.Targets {
		t.Run(string(tg), func(t *testing.T) { apptest.RoundTrip(t, tg, app.RunService) })
	}
}
