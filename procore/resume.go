package procore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/procoresync/procoresync/storage"
)

var _ storage.ResumableUploader = (*DocumentsStorage)(nil)

// SetChunkSize makes Put upload every file larger than chunk bytes (read
// from an io.ReaderAt) in segments of chunk bytes. It reports false when
// chunk is below MinSegmentSize, Procore's smallest segment.
func (d *DocumentsStorage) SetChunkSize(chunk int64) bool {
	if chunk < MinSegmentSize {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opts.ChunkThreshold, d.opts.SegmentSize = chunk+1, chunk
	return true
}

// uploadToken is the state of a segmented upload, persisted through
// storage.UploadState.Token. It holds no presigned URL: those are asked
// for again (GET …/uploads/{uuid}) when resuming.
type uploadToken struct {
	UUID       string          `json:"uuid"`
	Scope      Scope           `json:"scope"`
	ParentPath string          `json:"parent_path"`
	FileID     int64           `json:"file_id,omitempty"` // a new version of this file (ExpectedVersion)
	NoOverwrt  bool            `json:"no_overwrite,omitempty"`
	Segments   []UploadSegment `json:"segments"` // size, sha256, md5 and, once sent, etag
}

func (t *uploadToken) offset() int64 {
	var off int64
	for _, sg := range t.Segments {
		if sg.ETag == "" {
			break
		}
		off += sg.Size
	}
	return off
}

// MaxSegments is the most segments one upload is split into; a larger
// file gets larger segments.
const MaxSegments = 10_000

// segmentSize is the segment size for a file of size bytes.
func (d *DocumentsStorage) segmentSize(size int64) int64 {
	d.mu.Lock()
	seg := d.opts.SegmentSize
	d.mu.Unlock()
	return max(seg, (size+MaxSegments-1)/MaxSegments, MinSegmentSize)
}

// checkReaderAtSize fails unless r holds exactly size bytes.
func checkReaderAtSize(r io.ReaderAt, size int64) error {
	var b [1]byte
	if size > 0 {
		if n, err := r.ReadAt(b[:], size-1); n != 1 {
			return fmt.Errorf("%w: the reader has fewer than %d bytes (%v)", ErrShortBody, size, err)
		}
	}
	if n, _ := r.ReadAt(b[:], size); n != 0 {
		return fmt.Errorf("%w: the reader has more than %d bytes", ErrShortBody, size)
	}
	return nil
}

// putSpooled uploads a large file that arrives as a stream: Procore's
// segmented upload (POST …/uploads) needs every segment's SHA-256 before
// the first part is sent, so the stream is copied once to a temporary
// file in SpoolDir, hashed segment by segment on the way, and the segments
// are sent from that file. Memory stays at a copy buffer; disk use is the
// file's size, until Put returns. A reader that yields fewer or more than
// size bytes, or fails, fails Put before anything is uploaded.
func (d *DocumentsStorage) putSpooled(ctx context.Context, parent storage.Entry, parentID int64, name string, r io.Reader, size int64, opt storage.PutOptions, existing *File) (storage.Entry, error) {
	p := joinPath(parent.Path, name)
	d.mu.Lock()
	dir := d.opts.SpoolDir
	d.mu.Unlock()
	f, err := os.CreateTemp(dir, "procoresync-upload-*")
	if err != nil {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("spooling the upload: %w", err))
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	hs := newSegmentHasher(f, d.segmentSize(size))
	if _, err := io.CopyN(hs, ctxReader{ctx, r}, size); err != nil {
		if ctx.Err() != nil {
			return storage.Entry{}, ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: the reader ended before %d bytes", ErrShortBody, size)
		}
		return storage.Entry{}, storage.NewError("put", p, nil, err)
	}
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("%w: the reader has more than %d bytes", ErrShortBody, size))
	} else if err != nil && !errors.Is(err, io.EOF) {
		return storage.Entry{}, storage.NewError("put", p, nil, err)
	}
	segs := hs.finish()
	return d.putSegmented(ctx, parent, parentID, name, f, size, opt, existing, segs)
}

// spool copies all of r to a new temporary file in SpoolDir and returns
// it with its size. The caller closes and removes it.
func (d *DocumentsStorage) spool(ctx context.Context, r io.Reader) (*os.File, int64, error) {
	d.mu.Lock()
	dir := d.opts.SpoolDir
	d.mu.Unlock()
	f, err := os.CreateTemp(dir, "procoresync-upload-*")
	if err != nil {
		return nil, 0, fmt.Errorf("spooling the upload: %w", err)
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, n, nil
}

// ctxReader stops reading when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// segmentHasher writes through to w and computes each segment's SHA-256
// and MD5 (lower-case hex) as the bytes pass.
type segmentHasher struct {
	w      io.Writer
	seg, n int64 // segment size, bytes in the current segment
	sh, mh hash.Hash
	segs   []UploadSegment
}

func newSegmentHasher(w io.Writer, seg int64) *segmentHasher {
	return &segmentHasher{w: w, seg: seg, sh: sha256.New(), mh: md5.New()}
}

func (h *segmentHasher) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		k := min(int64(len(p)), h.seg-h.n)
		n, err := h.w.Write(p[:k])
		h.sh.Write(p[:n])
		h.mh.Write(p[:n])
		h.n += int64(n)
		total += n
		if err != nil {
			return total, err
		}
		if h.n == h.seg {
			h.cut()
		}
		p = p[k:]
	}
	return total, nil
}

func (h *segmentHasher) cut() {
	h.segs = append(h.segs, UploadSegment{Size: h.n, SHA256: hex.EncodeToString(h.sh.Sum(nil)), MD5: hex.EncodeToString(h.mh.Sum(nil))})
	h.sh.Reset()
	h.mh.Reset()
	h.n = 0
}

// finish closes the last (short) segment and returns them all.
func (h *segmentHasher) finish() []UploadSegment {
	if h.n > 0 {
		h.cut()
	}
	return h.segs
}

// putSegmented uploads a large file in segments, reporting state after
// each confirmed segment.
func (d *DocumentsStorage) putSegmented(ctx context.Context, parent storage.Entry, parentID int64, name string, r io.ReaderAt, size int64, opt storage.PutOptions, existing *File, segs []UploadSegment) (storage.Entry, error) {
	p := joinPath(parent.Path, name)
	if segs == nil {
		var err error
		if segs, err = HashSegments(r, size, d.segmentSize(size)); err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
	}
	up, _, err := d.c.Uploads.Create(ctx, d.sc, UploadCreate{ResponseFilename: name, Size: size, Segments: segs})
	if err != nil {
		return storage.Entry{}, mapErr("put", p, err)
	}
	tok := &uploadToken{UUID: up.UUID, Scope: d.sc, ParentPath: parent.Path, NoOverwrt: opt.NoOverwrite, Segments: segs}
	if existing != nil {
		tok.FileID = existing.ID
	}
	st := storage.UploadState{ParentID: parent.ID, Name: name, Size: size, Expires: d.c.opts.Now().Add(7 * 24 * time.Hour)}
	offsets := make([]int64, len(segs))
	for i := 1; i < len(segs); i++ {
		offsets[i] = offsets[i-1] + segs[i-1].Size
	}
	body := func(i int) (func() io.Reader, error) {
		return func() io.Reader { return io.NewSectionReader(r, offsets[i], segs[i].Size) }, nil
	}
	return d.sendSegments(ctx, parentID, name, up, tok, st, body, opt, existing)
}

// sendSegments sends the segments without an ETag, then completes the
// upload and associates it.
func (d *DocumentsStorage) sendSegments(ctx context.Context, parentID int64, name string, up *Upload, tok *uploadToken,
	st storage.UploadState, body func(i int) (func() io.Reader, error), opt storage.PutOptions, existing *File) (storage.Entry, error) {
	p := joinPath(tok.ParentPath, name)
	if len(up.Segments) != len(tok.Segments) {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("%w: upload has %d segments, want %d", ErrMalformedResponse, len(up.Segments), len(tok.Segments)))
	}
	for i := range tok.Segments {
		if tok.Segments[i].ETag != "" {
			continue
		}
		b, err := body(i)
		if err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
		sg := up.Segments[i]
		sg.Size = tok.Segments[i].Size
		etag, err := d.c.Uploads.PutSegment(ctx, sg, b)
		if err != nil {
			return storage.Entry{}, mapErr("put", p, err)
		}
		tok.Segments[i].ETag = etag
		if opt.OnUploadState != nil {
			raw, err := json.Marshal(tok)
			if err != nil {
				return storage.Entry{}, err
			}
			st.Offset, st.Token = tok.offset(), string(raw)
			if err := opt.OnUploadState(st); err != nil {
				return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("upload stopped at byte %d: %w", st.Offset, err))
			}
		}
	}
	if err := d.c.Uploads.complete(ctx, d.sc, tok.UUID, tok.Segments); err != nil {
		return storage.Entry{}, mapErr("put", p, err)
	}
	return d.associate(ctx, tok.ParentPath, parentID, name, tok.UUID, tok.NoOverwrt, existing)
}

// ResumeUpload continues a segmented upload after a restart: it asks
// Procore for fresh segment URLs, sends the segments after st.Offset
// (read from r, which starts at st.Offset; each segment is checked
// against the SHA-256 declared when the upload began), completes the
// upload and creates the file or version. An unknown or expired upload
// gives ErrNotFound.
func (d *DocumentsStorage) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	var tok uploadToken
	if err := json.Unmarshal([]byte(st.Token), &tok); err != nil || tok.UUID == "" || tok.Scope != d.sc {
		return storage.Entry{}, storage.NewError("put", st.Name, storage.ErrNotFound, errors.New("unknown upload session"))
	}
	p := joinPath(tok.ParentPath, st.Name)
	if tok.offset() != st.Offset {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotFound, fmt.Errorf("upload state offset %d does not match its segments", st.Offset))
	}
	parentID, err := parseID("put", storage.Entry{ID: st.ParentID, Path: tok.ParentPath})
	if err != nil {
		return storage.Entry{}, err
	}
	up, _, err := d.c.Uploads.Get(ctx, d.sc, tok.UUID)
	if err != nil {
		return storage.Entry{}, mapErr("put", p, err)
	}
	var existing *File
	if tok.FileID != 0 {
		if existing, _, err = d.c.Files.Get(ctx, d.sc, tok.FileID); err != nil {
			return storage.Entry{}, mapErr("put", p, err)
		}
	}
	body := func(i int) (func() io.Reader, error) {
		want := tok.Segments[i]
		buf := make([]byte, want.Size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("reading segment %d: %w", i+1, err)
		}
		sum := sha256.Sum256(buf)
		if hex.EncodeToString(sum[:]) != want.SHA256 {
			return nil, fmt.Errorf("segment %d differs from the one declared when the upload began", i+1)
		}
		if i == len(tok.Segments)-1 {
			// The source must end with the last segment, cleanly: more
			// bytes, or a failure after them, means it changed, and
			// nothing may be committed.
			var one [1]byte
			n, err := io.ReadFull(r, one[:])
			if n > 0 {
				return nil, fmt.Errorf("the source has more bytes than the %d declared", st.Size)
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("reading past the last segment: %w", err)
			}
		}
		return func() io.Reader { return bytes.NewReader(buf) }, nil
	}
	return d.sendSegments(ctx, parentID, st.Name, up, &tok, st, body, opt, existing)
}
