// Package quickxorhash implements Microsoft's QuickXorHash, the content hash
// that OneDrive and SharePoint report for every file (driveItem
// file.hashes.quickXorHash, base64 of the 20-byte digest).
//
// The algorithm: a 160-bit accumulator; input byte i is XORed in at bit
// offset (i*11) mod 160, wrapping around the 160-bit width; the digest is
// the accumulator in little-endian byte order with the 64-bit little-endian
// input length XORed into its last 8 bytes.
package quickxorhash

import (
	"crypto/subtle"
	"encoding/base64"
	"hash"
)

const (
	// Size is the size of a QuickXorHash digest in bytes.
	Size = 20
	// BlockSize is the block size the hash reports; any write size works.
	BlockSize = 64

	shift       = 11
	widthInBits = 8 * Size
	// dataSize is the length of the input cycle after which every byte
	// lands at the same bit offset again: 1760 bytes * 11 bits = 121 * 160.
	dataSize = shift * widthInBits
)

// digest accumulates input bytes by their position modulo dataSize; the
// bit shifting happens once, in Sum.
type digest struct {
	data [dataSize]byte
	size uint64
}

// New returns a new QuickXorHash hash.Hash.
func New() hash.Hash { return &digest{} }

// Sum returns the QuickXorHash digest of b.
func Sum(b []byte) [Size]byte {
	var d digest
	_, _ = d.Write(b)
	return d.checkSum()
}

// Base64 returns the QuickXorHash of b encoded as Microsoft Graph reports it.
func Base64(b []byte) string {
	s := Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// Write adds p to the hash. It never fails.
func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	pos := int(d.size % dataSize)
	for len(p) > 0 {
		k := subtle.XORBytes(d.data[pos:], d.data[pos:], p)
		p = p[k:]
		pos = 0
	}
	d.size += uint64(n)
	return n, nil
}

func (d *digest) checkSum() [Size]byte {
	var h [Size + 1]byte
	for i := range dataSize {
		s := (i * shift) % widthInBits
		shifted := uint16(d.data[i]) << (s % 8)
		h[s/8] ^= byte(shifted)
		h[s/8+1] ^= byte(shifted >> 8)
	}
	// Bits shifted past the 160th wrap around to the start.
	h[0] ^= h[Size]
	for i := range 8 {
		h[Size-8+i] ^= byte(d.size >> (8 * i))
	}
	var out [Size]byte
	copy(out[:], h[:Size])
	return out
}

// Sum appends the current digest to b without changing the hash state.
func (d *digest) Sum(b []byte) []byte {
	s := d.checkSum()
	return append(b, s[:]...)
}

// Reset clears the hash.
func (d *digest) Reset() { *d = digest{} }

// Size returns Size.
func (d *digest) Size() int { return Size }

// BlockSize returns BlockSize.
func (d *digest) BlockSize() int { return BlockSize }
