package procore_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
)

func TestRegisterHookV2(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
		WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond}}, nil)
	ctx := context.Background()
	rcv := &procore.Receiver{Authorization: "Bearer s3cret"}
	hs := httptest.NewServer(rcv)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.WaitWebhooks)
	psc := procore.WebhookScope{ProjectID: srv.ProjectID}

	h, err := c.Webhooks.RegisterHookV2(ctx, psc, "sync", hs.URL, "Bearer s3cret", "", append(procore.DocumentResources, procore.PhotoResources...))
	require.NoError(t, err)
	require.Equal(t, 15, h.TriggerCount)
	require.Equal(t, "v2.0", h.PayloadVersion)
	require.NotContains(t, h.DestinationHeaders["Authorization"], "s3cret"[:3], "masked in responses")

	// Again: found by namespace, nothing created; the secret is
	// re-applied (Procore masks it, so a rotation cannot be seen).
	srv.ResetCalls()
	h2, err := c.Webhooks.RegisterHookV2(ctx, psc, "sync", hs.URL, "Bearer s3cret", "", append(procore.DocumentResources, procore.PhotoResources...))
	require.NoError(t, err)
	require.Equal(t, h.ID, h2.ID)
	require.Equal(t, 4, srv.CallsByHost(procoretest.HostAPI), "list hooks, patch secret, list resources, list triggers: %s", srv)

	// A resource the scope does not offer is reported, the rest registered.
	h3, err := c.Webhooks.RegisterHookV2(ctx, psc, "other", hs.URL, "", "v4.0", []string{"Project Files", "No Such Thing"})
	var ue *procore.UnsubscribableError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, []string{"No Such Thing/create", "No Such Thing/update", "No Such Thing/delete"}, ue.Missing)
	require.NotNil(t, h3)
	require.Equal(t, 3, h3.TriggerCount)

	// A disabled hook is switched back on and then delivers again.
	_, _, err = c.Webhooks.UpdateHookV2(ctx, psc, h.ID, procore.HookV2Update{Status: "disabled"})
	require.NoError(t, err)
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "quiet.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	d, _, err := c.Webhooks.ListDeliveriesV2(ctx, psc, h.ID, nil)
	require.NoError(t, err)
	require.Empty(t, d, "a disabled hook delivers nothing")
	h4, err := c.Webhooks.RegisterHookV2(ctx, psc, "sync", hs.URL, "Bearer s3cret", "", append(procore.DocumentResources, procore.PhotoResources...))
	require.NoError(t, err)
	require.Equal(t, "active", h4.Status)
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "loud.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	d, _, err = c.Webhooks.ListDeliveriesV2(ctx, psc, h.ID, &procore.DeliveryListOptions{ResourceName: "Project Files"})
	require.NoError(t, err)
	require.Len(t, d, 1)
	require.Equal(t, "delivered", d[0].Status)
	ev, err := procore.ParseEvent(d[0].Payload)
	require.NoError(t, err)
	require.Equal(t, "create", ev.EventType)
}

func TestWebhooksV2BulkAndErrors(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	csc := procore.WebhookScope{CompanyID: srv.CompanyID}
	h, _, err := c.Webhooks.CreateHookV2(ctx, csc, "bulk", "https://example.invalid/hook", "", "")
	require.NoError(t, err)

	// Partial success (207): the created triggers come with the failures.
	got, err := c.Webhooks.CreateTriggersBulk(ctx, csc, h.ID, []procore.TriggerV2{
		{ResourceName: "Company Files", EventType: "create"},
		{ResourceName: "Projects", EventType: "delete"},      // not offered
		{ResourceName: "Company Files", EventType: "create"}, // duplicate
	})
	var be *procore.BulkTriggerError
	require.ErrorAs(t, err, &be)
	require.Len(t, be.Failed, 2)
	require.Len(t, got, 1)

	// More than MaxBulkTriggers are split into several calls (Procore
	// answers 413 beyond 500); the duplicates fail.
	many := make([]procore.TriggerV2, procore.MaxBulkTriggers+1)
	for i := range many {
		many[i] = procore.TriggerV2{ResourceName: "Company Folders", EventType: "update"}
	}
	srv.ResetCalls()
	got, err = c.Webhooks.CreateTriggersBulk(ctx, csc, h.ID, many)
	require.ErrorAs(t, err, &be)
	require.Len(t, got, 1)
	require.Len(t, be.Failed, procore.MaxBulkTriggers)
	require.Equal(t, 2, srv.CallCount("RestV20CompaniesCompanyIdWebhooksHooksHookIdTriggersBulkPost"))

	deleted, err := c.Webhooks.DeleteTriggersBulk(ctx, csc, h.ID, []string{got[0].ID, "999"})
	require.ErrorAs(t, err, &be)
	require.Equal(t, []string{got[0].ID}, deleted)

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"no scope", func() error {
			_, _, err := c.Webhooks.GetHookV2(ctx, procore.WebhookScope{CompanyID: -1}, h.ID)
			return err
		}},
		{"empty id", func() error { _, _, err := c.Webhooks.GetHookV2(ctx, csc, ""); return err }},
		{"id with a slash", func() error { _, err := c.Webhooks.DeleteHookV2(ctx, csc, "1/../2"); return err }},
		{"unknown hook", func() error { _, _, err := c.Webhooks.GetHookV2(ctx, csc, "12345"); return err }},
		{"hook of another scope", func() error {
			_, _, err := c.Webhooks.GetHookV2(ctx, procore.WebhookScope{ProjectID: srv.ProjectID}, h.ID)
			return err
		}},
		{"bad payload version", func() error {
			_, _, err := c.Webhooks.UpdateHookV2(ctx, csc, h.ID, procore.HookV2Update{PayloadVersion: "v9"})
			return err
		}},
		{"register without namespace", func() error {
			_, err := c.Webhooks.RegisterHookV2(ctx, csc, "", "https://x.invalid", "", "", nil)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.call())
		})
	}
}
