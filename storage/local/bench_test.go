package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchTree makes n files of 1 KiB in n/20 folders below a fresh
// directory, as people or other programs make them (no ID attributes),
// and returns the directory and the files' paths.
func benchTree(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	content := make([]byte, 1024)
	dirs := max(n/20, 1)
	paths := make([]string, 0, n)
	for d := range dirs {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("d%05d", d)), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		p := fmt.Sprintf("d%05d/f%06d.txt", i%dirs, i)
		if err := os.WriteFile(filepath.Join(dir, p), content, 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

func listAll(b *testing.B, s *Storage) int {
	b.Helper()
	n := 0
	for _, err := range s.List(context.Background()) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkList lists trees of 10,000 and 50,000 files: "warm" with the
// Storage that listed the tree before (a running sync), "fresh" with a
// Storage opened for each listing (a sync run in a new process).
func BenchmarkList(b *testing.B) {
	for _, n := range []int{10_000, 50_000} {
		dir, _ := benchTree(b, n)
		b.Run(fmt.Sprintf("warm/%dk", n/1000), func(b *testing.B) {
			s, err := New(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			want := listAll(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if got := listAll(b, s); got != want {
					b.Fatalf("listed %d items, want %d", got, want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(want), "ns/item")
		})
		b.Run(fmt.Sprintf("fresh/%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := New(dir)
				if err != nil {
					b.Fatal(err)
				}
				if got := listAll(b, s); got < n {
					b.Fatalf("listed %d items, want at least %d", got, n)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkStat looks up files by path in trees of 10,000 and 50,000
// files (each file two levels below the root).
func BenchmarkStat(b *testing.B) {
	for _, n := range []int{10_000, 50_000} {
		dir, paths := benchTree(b, n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s, err := New(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.Stat(ctx, paths[i%len(paths)]); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
	}
}
