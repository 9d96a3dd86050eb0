package oasroute

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const spec = `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{
"/files/{id}":{"get":{"responses":{"200":{"description":"ok"}}}},
"/files/{id}/content":{"get":{"responses":{"200":{"description":"ok"}}}},
"/files/me":{"get":{"responses":{"200":{"description":"ok"}}}}}}`

func TestFind(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	r := New(doc, nil, nil)
	for _, tc := range []struct{ method, path, want, id string }{
		{"GET", "/files/7", "/files/{id}", "7"},
		{"GET", "/files/7/content", "/files/{id}/content", "7"},
		{"GET", "/files/me", "/files/me", ""}, // the literal path wins
		{"POST", "/files/7", "", ""},
		{"GET", "/folders/7", "", ""},
	} {
		rt, params := r.Find(tc.method, tc.path)
		got := ""
		if rt != nil {
			got = rt.Path
		}
		if got != tc.want || params["id"] != tc.id {
			t.Errorf("Find(%s %s) = %q %v, want %q id %q", tc.method, tc.path, got, params, tc.want, tc.id)
		}
	}
	if rt, _ := New(doc, func(p string) bool { return p == "/files/me" }, nil).Find("GET", "/files/me"); rt == nil || rt.Path != "/files/{id}" {
		t.Errorf("a skipped path is still matched: %+v", rt)
	}
}
