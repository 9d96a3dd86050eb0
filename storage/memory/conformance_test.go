package memory_test

import (
	"context"
	"sync"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/storage/storagetest"
)

// sharePointRules are name rules like SharePoint's.
var sharePointRules = storage.NameRules{
	InvalidChars:       `"*:<>?/\|#%~`,
	NoControlChars:     true,
	ReservedNames:      []string{".lock", "CON", "PRN", "AUX", "NUL", "desktop.ini", "_vti_"},
	ReservedStems:      []string{"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"},
	ReservedPrefixes:   []string{"~$"},
	ReservedSubstrings: []string{"_vti_"},
	NoLeadingSpace:     true,
	NoTrailingSpace:    true,
	NoTrailingPeriod:   true,
	MaxNameLength:      255,
	MaxPathLength:      400,
	CaseInsensitive:    true,
	Normalization:      storage.NormNFC,
}

func setChunk(s storage.Storage, chunk int64) bool {
	m, ok := s.(*memory.Storage)
	if ok {
		m.SetChunking(chunk, chunk)
	}
	return ok
}

func TestConformance(t *testing.T) {
	configs := []struct {
		name string
		opts []memory.Option
	}{
		{"Default", nil},
		{"SharePointLike", []memory.Option{memory.WithNameRules(sharePointRules), memory.WithHashes(storage.HashSHA1, storage.HashMD5, storage.HashSHA256)}},
		{"Bare", []memory.Option{memory.WithVersionHistory(false), memory.WithRecycleBin(false), memory.WithHashes()}},
		{"Chunked", []memory.Option{memory.WithChunking(4096, 1024), memory.WithMaxFileSize(1 << 20)}},
		{"Albums", []memory.Option{memory.WithMaxDepth(1), memory.CaseInsensitive()}},
		{"NoIfMatch", []memory.Option{memory.WithConditionalDeleteMove(false)}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Opt{
				NewStorage:   func(*testing.T) storage.Storage { return memory.New(c.opts...) },
				SetChunkSize: setChunk,
			})
		})
	}
}

func TestConformanceSub(t *testing.T) {
	var parents sync.Map // *memory.Storage (Sub) → *memory.Storage (its parent)
	storagetest.Run(t, storagetest.Opt{
		MoveOut: func(t *testing.T, s storage.Storage, e storage.Entry) {
			p, ok := parents.Load(s)
			if !ok {
				t.Fatal("no parent storage")
			}
			if _, err := p.(*memory.Storage).Move(context.Background(), storage.Entry{ID: e.ID}, storage.Entry{}, "moved out "+e.ID); err != nil {
				t.Fatalf("moving %q out of the root: %v", e.Path, err)
			}
		},
		NewStorage: func(t *testing.T) storage.Storage {
			parent := memory.New()
			if _, err := parent.WriteFile("outside.txt", []byte("noise")); err != nil {
				t.Fatal(err)
			}
			d, err := parent.Mkdirs("projects/p1")
			if err != nil {
				t.Fatal(err)
			}
			sub := parent.Sub(d.ID)
			parents.Store(sub, parent)
			return sub
		},
		SetChunkSize: setChunk,
	})
}
