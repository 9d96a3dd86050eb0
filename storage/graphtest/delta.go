package graphtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"

	"github.com/procoresync/procoresync/storage/msgraph"
)

// deltaToken is the state a delta link carries: report items changed after
// sequence from, in ordinal order after ordinal after; the enumeration's
// snapshot is snap (0: take it now).
type deltaToken struct {
	from, snap, after int64
}

// String encodes the token opaquely.
func (t deltaToken) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("d1.%d.%d.%d", t.from, t.snap, t.after)))
}

func parseDeltaToken(s string) (deltaToken, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return deltaToken{}, false
	}
	var t deltaToken
	if _, err := fmt.Sscanf(string(raw), "d1.%d.%d.%d", &t.from, &t.snap, &t.after); err != nil {
		return deltaToken{}, false
	}
	return t, true
}

func (s *Server) deltaLink(d *drive, t deltaToken) string {
	return s.API.URL + "/v1.0/drives/" + d.id + "/root/delta?token=" + t.String()
}

func (s *Server) handleDelta(w *recorder, r *http.Request, d *drive, tok string) *apiError {
	var t deltaToken
	switch tok {
	case "":
		t = deltaToken{snap: d.seq}
	case "latest":
		return writeJSON(w, 200, map[string]any{"value": []msgraph.DriveItem{}, "@odata.deltaLink": s.deltaLink(d, deltaToken{from: d.seq})})
	default:
		var ok bool
		t, ok = parseDeltaToken(tok)
		if !ok {
			return errf(400, "invalidRequest", "Invalid delta token.")
		}
		if t.from < d.minSeq || t.from > d.seq {
			e := errf(410, "resyncChangesApplyDifferences", "Resync required: the delta token is no longer valid.").withInner("resyncRequired")
			e.header = map[string]string{"Location": s.API.URL + "/v1.0/drives/" + d.id + "/root/delta"}
			return e
		}
		if t.snap == 0 {
			t.snap = d.seq
		}
	}
	var cands []*item
	for _, it := range d.items {
		if it.ordinal <= t.after || it.changeSeq <= t.from {
			continue
		}
		if it.deleted && t.from == 0 {
			continue
		}
		cands = append(cands, it)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ordinal < cands[j].ordinal })
	top := s.pageSize(r)
	out := map[string]any{}
	page := cands[:min(top, len(cands))]
	vals := make([]msgraph.DriveItem, 0, len(page))
	for _, it := range page {
		vals = append(vals, s.renderItem(d, it, true))
	}
	out["value"] = vals
	if len(cands) > len(page) {
		next := deltaToken{from: t.from, snap: t.snap, after: page[len(page)-1].ordinal}
		link := s.deltaLink(d, next)
		if r.URL.Query().Get("$top") != "" {
			link += fmt.Sprintf("&$top=%d", top)
		}
		out["@odata.nextLink"] = link
	} else {
		out["@odata.deltaLink"] = s.deltaLink(d, deltaToken{from: t.snap})
	}
	return writeJSON(w, 200, out)
}

// ExpireDeltaTokens makes every delta link issued so far for drive driveID
// answer 410 Gone (resync), as the service does when it can no longer
// track changes from them.
func (s *Server) ExpireDeltaTokens(driveID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.drives[driveID]; d != nil {
		d.minSeq = d.seq + 1
		d.seq++
	}
}
