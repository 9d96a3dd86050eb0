package projects

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

type cmpTarget struct{ name string }

func (t cmpTarget) Name() string { return t.name }
func (t cmpTarget) Open(context.Context, string) (storage.Storage, error) {
	return memory.New(), nil
}

// TestSameTarget: targets of types == cannot compare are compared without
// a panic.
func TestSameTarget(t *testing.T) {
	open := func(context.Context, string) (storage.Storage, error) { return memory.New(), nil }
	other := func(context.Context, string) (storage.Storage, error) { return nil, nil }
	a := TargetFunc{Label: "SharePoint", Func: open}
	require.True(t, sameTarget(a, TargetFunc{Label: "SharePoint", Func: open}))
	require.False(t, sameTarget(a, TargetFunc{Label: "OneDrive", Func: open}))
	require.False(t, sameTarget(a, TargetFunc{Label: "SharePoint", Func: other}))
	require.False(t, sameTarget(a, cmpTarget{"SharePoint"}))
	require.True(t, sameTarget(cmpTarget{"x"}, cmpTarget{"x"}))
	require.False(t, sameTarget(cmpTarget{"x"}, cmpTarget{"y"}))
	require.False(t, sameTarget(nil, a))
}
