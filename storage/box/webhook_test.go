package box_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
)

func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"webhook_event","trigger":"FILE.UPLOADED"}`)
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	hdr := func(ts, prim, sec string) http.Header {
		h := http.Header{}
		h.Set("BOX-DELIVERY-TIMESTAMP", ts)
		if prim != "" {
			h.Set("BOX-SIGNATURE-PRIMARY", prim)
		}
		if sec != "" {
			h.Set("BOX-SIGNATURE-SECONDARY", sec)
		}
		return h
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
		ok   bool
	}{
		{"primary", hdr(ts, boxtest.Sign("p", body, ts), ""), body, true},
		{"secondary (the primary key rotated)", hdr(ts, boxtest.Sign("old", body, ts), boxtest.Sign("s", body, ts)), body, true},
		{"tampered body", hdr(ts, boxtest.Sign("p", body, ts), ""), append(bytes.Clone(body), ' '), false},
		{"signature of another timestamp", hdr(ts, boxtest.Sign("p", body, now.Format(time.RFC3339)), ""), body, false},
		{"older than 10 minutes", hdr(now.Add(-11*time.Minute).Format(time.RFC3339), boxtest.Sign("p", body, now.Add(-11*time.Minute).Format(time.RFC3339)), ""), body, false},
		{"no timestamp", hdr("", boxtest.Sign("p", body, ""), ""), body, false},
		{"no signature", hdr(ts, "", ""), body, false},
		{"secondary signature under the primary header", hdr(ts, boxtest.Sign("s", body, ts), ""), body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := box.VerifyWebhook("p", "s", tc.h, tc.body, now)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, box.ErrBadSignature)
			}
		})
	}
}

func TestWebhookReceiver(t *testing.T) {
	now := time.Now()
	rcv := &box.WebhookReceiver{PrimaryKey: "p", SecondaryKey: "s", Now: func() time.Time { return now }}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ch := rcv.Watch(ctx)
	body := []byte(`{"type":"webhook_event"}`)
	ts := now.Format(time.RFC3339)
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("BOX-DELIVERY-TIMESTAMP", ts)
		req.Header.Set("BOX-SIGNATURE-PRIMARY", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, post("AAAA"))
	select {
	case <-ch:
		t.Fatal("a forged delivery woke the watcher")
	default:
	}
	require.Equal(t, http.StatusOK, post(boxtest.Sign("p", body, ts)))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("a verified delivery did not wake the watcher")
	}
}
