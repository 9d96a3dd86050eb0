package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/httpclient"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"10", 10 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, true},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", 30 * 24 * time.Hour, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(time.Hour).Format(time.RFC850), time.Hour, true},
	} {
		t.Run(tc.v, func(t *testing.T) {
			d, ok := httpclient.RetryAfter(http.Header{"Retry-After": {tc.v}}, now)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, d)
		})
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		keepPath bool
		want     string
	}{
		{"https://graph.example/v1.0/drives/x?token=abc", true, "https://graph.example/v1.0/drives/x"},
		{"https://up.example/up/SECRET?sig=abc", false, "https://up.example/[redacted]"},
		{"https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1&tempauth=eyJ0", true, "https://contoso.sharepoint.com/_layouts/15/download.aspx"},
		{"https://bucket.s3.amazonaws.com/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA", true, "https://bucket.s3.amazonaws.com/k"},
		{"https://user:pass@api.example/v1/me?access_token=t#frag", true, "https://api.example/v1/me"},
		{"://bad", true, "[url]"},
	} {
		got := httpclient.RedactURL(tc.raw, tc.keepPath)
		require.Equal(t, tc.want, got, tc.raw)
		for _, secret := range []string{"abc", "SECRET", "eyJ0", "deadbeef", "AKIA", "pass", "access_token"} {
			require.NotContains(t, got, secret)
		}
	}
}

func TestRedactError(t *testing.T) {
	inner := errors.New("connection reset by peer")
	err := httpclient.RedactError(&url.Error{Op: "Get", URL: "https://h.example/dl/TOKENPATH?tempauth=SECRET", Err: inner}, false)
	require.NotContains(t, err.Error(), "SECRET")
	require.NotContains(t, err.Error(), "TOKENPATH")
	require.ErrorIs(t, err, inner)
	plain := errors.New("plain")
	require.Equal(t, plain, httpclient.RedactError(plain, true))
}

func TestReadBodyAndDecodeJSON(t *testing.T) {
	b, err := httpclient.ReadBody(strings.NewReader("12345"), 5)
	require.NoError(t, err)
	require.Equal(t, "12345", string(b))

	_, err = httpclient.ReadBody(strings.NewReader("123456"), 5)
	var tl *httpclient.TooLargeError
	require.ErrorAs(t, err, &tl)
	require.Equal(t, int64(5), tl.Limit)

	var v struct{ A int }
	require.NoError(t, httpclient.DecodeJSON(strings.NewReader(`{"A":3}`), 100, &v))
	require.Equal(t, 3, v.A)
	require.ErrorAs(t, httpclient.DecodeJSON(strings.NewReader(`{"A":3}`), 4, &v), &tl)
	require.Error(t, httpclient.DecodeJSON(strings.NewReader(`{"A":`), 100, &v))
	require.NotErrorAs(t, httpclient.DecodeJSON(strings.NewReader(`{"A":`), 100, &v), &tl)
}

func TestPageGuard(t *testing.T) {
	t.Run("repeated cursor", func(t *testing.T) {
		g := httpclient.NewPageGuard(10)
		require.NoError(t, g.Next(context.Background(), "a"))
		require.NoError(t, g.Next(context.Background(), "b"))
		err := g.Next(context.Background(), "a")
		require.ErrorIs(t, err, httpclient.ErrPageLoop)
		require.ErrorContains(t, err, "repeats an earlier page")
	})
	t.Run("sanity cap", func(t *testing.T) {
		g := httpclient.NewPageGuard(3)
		for i := range 3 {
			require.NoError(t, g.Next(context.Background(), fmt.Sprint(i)))
		}
		err := g.Next(context.Background(), "3")
		require.ErrorIs(t, err, httpclient.ErrTooManyPages)
		require.ErrorContains(t, err, "did not end after 3 pages")
		require.Equal(t, 3, g.Pages())
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, httpclient.NewPageGuard(3).Next(ctx, "a"), context.Canceled)
	})
}
