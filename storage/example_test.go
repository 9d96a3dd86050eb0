package storage_test

import (
	"errors"
	"fmt"

	"github.com/procoresync/procoresync/storage"
)

func ExampleNameRules_Map() {
	procore := storage.NameRules{InvalidChars: storage.DefaultInvalidChars}
	fmt.Println(procore.Map(`Site #3: "East" <Level 2>`, ""))

	windows := storage.NameRules{
		InvalidChars:     `"*:<>?\|`,
		ReservedStems:    []string{"CON", "PRN", "AUX", "NUL"},
		ReservedPrefixes: []string{"~$"},
		NoTrailingPeriod: true,
		NoTrailingSpace:  true,
		MaxNameLength:    16,
	}
	for _, name := range []string{"con.txt", "~$Budget.xlsx", "Notes. ", "a very long file name.pdf", "ok.txt"} {
		fmt.Printf("%q\n", windows.Map(name, "_"))
	}
	// Output:
	// Site -3- -East- -Level 2-
	// "con_.txt"
	// "_$Budget.xlsx"
	// "Notes__"
	// "a very long .pdf"
	// "ok.txt"
}

func ExampleNameRules_Validate() {
	rules := storage.NameRules{
		InvalidChars:       `"*:<>?\|`,
		ReservedSubstrings: []string{"_vti_"},
	}
	for _, name := range []string{"Plan A.pdf", "RFI: 12", "x_vti_y"} {
		if err := rules.Validate(name); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(name, "is valid")
	}
	// Output:
	// Plan A.pdf is valid
	// invalid name "RFI: 12": contains ':'
	// invalid name "x_vti_y": contains reserved "_vti_"
}

func ExampleDisambiguate() {
	// "a:b.txt" and "a?b.txt" both map to "a-b.txt" in the same folder.
	// Whichever the engine meets second, it gets the same name every time.
	rules := storage.NameRules{InvalidChars: storage.DefaultInvalidChars}
	for _, original := range []string{"a:b.txt", "a?b.txt"} {
		mapped := rules.Map(original, "")
		fmt.Println(mapped, "→", storage.Disambiguate(mapped, original))
	}
	// '~' is invalid under these rules: MapDisambiguated makes it valid.
	fmt.Println(rules.MapDisambiguated("a:b.txt", ""))
	// Output:
	// a-b.txt → a-b (~1f0f1e).txt
	// a-b.txt → a-b (~f8e3cd).txt
	// a-b (-1f0f1e).txt
}

func ExampleError() {
	err := fmt.Errorf("sync Tower 3: %w",
		storage.NewError("stat", "Docs/Plans", storage.ErrNotFound, nil))
	fmt.Println(err)
	fmt.Println(errors.Is(err, storage.ErrNotFound), storage.IsRetryable(err))

	var se *storage.Error
	if errors.As(err, &se) {
		fmt.Println(se.Op, se.Path)
	}
	// Output:
	// sync Tower 3: stat "Docs/Plans": not found
	// true false
	// stat Docs/Plans
}
