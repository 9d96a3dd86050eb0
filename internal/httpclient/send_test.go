package httpclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/stretchr/testify/require"
)

func TestSend(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("If-Match")+" "+string(b))
	}))
	defer srv.Close()
	hc := retryablehttp.NewClient()
	hc.Logger = nil
	ctx := context.Background()

	resp, err := httpclient.Send(ctx, hc, httpclient.Request{Method: http.MethodPatch, URL: srv.URL,
		JSON: map[string]string{"name": "a"}, Header: map[string]string{"If-Match": "e1"}})
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = httpclient.Send(ctx, hc, httpclient.Request{Method: http.MethodPut, URL: srv.URL,
		JSON: map[string]string{"ignored": "x"}, Raw: []byte("%PDF"), ContentType: "application/pdf"})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []string{`PATCH application/json e1 {"name":"a"}`, "PUT application/pdf  %PDF"}, got)

	// A request whose context has ended fails with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = httpclient.Send(cctx, hc, httpclient.Request{Method: http.MethodGet, URL: srv.URL})
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, got, 2)
}

func TestContextReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := httpclient.ContextReader(ctx, strings.NewReader("abcdef"))
	b := make([]byte, 3)
	n, err := r.Read(b)
	require.NoError(t, err)
	require.Equal(t, "abc", string(b[:n]))
	cancel()
	_, err = r.Read(b)
	require.ErrorIs(t, err, context.Canceled)
}
