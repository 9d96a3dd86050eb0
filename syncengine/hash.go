package syncengine

import "math/bits"

// The hashes of detection and planning (fingerprints, ID and path hashes,
// the keys of occupied paths) are 64-bit, deterministic across processes
// and builds of the same format (a saved baseline index holds them; see
// hashProbe), and read a string eight bytes at a time. They hash strings
// and bytes alike, so that a listed entry and a baseline row give the
// same value for the same item.

// Constants of the mixing function (wyhash's).
const (
	hk0 = 0xa0761d6478bd642f
	hk1 = 0xe7037ed1a0b428db
	hk2 = 0x8ebc6af09c88c6e3
	hk3 = 0x589965cc75374cc3
)

// Seeds that keep the kinds of hash apart.
const (
	seedFP   = 0x243f6a8885a308d3
	seedID   = 0x13198a2e03707344
	seedPath = 0xa4093822299f31d0
)

// mum folds the 128-bit product of a and b into 64 bits.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// le64 reads the first eight bytes of s, little-endian.
func le64[T string | []byte](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// strHash extends hash h with s, its length included, so that a sequence
// of strings hashed one after the other is told apart from any other
// sequence ("ab","c" from "a","bc").
func strHash[T string | []byte](h uint64, s T) uint64 {
	n := uint64(len(s))
	for len(s) > 8 {
		h = mum(le64(s)^hk1, h^hk0)
		s = s[8:]
	}
	var w uint64
	if len(s) == 8 {
		w = le64(s)
	} else {
		for i := len(s) - 1; i >= 0; i-- {
			w = w<<8 | uint64(s[i])
		}
	}
	return mum(w^hk2, h^n^hk3)
}

// intHash extends hash h with v.
func intHash(h, v uint64) uint64 { return mum(v^hk2, h^hk0) }

// keyStep extends the hash of a path, h, with the path elements of rel
// (a path relative to it): hashing "a/b" in one step or "a" then "b"
// gives the same value, so that a listed item's path hash follows from
// its folder's.
func keyStep[T string | []byte](h uint64, rel T) uint64 {
	for {
		i := 0
		for i < len(rel) && rel[i] != '/' {
			i++
		}
		h = strHash(h, rel[:i])
		if i == len(rel) {
			return h
		}
		rel = rel[i+1:]
	}
}

// keyHash hashes path p element by element (see keyStep).
func keyHash[T string | []byte](p T) uint64 { return keyStep(seedPath, p) }
