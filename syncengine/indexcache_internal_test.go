package syncengine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// onlyReader hides the io.Seeker of a reader.
type onlyReader struct{ io.Reader }

func testRecs(n int) []compactRec {
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]compactRec, n)
	key := int64(-5)
	for i := range recs {
		key += 1 + r.Int64N(3)
		recs[i] = compactRec{key: key, fp: [2]uint64{r.Uint64(), r.Uint64()},
			id: [2]uint64{r.Uint64(), 0}, path: [2]uint64{r.Uint64(), r.Uint64()}}
	}
	return recs
}

func TestSavedIndexRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1023, 1024, 1025, 5000} {
		recs := testRecs(n)
		var buf bytes.Buffer
		require.NoError(t, writeIndex(&buf, recs))
		require.Equal(t, indexHeader+n*indexRecord+4, buf.Len())
		for _, seek := range []bool{true, false} {
			var r io.Reader = bytes.NewReader(buf.Bytes())
			if !seek {
				r = onlyReader{r}
			}
			got, err := readIndex(r)
			require.NoError(t, err, "%d records, seeker %v", n, seek)
			if n == 0 {
				require.Empty(t, got)
			} else {
				require.Equal(t, recs, got)
			}
		}
	}
}

// Whatever is wrong with a saved index, readIndex says so (errIndexMismatch)
// instead of returning other records: every single damaged byte, every
// length it can be cut to, other formats and hash functions, and a header
// announcing more records than the data holds, which must not make it
// allocate for them.
func TestSavedIndexDamaged(t *testing.T) {
	recs := testRecs(300)
	var buf bytes.Buffer
	require.NoError(t, writeIndex(&buf, recs))
	good := buf.Bytes()
	mismatch := func(b []byte, seek bool, what string) {
		t.Helper()
		var r io.Reader = bytes.NewReader(b)
		if !seek {
			r = onlyReader{r}
		}
		got, err := readIndex(r)
		require.ErrorIs(t, err, errIndexMismatch, what)
		require.Nil(t, got, what)
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		mismatch(b, i%2 == 0, "a damaged byte")
	}
	for n := 0; n < len(good); n += 7 {
		mismatch(good[:n], n%2 == 0, "cut short")
	}
	mismatch(append(bytes.Clone(good), 0), true, "a byte too many")
	mismatch(append(bytes.Clone(good), 0), false, "a byte too many")

	b := bytes.Clone(good)
	binary.LittleEndian.PutUint32(b[4:8], indexFormat+1)
	mismatch(b, true, "another format")
	b = bytes.Clone(good)
	binary.LittleEndian.PutUint64(b[16:24], hashProbe()+1)
	mismatch(b, true, "other hash functions")

	// A header announcing 2^31-1 records with the checksum fixed up: the
	// reader without a length grows the slice as records arrive and stops
	// at the end of the data.
	b = bytes.Clone(good)
	binary.LittleEndian.PutUint64(b[8:16], 1<<31-1)
	mismatch(b, true, "a count the length contradicts")
	mismatch(b, false, "a count the data does not hold")
	binary.LittleEndian.PutUint64(b[8:16], 1<<40)
	mismatch(b, false, "an impossible count")

	// Keys must rise: an index whose records were reordered, checksum
	// and all, is refused.
	swapped := slices.Clone(recs)
	swapped[5], swapped[6] = swapped[6], swapped[5]
	buf.Reset()
	require.NoError(t, writeIndex(&buf, swapped))
	mismatch(buf.Bytes(), true, "keys out of order")
}

// A reader that fails is reported as its error, not as a mismatch.
func TestSavedIndexReadError(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeIndex(&buf, testRecs(3000)))
	boom := errors.New("disk gone")
	_, err := readIndex(io.MultiReader(bytes.NewReader(buf.Bytes()[:100_000]), iotestErr{boom}))
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, errIndexMismatch)
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }
