package dropbox

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// BlockSize is the block size of the Dropbox content hash (4 MiB).
const BlockSize = 4 << 20

// contentHash is the Dropbox content hash: the SHA-256 of the
// concatenated SHA-256 digests of the content's 4 MiB blocks
// (www.dropbox.com/developers/reference/content-hash).
type contentHash struct {
	overall hash.Hash
	block   hash.Hash
	n       int // bytes in the current block
}

// NewContentHash returns a hash.Hash computing the Dropbox content_hash.
// Sum appends the 32-byte digest; hex-encode it for FileMetadata's form.
func NewContentHash() hash.Hash {
	return &contentHash{overall: sha256.New(), block: sha256.New()}
}

func (h *contentHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), BlockSize-h.n)
		h.block.Write(p[:k])
		h.n += k
		p = p[k:]
		if h.n == BlockSize {
			h.overall.Write(h.block.Sum(nil))
			h.block.Reset()
			h.n = 0
		}
	}
	return n, nil
}

func (h *contentHash) Sum(b []byte) []byte {
	o := sha256.New()
	// Copy the state: Sum must not change it.
	if m, ok := h.overall.(interface{ MarshalBinary() ([]byte, error) }); ok {
		st, _ := m.MarshalBinary()
		_ = o.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(st)
	}
	if h.n > 0 {
		o.Write(h.block.Sum(nil))
	}
	return o.Sum(b)
}

func (h *contentHash) Reset() {
	h.overall.Reset()
	h.block.Reset()
	h.n = 0
}

func (h *contentHash) Size() int      { return sha256.Size }
func (h *contentHash) BlockSize() int { return sha256.BlockSize }

// ContentHash returns the hex content_hash of data.
func ContentHash(data []byte) string {
	h := NewContentHash()
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
