package memory_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

// ExampleNew makes an in-memory Storage with version history, writes a
// file through the storage.Storage interface as the engine does, edits
// it as a person would (WriteFile), and reads the change feed.
func ExampleNew() {
	ctx := context.Background()
	s := memory.New(memory.WithVersionHistory(true))

	cursor, err := s.LatestCursor(ctx)
	if err != nil {
		log.Fatal(err)
	}
	root, err := s.Stat(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	specs, err := s.MakeDir(ctx, root, "Specifications")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Put(ctx, specs, "03 30 00 Concrete.docx", strings.NewReader("v1"), 2, storage.PutOptions{}); err != nil {
		log.Fatal(err)
	}
	if _, err := s.WriteFile("Specifications/03 30 00 Concrete.docx", []byte("v2 by a person")); err != nil {
		log.Fatal(err)
	}

	changes, _, err := s.Changes(ctx, cursor)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range changes {
		fmt.Println(c.Entry.Path, c.Deleted)
	}
	b, _ := s.ReadFile("Specifications/03 30 00 Concrete.docx")
	fmt.Printf("%s\n", b)
	// Output:
	// Specifications false
	// Specifications/03 30 00 Concrete.docx false
	// v2 by a person
}
