package recordpdf

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRender measures a typical RFI (10 question/answer entries, 20
// fields), a large one (200 entries with long bodies and 100 fields) and a
// CJK one; pdf-bytes is the size of the PDF, cpu-ns/op the CPU time (all
// threads, the garbage collector's included) per render.
func BenchmarkRender(b *testing.B) {
	large := rfi(200)
	for i := range large.Sections[0].Entries {
		e := &large.Sections[0].Entries[i]
		e.Body = strings.Repeat(e.Body+" ", 8)
	}
	large.Fields = append(large.Fields, manyFields(80)...)
	cjk := rfi(10)
	cjk.Title = "東京タワー 基礎工事"
	for i := range cjk.Sections[0].Entries {
		cjk.Sections[0].Entries[i].Body = strings.Repeat("基礎工事は予定通り進んでいます。", 10)
	}
	for _, bc := range []struct {
		name string
		doc  Document
	}{
		{"typical-RFI", rfi(10)},
		{"large-RFI", large},
		{"CJK-RFI", cjk},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			cpu := cpuTime()
			for b.Loop() {
				out, err := Render(bc.doc, nil)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "pdf-bytes")
			if c := cpuTime() - cpu; c > 0 {
				b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func ExampleRender() {
	doc := Document{
		Project: "Harbour View Tower",
		Tool:    "RFIs",
		Number:  "RFI #12",
		Title:   "Ø 12 rebar at grid B/4",
		Status:  "Open",
		Fields:  []Field{{Label: "Assignee", Value: "Jörg Müller"}},
		Sections: []Section{{
			Heading: "Conversation",
			Entries: []Entry{
				{Heading: "Question", Author: "Anna Schmidt", Body: "Please confirm the bar size."},
				{Heading: "Answer (official)", Author: "Jörg Müller", Body: "Ø 12 at 150 mm centres."},
			},
		}},
		Attachments: []string{"sketch.pdf"},
		Generated:   at, // the record's updated_at, never time.Now
	}
	pdf, err := Render(doc, &Options{PageSize: Letter})
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _ := Render(doc, &Options{PageSize: Letter})
	fmt.Println(strings.HasPrefix(string(pdf), "%PDF-"), string(pdf) == string(again))
	// Output: true true
}
