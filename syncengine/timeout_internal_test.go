package syncengine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// A transfer's deadline grows with its size at MinTransferRate, so that a
// large upload on a slow link is not cut while it progresses; other
// actions get ActionTimeout.
func TestActionTimeoutAllowsForTheTransferSize(t *testing.T) {
	e := &Engine{opts: Options{ActionTimeout: 30 * time.Minute, MinTransferRate: 1 << 20}}
	require.Equal(t, 30*time.Minute, e.actionTimeout(Action{Kind: ActionDelete, Target: storage.Entry{Size: 1 << 30}}))
	big := Action{Kind: ActionCopy, Source: storage.Entry{Size: 6 << 30}}
	require.Equal(t, 30*time.Minute+6144*time.Second, e.actionTimeout(big))
	e.opts.MinTransferRate = 0
	require.Equal(t, 30*time.Minute, e.actionTimeout(big))
	e.opts.ActionTimeout = 0
	require.Zero(t, e.actionTimeout(big))
}

// New applies the documented defaults and turns timeouts off for negative
// values.
func TestTimeoutDefaults(t *testing.T) {
	e, err := New(Options{Store: nopStore{}})
	require.NoError(t, err)
	require.Equal(t, defaultActionTimeout, e.opts.ActionTimeout)
	require.Equal(t, defaultRunTimeout, e.opts.RunTimeout)
	require.Equal(t, int64(defaultMinTransferRate), e.opts.MinTransferRate)
	require.Equal(t, defaultLockedBackoff, e.opts.LockedBackoff)
	require.Equal(t, defaultMaxPasses, e.opts.MaxPasses)
	e, err = New(Options{Store: nopStore{}, ActionTimeout: -1, RunTimeout: -1, MinTransferRate: -1})
	require.NoError(t, err)
	require.Zero(t, e.opts.ActionTimeout)
	require.Zero(t, e.opts.RunTimeout)
	require.Zero(t, e.opts.MinTransferRate)
	_, err = New(Options{Store: nopStore{}, LockedBackoff: -time.Second})
	require.Error(t, err)
}

// nopStore satisfies MetadataStore for tests that never call it.
type nopStore struct{ MetadataStore }
