package sqlitestore

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"slices"

	"github.com/procoresync/procoresync/storage"
)

// Hashes are stored as a compact binary record list (NULL when there are
// none). Each record is a tag byte, then for tag code 0 the kind's name
// (uvarint length and bytes), then the value (uvarint length and bytes).
// The tag's low 7 bits name a known kind; for known kinds the value is the
// decoded binary digest (hex or base64 as the kind's canonical encoding),
// unless the tag's high bit is set, in which case the value is the string as
// given (it was not in canonical form and must round-trip unchanged).

// hashCodes numbers the known kinds; hashKinds is its inverse.
var (
	hashCodes = map[storage.HashKind]byte{storage.HashMD5: 1, storage.HashSHA1: 2,
		storage.HashSHA256: 3, storage.HashQuickXor: 4, storage.HashDropbox: 5}
	hashKinds = [...]storage.HashKind{1: storage.HashMD5, 2: storage.HashSHA1,
		3: storage.HashSHA256, 4: storage.HashQuickXor, 5: storage.HashDropbox}
)

const rawFlag = 0x80

// isBase64 reports whether kind code c is base64-encoded (else hex).
func isBase64(c byte) bool { return hashKinds[c] == storage.HashQuickXor }

// encodeHashes returns the compact form of h, nil when h is empty.
func encodeHashes(h storage.Hashes) []byte {
	if len(h) == 0 {
		return nil
	}
	var kbuf [8]storage.HashKind
	kinds := kbuf[:0]
	for k := range h {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var out []byte
	var scratch [96]byte
	for _, k := range kinds {
		v := h[k]
		c := hashCodes[k]
		if c == 0 {
			out = append(out, 0)
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
			continue
		}
		bin, ok := compact(c, v, scratch[:0])
		if !ok {
			out = append(out, c|rawFlag)
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
			continue
		}
		out = append(out, c)
		out = binary.AppendUvarint(out, uint64(len(bin)))
		out = append(out, bin...)
	}
	return out
}

// compact decodes v of kind code c into buf, and reports whether encoding it
// again gives back v exactly.
func compact(c byte, v string, buf []byte) ([]byte, bool) {
	var err error
	var bin []byte
	if isBase64(c) {
		bin, err = base64.StdEncoding.AppendDecode(buf, []byte(v))
	} else {
		bin, err = hex.AppendDecode(buf, []byte(v))
	}
	if err != nil {
		return nil, false
	}
	var back [192]byte
	if string(expand(c, bin, back[:0])) != v {
		return nil, false
	}
	return bin, true
}

// expand encodes binary digest bin of kind code c into buf.
func expand(c byte, bin, buf []byte) []byte {
	if isBase64(c) {
		return base64.StdEncoding.AppendEncode(buf, bin)
	}
	return hex.AppendEncode(buf, bin)
}

// field splits a uvarint-length-prefixed field off b.
func field(b []byte) (val, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}
