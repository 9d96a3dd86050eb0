package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/procoresync/procoresync/storage/memory"
)

// build makes a tree of n small files, 100 per folder, folders 2 deep.
func build(tb testing.TB, n int) *memory.Storage {
	tb.Helper()
	s := memory.New()
	data := []byte("content")
	for i := range n {
		if _, err := s.WriteFile(fmt.Sprintf("d%d/e%d/f%d.txt", i/10000, i/100, i), data); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// BenchmarkWriteFile measures building a tree with WriteFile.
func BenchmarkWriteFile(b *testing.B) {
	b.ReportAllocs()
	build(b, b.N)
}

// BenchmarkList1M lists a tree of a million files.
func BenchmarkList1M(b *testing.B) {
	s := build(b, 1_000_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range s.List(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n < 1_000_000 {
			b.Fatalf("listed %d items", n)
		}
	}
}
