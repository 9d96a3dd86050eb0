package msgraph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// A response longer than the limit is a typed error, not JSON decoded from
// its first part.
func TestOversizedResponseIsTyped(t *testing.T) {
	defer msgraph.SetMaxResponse(1 << 10)()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"i","name":"`+strings.Repeat("x", 2<<10)+`"}`)
	}))
	defer hs.Close()
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: hs.URL + "/v1.0", RetryMax: -1,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	require.NoError(t, err)
	_, err = c.GetItem(context.Background(), "d", "i")
	var tl *httpclient.TooLargeError
	require.ErrorAs(t, err, &tl)
	require.Equal(t, int64(1<<10), tl.Limit)
}
