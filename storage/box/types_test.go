package box_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/box"
)

// Box's JSON quirks: size as a float in exponent form, sequence_id and
// etag null (the root) or a number, next_stream_position a string or an
// integer.
func TestLenientDecoding(t *testing.T) {
	var it box.Item
	require.NoError(t, json.Unmarshal([]byte(`{"type":"file","id":"1","size":1.2E+10,"sequence_id":3,"etag":null}`), &it))
	require.Equal(t, box.Size(12_000_000_000), it.Size)
	require.Equal(t, "3", it.SequenceID)
	require.Empty(t, it.ETag)
	require.NoError(t, json.Unmarshal([]byte(`{"type":"folder","id":"0","sequence_id":null,"etag":"7","size":0}`), &it))
	require.Equal(t, "", it.SequenceID)
	require.Equal(t, "7", it.ETag)
	require.Error(t, json.Unmarshal([]byte(`{"size":-1e3}`), &it), "a negative size is refused")

	for _, raw := range []string{`{"next_stream_position":"1152922976252290886","chunk_size":0,"entries":[]}`,
		`{"next_stream_position":1152922976252290886,"chunk_size":0,"entries":[]}`} {
		var ev box.Events
		require.NoError(t, json.Unmarshal([]byte(raw), &ev))
		require.Equal(t, "1152922976252290886", ev.NextStreamPosition)
	}
}
