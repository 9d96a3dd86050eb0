package quickxorhash_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/procoresync/procoresync/storage/internal/graphspec"
	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
	"github.com/stretchr/testify/require"
)

type vector struct {
	InputB64  *string `json:"input_b64"`
	InputUTF8 *string `json:"input_utf8"`
	Want      string  `json:"quickXorHash"`
}

func TestSharedVectors(t *testing.T) {
	raw, err := os.ReadFile(graphspec.File(t, "quickxorhash-test-vectors.json"))
	require.NoError(t, err)
	var doc struct {
		Vectors []vector `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc.Vectors)
	for i, v := range doc.Vectors {
		var in []byte
		switch {
		case v.InputB64 != nil:
			in, err = base64.StdEncoding.DecodeString(*v.InputB64)
			require.NoError(t, err)
		case v.InputUTF8 != nil:
			in = []byte(*v.InputUTF8)
		default:
			t.Fatalf("vector %d has no input", i)
		}
		require.Equal(t, v.Want, quickxorhash.Base64(in), "vector %d (%d bytes)", i, len(in))
		// Byte-at-a-time writes give the same digest.
		h := quickxorhash.New()
		for _, b := range in {
			_, _ = h.Write([]byte{b})
		}
		require.Equal(t, v.Want, base64.StdEncoding.EncodeToString(h.Sum(nil)), "vector %d bytewise", i)
	}
}

// pattern returns n deterministic bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// reference is a direct, bit-by-bit transcription of the published
// algorithm: XOR byte i in at bit (i*11) mod 160, then the length.
func reference(in []byte) [quickxorhash.Size]byte {
	var bits [160]byte
	for i, c := range in {
		off := (i * 11) % 160
		for b := range 8 {
			if c&(1<<b) != 0 {
				bits[(off+b)%160] ^= 1
			}
		}
	}
	var out [quickxorhash.Size]byte
	for i, v := range bits {
		if v != 0 {
			out[i/8] |= 1 << (i % 8)
		}
	}
	n := uint64(len(in))
	for i := range 8 {
		out[12+i] ^= byte(n >> (8 * i))
	}
	return out
}

func TestOwnVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{"hello world", []byte("hello world"), "aCgDG9jwBhDc4Q1yawMZAAAAAAA="},
		{"one byte 0xff", []byte{0xff}, "/wAAAAAAAAAAAAAAAQAAAAAAAAA="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, quickxorhash.Base64(tc.in))
		})
	}
}

func TestAgainstReference(t *testing.T) {
	// Sizes around the 20-byte width, the 1760-byte cycle and beyond.
	for _, n := range []int{0, 1, 19, 20, 21, 159, 160, 161, 1759, 1760, 1761, 3520, 5000, 100003} {
		in := pattern(n)
		require.Equal(t, reference(in), quickxorhash.Sum(in), "size %d", n)
	}
}

func TestChunkedWrites(t *testing.T) {
	in := pattern(20000)
	want := quickxorhash.Sum(in)
	for _, chunk := range []int{1, 7, 64, 1759, 1760, 1761, 4096, 20000} {
		h := quickxorhash.New()
		for r := bytes.NewReader(in); r.Len() > 0; {
			b := make([]byte, min(chunk, r.Len()))
			_, _ = r.Read(b)
			n, err := h.Write(b)
			require.NoError(t, err)
			require.Equal(t, len(b), n)
		}
		require.Equal(t, want[:], h.Sum(nil), "chunk %d", chunk)
		// Sum does not change the state; Reset does.
		require.Equal(t, want[:], h.Sum(nil))
		h.Reset()
		empty := quickxorhash.Sum(nil)
		require.Equal(t, empty[:], h.Sum(nil))
		require.Equal(t, quickxorhash.Size, h.Size())
		require.Equal(t, quickxorhash.BlockSize, h.BlockSize())
	}
}

func BenchmarkWrite(b *testing.B) {
	buf := pattern(1 << 20)
	h := quickxorhash.New()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		_, _ = h.Write(buf)
	}
}
