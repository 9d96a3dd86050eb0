package local_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/local"
)

// ExampleNew opens a folder as a Storage with a recycle bin that keeps
// deletions for 30 days and at most 10 GiB, writes a file, and deletes
// and restores it: the restored file keeps its ID.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "procoresync-local")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := local.New(dir, local.WithTrashRetention(local.TrashRetention{MaxAge: 30 * 24 * time.Hour, MaxBytes: 10 << 30}))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	root, err := s.Stat(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	drawings, err := s.MakeDir(ctx, root, "Drawings")
	if err != nil {
		log.Fatal(err)
	}
	f, err := s.Put(ctx, drawings, "A-101.pdf", strings.NewReader("%PDF-1.7"), 8, storage.PutOptions{})
	if err != nil {
		log.Fatal(err)
	}
	sum, err := s.Hash(ctx, f, storage.HashSHA256)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Path, f.Size, sum[:12])

	if err := s.Delete(ctx, f); err != nil {
		log.Fatal(err)
	}
	bin, err := s.Trash(ctx)
	if err != nil {
		log.Fatal(err)
	}
	back, err := s.Restore(ctx, bin[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restored:", back.Path, back.ID == f.ID)
	// Output:
	// Drawings/A-101.pdf 8 86edbaa24831
	// restored: Drawings/A-101.pdf true
}
