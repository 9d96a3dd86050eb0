package syncengine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortHashes checks that sortHashes sorts as slices.Sort does, below
// and above the size where it turns to a radix sort, with buckets (by top
// byte) small and large, even and not, duplicates and bytes that all
// keys share.
func TestSortHashes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		n    int
		gen  func() uint64
	}{
		{"empty", 0, r.Uint64},
		{"small", 100, r.Uint64},
		{"just below the radix sort", 1<<12 - 1, r.Uint64},
		{"random, buckets under 64", 10_000, r.Uint64},
		{"random", 50_000, r.Uint64},
		{"uneven buckets", 30_000, func() uint64 { return r.Uint64() >> r.UintN(9) }},
		{"duplicates", 50_000, func() uint64 { return r.Uint64N(300) << 40 }},
		{"shared high bytes", 20_000, func() uint64 { return 0xABCD<<48 | r.Uint64N(1<<20) }},
		{"all equal", 10_000, func() uint64 { return 42 }},
		{"extremes", 10_000, func() uint64 { return []uint64{0, 1, 1<<63 - 1, 1 << 63, 1<<64 - 1}[r.IntN(5)] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]uint64, tc.n)
			for i := range a {
				a[i] = tc.gen()
			}
			want := slices.Clone(a)
			slices.Sort(want)
			sortHashes(a)
			if !slices.Equal(want, a) {
				t.Fatalf("sortHashes of %d values differs from slices.Sort", tc.n)
			}
		})
	}
}
