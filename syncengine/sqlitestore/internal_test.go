package sqlitestore

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want []int
		ok   bool
	}{
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": {}, "migrations/0001_a.sql": {}}, []int{1, 2}, true},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}}, nil, false},
		{"bad name", fstest.MapFS{"migrations/first.sql": {}}, nil, false},
		{"zero", fstest.MapFS{"migrations/0000_x.sql": {}}, nil, false},
		{"none", fstest.MapFS{}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fs)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			require.Equal(t, tc.want, got)
		})
	}
	ms, err := loadMigrations(migrationFS)
	require.NoError(t, err)
	require.Len(t, ms, SchemaVersion)
}

func TestPackRoundTrip(t *testing.T) {
	mt := time.Date(2026, 11, 22, 1, 2, 3, 4, time.UTC)
	tests := []struct {
		name string
		it   syncengine.Item
		max  int // upper bound of the packed size, to keep hashes compact
	}{
		{"empty", syncengine.Item{}, 20},
		{"folder", syncengine.Item{IsDir: true, A: syncengine.SideState{ID: "1", Path: "a"}}, 30},
		{"sha256 is stored as 32 bytes", syncengine.Item{A: syncengine.SideState{ID: "1", Path: "f", ModTime: mt, Size: 1 << 40,
			Hashes: storage.Hashes{storage.HashSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}}, 70},
		{"quickxor is stored as 20 bytes", syncengine.Item{B: syncengine.SideState{
			Hashes: storage.Hashes{storage.HashQuickXor: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}, 40},
		{"mixed", syncengine.Item{
			A: syncengine.SideState{ID: "é", ParentID: "p", Path: "x/y", Version: "v", Size: -1, ModTime: mt,
				Hashes: storage.Hashes{storage.HashMD5: "ABC", "custom": "", storage.HashSHA1: "00"}},
			B: syncengine.SideState{Hashes: storage.Hashes{storage.HashDropbox: "zz", storage.HashQuickXor: "!!"}}}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := packRest(&tc.it)
			require.NoError(t, err)
			require.LessOrEqual(t, len(b), tc.max)
			var u unpacker
			var got syncengine.Item
			require.NoError(t, u.unpack(b, &got))
			require.Equal(t, tc.it, got)
			// Every truncation is an error, never a panic.
			for i := range len(b) {
				var x syncengine.Item
				require.NotPanics(t, func() { err = u.unpack(b[:i], &x) })
				require.Error(t, err, "truncated to %d bytes", i)
			}
			require.Error(t, u.unpack(append(b, 0), &got), "trailing bytes")
		})
	}
	var u unpacker
	require.ErrorIs(t, u.unpack([]byte{0, 0, 0, 0, 0, 0, 0, 3, 0x7f, 0, 0}, &syncengine.Item{}), errCorrupt, "unknown hash kind")
}
