package syncengine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

func TestScheduleKeepsDependencies(t *testing.T) {
	acts := []Action{
		{Kind: ActionMkdir, Side: SideB, Path: "a"},          // 0
		{Kind: ActionMkdir, Side: SideB, Path: "a/b"},        // 1
		{Kind: ActionMkdir, Side: SideB, Path: "a/b/c"},      // 2
		{Kind: ActionMkdir, Side: SideA, Path: "z"},          // 3
		{Kind: ActionMove, Side: SideB, Path: "m", Key: 7},   // 4
		{Kind: ActionMove, Side: SideB, Path: "n", Key: 8},   // 5
		{Kind: ActionCopy, Side: SideB, Path: "a/b/f"},       // 6
		{Kind: ActionUpdate, Side: SideB, Path: "m", Key: 7}, // 7
		{Kind: ActionCopy, Side: SideA, Path: "z/g"},         // 8
		{Kind: ActionLink, Side: SideB, Path: "n", Key: 8},   // 9
		{Kind: ActionDelete, Side: SideA, Path: "x"},         // 10
		{Kind: ActionDelete, Side: SideA, Path: "x/y"},       // 11
		{Kind: ActionDelete, Side: SideB, Path: "q/r/s"},     // 12
	}
	got := schedule(acts)
	want := [][][]int{
		{{0}, {3}},           // top level folders
		{{1}},                // then the level below
		{{2}},                // and below
		{{4}, {5}},           // unrelated moves side by side
		{{6}, {7}, {8}, {9}}, // transfers side by side
		{{12}},               // deepest deletion first
		{{11}},               //
		{{10}},               // parents last
	}
	require.Equal(t, want, got)

	// Actions on the same key stay in one chain, in plan order.
	got = schedule([]Action{
		{Kind: ActionUpdate, Side: SideB, Path: "f", Key: 3},
		{Kind: ActionCopy, Side: SideB, Path: "g"},
		{Kind: ActionLink, Side: SideA, Path: "f", Key: 3},
	})
	require.Equal(t, [][][]int{{{0, 2}, {1}}}, got)
	require.Empty(t, schedule(nil))
}

func TestMoveBatchesKeepRelatedMovesInOrder(t *testing.T) {
	mv := func(side Side, from, to, src string, key int64) Action {
		return Action{Kind: ActionMove, Side: side, Path: to, Key: key,
			Target: storage.Entry{Path: from}, Source: storage.Entry{Path: src}}
	}
	all := func(acts []Action) []int {
		seg := make([]int, len(acts))
		for i := range seg {
			seg[i] = i
		}
		return seg
	}
	for _, tc := range []struct {
		name string
		acts []Action
		want [][][]int
	}{
		{"unrelated moves side by side", []Action{
			mv(SideB, "a", "b", "b", 1), mv(SideB, "c/d", "c/e", "c/e", 2), mv(SideA, "a", "z", "z", 3),
		}, [][][]int{{{0}, {1}, {2}}}},
		{"a folder, then a file inside it", []Action{
			mv(SideB, "X", "Y", "Y", 1), mv(SideB, "Q", "R", "R", 2), mv(SideB, "Y/f", "Y/h", "Y/h", 3),
		}, [][][]int{{{0, 2}, {1}}}},
		{"a folder moved into another, beside what that one holds", []Action{
			mv(SideB, "y/a", "y/b", "y/b", 1), mv(SideB, "x", "y/x", "y/x", 2),
		}, [][][]int{{{0}, {1}}}},
		{"a folder moved into a folder that moves next", []Action{
			mv(SideB, "P", "R/P", "R/P", 1), mv(SideB, "R", "S/R", "S/R", 2),
		}, [][][]int{{{0, 1}}}},
		{"a swap through a name moved aside", []Action{
			mv(SideB, "a.txt", "a (moving 1).txt", "b.txt", 1), mv(SideB, "b.txt", "a.txt", "a.txt", 2),
			mv(SideB, "a (moving 1).txt", "b.txt", "b.txt", 1),
		}, [][][]int{{{0, 1, 2}}}},
		{"names a storage may take for the same", []Action{
			mv(SideB, "Docs", "Papers", "Papers", 1), mv(SideB, "tmp", "docs", "docs", 2),
			mv(SideB, "Cafe\u0301", "x", "x", 3), mv(SideB, "y", "caf\u00e9", "café", 4),
		}, [][][]int{{{0, 1}, {2, 3}}}},
		{"related through the other side's path", []Action{
			mv(SideB, "a", "b", "dir/b", 1), mv(SideA, "dir", "dir2", "dir2", 2),
		}, [][][]int{{{0, 1}}}},
		{"the same item", []Action{
			mv(SideB, "a", "b", "b", 7), mv(SideB, "c", "d", "d", 7),
		}, [][][]int{{{0, 1}}}},
		{"related to two chains: a new batch after both", []Action{
			mv(SideB, "x/a", "x/b", "x/b", 1), mv(SideB, "y/a", "y/b", "y/b", 2),
			mv(SideB, "x", "y/a", "y/a", 3), mv(SideB, "z", "w", "w", 4),
		}, [][][]int{{{0}, {1}}, {{2}, {3}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, moveBatches(tc.acts, all(tc.acts)))
		})
	}

	// A batch holds at most applyWindow moves.
	var many []Action
	for i := range applyWindow + 3 {
		many = append(many, mv(SideB, fmt.Sprintf("f%d", i), fmt.Sprintf("g%d", i), fmt.Sprintf("g%d", i), int64(i+1)))
	}
	got := moveBatches(many, all(many))
	require.Len(t, got, 2)
	require.Len(t, got[0], applyWindow)
	require.Len(t, got[1], 3)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestCheckedReader(t *testing.T) {
	read := func(src string, size int64, hs storage.Hashes) (string, error) {
		r := newCheckedReader(iotest.OneByteReader(strings.NewReader(src)), size, hs)
		b, err := io.ReadAll(r)
		return string(b), err
	}
	got, err := read("hello", 5, storage.Hashes{storage.HashSHA256: sha("hello")})
	require.NoError(t, err)
	require.Equal(t, "hello", got)

	_, err = read("hell", 5, nil)
	require.ErrorIs(t, err, errSourceChanged, "short source")
	_, err = read("hello!", 5, nil)
	require.ErrorIs(t, err, errSourceChanged, "longer source")
	_, err = read("jello", 5, storage.Hashes{storage.HashSHA256: sha("hello")})
	require.ErrorIs(t, err, errSourceChanged, "same size, other content")

	got, err = read("anything", -1, nil)
	require.NoError(t, err, "unknown size")
	require.Equal(t, "anything", got)

	got, err = read("", 0, storage.Hashes{storage.HashSHA256: sha("")})
	require.NoError(t, err, "empty file")
	require.Empty(t, got)

	boom := errors.New("boom")
	_, err = io.ReadAll(newCheckedReader(iotest.ErrReader(boom), 3, nil))
	require.ErrorIs(t, err, boom)
}

func TestReadersEqual(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 10000)
	other := bytes.Clone(big)
	other[len(other)-1] = 'x'
	for _, tc := range []struct {
		a, b []byte
		want bool
	}{
		{nil, nil, true},
		{big, big, true},
		{big, other, false},
		{big, big[:len(big)-1], false},
		{[]byte("a"), nil, false},
	} {
		eq, err := readersEqual(iotest.HalfReader(bytes.NewReader(tc.a)), bytes.NewReader(tc.b))
		require.NoError(t, err)
		require.Equal(t, tc.want, eq, "%d vs %d bytes", len(tc.a), len(tc.b))
	}
}

func TestSameContent(t *testing.T) {
	ctx := context.Background()
	withHash := memory.New()
	noHash := memory.New(memory.WithHashes())
	a1, err := withHash.WriteFile("f", []byte("same"))
	require.NoError(t, err)
	a2, err := withHash.WriteFile("g", []byte("diff"))
	require.NoError(t, err)
	b1, err := noHash.WriteFile("f", []byte("same"))
	require.NoError(t, err)
	require.Empty(t, b1.Hashes)

	eq, err := sameContent(ctx, withHash, a1, withHash, a1)
	require.NoError(t, err)
	require.True(t, eq, "by hash")
	eq, err = sameContent(ctx, withHash, a1, withHash, a2)
	require.NoError(t, err)
	require.False(t, eq, "by hash")
	eq, err = sameContent(ctx, withHash, a1, noHash, b1)
	require.NoError(t, err)
	require.True(t, eq, "by a Hasher or the bytes")
	eq, err = sameContent(ctx, noHash, b1, withHash, a2)
	require.NoError(t, err)
	require.False(t, eq)
	b2, err := noHash.WriteFile("g", []byte("sane"))
	require.NoError(t, err)
	eq, err = sameContent(ctx, noHash, b1, noHash, b2)
	require.NoError(t, err)
	require.False(t, eq, "by the bytes")
}

func TestBackoffIsExponentialAndCapped(t *testing.T) {
	e := &Engine{opts: Options{RetryBackoff: 1, MaxRetryBackoff: 10}}
	var got []int64
	for n := 1; n <= 6; n++ {
		got = append(got, int64(e.backoff(n)))
	}
	require.Equal(t, []int64{1, 2, 4, 8, 10, 10}, got)
}

// plainStorage hides the Hasher of the storage it wraps.
type plainStorage struct{ storage.Storage }

// failingHasher is a storage whose Hasher fails with err.
type failingHasher struct {
	storage.Storage
	err error
}

func (f failingHasher) Hash(context.Context, storage.Entry, storage.HashKind) (string, error) {
	return "", f.err
}

func TestCompareContentOneRoutine(t *testing.T) {
	ctx := context.Background()
	withHash := memory.New()
	noHash := memory.New(memory.WithHashes())
	a1, err := withHash.WriteFile("f", []byte("same"))
	require.NoError(t, err)
	b1, err := noHash.WriteFile("f", []byte("same"))
	require.NoError(t, err)
	b2, err := noHash.WriteFile("g", []byte("sane"))
	require.NoError(t, err)
	plain := plainStorage{noHash}

	// Without reading and with no hash to compare, the verdict is unknown.
	v, err := compareContent(ctx, plain, b1, plain, b2, false)
	require.NoError(t, err)
	require.Equal(t, verdictUnknown, v)
	// The other side's Hasher computes the hash one side carries.
	v, err = compareContent(ctx, withHash, a1, noHash, b1, false)
	require.NoError(t, err)
	require.Equal(t, verdictEqual, v)
	// A kind the Hasher does not support is passed over: the bytes decide.
	unsupported := failingHasher{noHash, fmt.Errorf("no such kind: %w", storage.ErrUnsupported)}
	v, err = compareContent(ctx, withHash, a1, unsupported, b1, true)
	require.NoError(t, err)
	require.Equal(t, verdictEqual, v)
	// Any other failure is reported, with an unknown verdict.
	broken := failingHasher{noHash, errors.New("hash service down")}
	v, err = compareContent(ctx, withHash, a1, broken, b1, true)
	require.ErrorContains(t, err, "hash service down")
	require.Equal(t, verdictUnknown, v)
	// Folders: equal to folders, never to files.
	v, err = compareContent(ctx, plain, storage.Entry{IsDir: true}, plain, storage.Entry{IsDir: true}, false)
	require.NoError(t, err)
	require.Equal(t, verdictEqual, v)
	v, err = compareContent(ctx, plain, storage.Entry{IsDir: true}, plain, b1, true)
	require.NoError(t, err)
	require.Equal(t, verdictDifferent, v)
}
