package box

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Item is a Box file, folder or web link as the API returns it (the
// fields this package asks for).
type Item struct {
	Type       string     `json:"type"`
	ID         string     `json:"id"`
	ETag       string     `json:"etag"`
	SequenceID string     `json:"sequence_id"`
	Name       string     `json:"name"`
	SHA1       string     `json:"sha1"`
	Size       Size       `json:"size"`
	ItemStatus string     `json:"item_status"`
	Parent     *Item      `json:"parent"`
	Paths      *PathColl  `json:"path_collection"`
	CreatedAt  *time.Time `json:"created_at"`
	ModifiedAt *time.Time `json:"modified_at"`
	// ContentModifiedAt is the client's modification time (set on
	// upload), Box's ModTime.
	ContentModifiedAt *time.Time `json:"content_modified_at"`
	CreatedBy         *User      `json:"created_by"`
	ModifiedBy        *User      `json:"modified_by"`
}

// UnmarshalJSON accepts null etag and sequence_id (the root folder) and a
// sequence_id sent as a number.
func (it *Item) UnmarshalJSON(b []byte) error {
	type plain Item
	var aux struct {
		*plain
		ETag       json.RawMessage `json:"etag"`
		SequenceID json.RawMessage `json:"sequence_id"`
	}
	aux.plain = (*plain)(it)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	it.ETag, it.SequenceID = looseString(aux.ETag), looseString(aux.SequenceID)
	return nil
}

// looseString reads a JSON string or number as a string (null: "").
func looseString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// PathColl is an item's path_collection: its ancestors from the root.
type PathColl struct {
	TotalCount int    `json:"total_count"`
	Entries    []Item `json:"entries"`
}

// User is a user mini representation.
type User struct {
	Type          string `json:"type"`
	ID            string `json:"id"`
	Name          string `json:"name"`
	Login         string `json:"login"`
	MaxUploadSize Size   `json:"max_upload_size"`
}

// Size is a byte count that Box may send as a float in exponent form
// (1.2E+10).
type Size int64

// UnmarshalJSON reads an integer or a float.
func (s *Size) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = 0
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*s = Size(n)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > math.MaxInt64 {
		return &json.UnsupportedValueError{Str: string(b)}
	}
	*s = Size(f)
	return nil
}

// itemFields are the fields asked for every item.
const itemFields = "type,id,etag,sequence_id,name,sha1,size,item_status,parent,path_collection,created_at,modified_at,content_modified_at,created_by,modified_by"

// listFields are the fields asked in folder listings (no path_collection:
// the walk knows the path).
const listFields = "type,id,etag,sequence_id,name,sha1,size,item_status,created_at,modified_at,content_modified_at,created_by,modified_by"

// Items is a page of folder items.
type Items struct {
	Entries    []Item `json:"entries"`
	NextMarker string `json:"next_marker"`
}

// UploadSession is a chunked upload session.
type UploadSession struct {
	ID               string    `json:"id"`
	PartSize         int64     `json:"part_size"`
	TotalParts       int       `json:"total_parts"`
	SessionExpiresAt time.Time `json:"session_expires_at"`
	Endpoints        struct {
		UploadPart string `json:"upload_part"`
		Commit     string `json:"commit"`
		Abort      string `json:"abort"`
		ListParts  string `json:"list_parts"`
		Status     string `json:"status"`
	} `json:"session_endpoints"`
}

// UploadPart is one uploaded part of a session.
type UploadPart struct {
	PartID string `json:"part_id"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	SHA1   string `json:"sha1"`
}

// Event is one entry of the events stream.
type Event struct {
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	CreatedAt time.Time       `json:"created_at"`
	Source    json.RawMessage `json:"source"`
}

// Events is a page of the events stream; NextStreamPosition is sent as a
// string or an integer and read as a string.
type Events struct {
	ChunkSize          int     `json:"chunk_size"`
	NextStreamPosition string  `json:"-"`
	Entries            []Event `json:"entries"`
}

// UnmarshalJSON reads next_stream_position as a string or a number.
func (e *Events) UnmarshalJSON(b []byte) error {
	type plain Events
	var aux struct {
		*plain
		Pos json.RawMessage `json:"next_stream_position"`
	}
	aux.plain = (*plain)(e)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	e.NextStreamPosition = looseString(aux.Pos)
	return nil
}

// RealtimeServer is a long-poll server of OPTIONS /events.
type RealtimeServer struct {
	URL          string          `json:"url"`
	TTL          json.RawMessage `json:"ttl"`
	MaxRetries   json.RawMessage `json:"max_retries"`
	RetryTimeout json.RawMessage `json:"retry_timeout"`
}

// Webhook is a webhook v2.
type Webhook struct {
	ID     string `json:"id"`
	Target struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"target"`
	Address  string   `json:"address"`
	Triggers []string `json:"triggers"`
}
