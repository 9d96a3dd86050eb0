package box

import (
	"context"
	"crypto/sha1"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// errTorn is a source that did not yield exactly the declared bytes.
var errTorn = errors.New("box: the source did not yield exactly the declared number of bytes")

// expectEnd checks that r is at its end: no further byte and no error
// other than io.EOF.
func expectEnd(r io.Reader) error {
	var one [1]byte
	for range 100 {
		n, err := r.Read(one[:])
		switch {
		case n > 0:
			return fmt.Errorf("%w: it yielded more", errTorn)
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("%w: it failed after the declared bytes: %v", errTorn, err)
		}
	}
	return fmt.Errorf("%w: it would not end", errTorn)
}

// readExactly reads exactly size bytes of r and checks that r ends there.
func readExactly(r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%w: %v", errTorn, err)
	}
	if err := expectEnd(r); err != nil {
		return nil, err
	}
	return buf, nil
}

// existing returns the item of that name in folder pid through the upload
// preflight (OPTIONS /files/content), whose 409 names it.
func (s *Storage) existing(ctx context.Context, pid, name string, size int64) (Item, bool, error) {
	err := s.c.Preflight(ctx, pid, name, size)
	if err == nil {
		return Item{}, false, nil
	}
	var be *Error
	if errors.As(err, &be) && errors.Is(err, storage.ErrAlreadyExists) && len(be.Conflicts) > 0 {
		return be.Conflicts[0], true, nil
	}
	return Item{}, false, err
}

// target is the file a Put writes: fileID "" for a new file.
type target struct{ fileID, name, ifMatch string }

// versionTarget finds the file that an ExpectedVersion Put replaces.
func (s *Storage) versionTarget(ctx context.Context, pid, name string, size int64, opt storage.PutOptions) (target, error) {
	ex, ok, err := s.existing(ctx, pid, name, size)
	if err != nil {
		return target{}, err
	}
	if !ok || ex.Type != "file" {
		return target{}, storage.NewError("put", name, storage.ErrPreconditionFailed, errors.New("no file of that name to replace"))
	}
	return target{fileID: ex.ID, name: ex.Name, ifMatch: opt.ExpectedVersion}, nil
}

// overwriteTarget turns the 409 of a new file into the existing file to
// version, unless opt.NoOverwrite or the name is a folder's.
func overwriteTarget(err error, opt storage.PutOptions) (target, error) {
	var be *Error
	if opt.NoOverwrite || !errors.As(err, &be) || !errors.Is(err, storage.ErrAlreadyExists) {
		return target{}, err
	}
	for _, c := range be.Conflicts {
		if c.Type == "file" {
			return target{fileID: c.ID, name: c.Name}, nil
		}
	}
	return target{}, err
}

// Put writes r as file name in parent: a direct multipart upload below
// the chunk threshold, an upload session from it. The source is checked
// to yield exactly size bytes before anything is committed.
func (s *Storage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	p := join(parent.Path, name)
	if err := Names.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrInvalidName, err)
	}
	if s.maxUp > 0 && size > s.maxUp {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrTooLarge, fmt.Errorf("%d bytes, max_upload_size %d", size, s.maxUp))
	}
	pid := s.parentID(parent)
	th := s.chunkThreshold()
	var e storage.Entry
	var err error
	switch {
	case size < 0:
		data, f, n, serr := spool(r, th-1)
		if serr != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, serr)
		}
		if f != nil {
			defer f.Close()
			e, err = s.putChunked(ctx, parent, pid, name, f, n, opt)
		} else {
			e, err = s.putDirect(ctx, parent, pid, name, data, opt)
		}
	case size >= th:
		e, err = s.putChunked(ctx, parent, pid, name, r, size, opt)
	default:
		data, rerr := readExactly(r, size)
		if rerr != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, rerr)
		}
		e, err = s.putDirect(ctx, parent, pid, name, data, opt)
	}
	return e, wrap("put", p, err)
}

func (s *Storage) putDirect(ctx context.Context, parent storage.Entry, pid, name string, data []byte, opt storage.PutOptions) (storage.Entry, error) {
	if int64(len(data)) > MaxDirect {
		return storage.Entry{}, storage.ErrTooLarge
	}
	attrs := UploadAttrs{ParentID: pid, Name: name, ContentModifiedAt: opt.ModTime}
	var t target
	if opt.ExpectedVersion != "" {
		var err error
		if t, err = s.versionTarget(ctx, pid, name, int64(len(data)), opt); err != nil {
			return storage.Entry{}, err
		}
	}
	var it Item
	var err error
	if t.fileID == "" {
		it, err = s.c.UploadFile(ctx, "", attrs, data)
		if err == nil {
			return s.placed(it, parent, pid), nil
		}
		if t, err = overwriteTarget(err, opt); err != nil {
			return storage.Entry{}, err
		}
	}
	it, err = s.c.UploadFile(ctx, t.fileID, UploadAttrs{Name: t.name, ContentModifiedAt: opt.ModTime, IfMatch: t.ifMatch}, data)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.placed(it, parent, pid), nil
}

func (s *Storage) placed(it Item, parent storage.Entry, pid string) storage.Entry {
	e := s.entry(it, join(parent.Path, it.Name))
	e.ParentID = pid
	s.remember(e)
	return e
}

// chunkState is what a resumed upload needs (UploadState.Token).
type chunkState struct {
	Session  string `json:"s"`
	PartSize int64  `json:"p"`
	FileID   string `json:"f,omitempty"`
	IfMatch  string `json:"m,omitempty"`
	Hash     []byte `json:"h"` // the SHA-1 state after Offset bytes
}

func (s *Storage) putChunked(ctx context.Context, parent storage.Entry, pid, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	var t target
	if opt.ExpectedVersion != "" {
		var err error
		if t, err = s.versionTarget(ctx, pid, name, size, opt); err != nil {
			return storage.Entry{}, err
		}
	}
	var sess UploadSession
	var err error
	if t.fileID == "" {
		sess, err = s.c.CreateSession(ctx, pid, "", name, size)
		if err != nil {
			if t, err = overwriteTarget(err, opt); err != nil {
				return storage.Entry{}, err
			}
		}
	}
	if t.fileID != "" {
		if sess, err = s.c.CreateSession(ctx, "", t.fileID, "", size); err != nil {
			return storage.Entry{}, err
		}
	}
	st := chunkState{Session: sess.ID, PartSize: sess.PartSize, FileID: t.fileID, IfMatch: t.ifMatch}
	it, err := s.upload(ctx, pid, name, st, sha1.New(), r, size, 0, nil, sess, opt)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.placed(it, parent, pid), nil
}

// upload sends the parts of r from offset on, checks that r ends at size
// and commits. Without OnUploadState a failed upload is aborted; with it
// the session stays for ResumeUpload, except when the source was torn.
func (s *Storage) upload(ctx context.Context, pid, name string, st chunkState, h hash.Hash, r io.Reader, size, offset int64,
	parts []UploadPart, sess UploadSession, opt storage.PutOptions) (Item, error) {
	abort := func(err error, always bool) error {
		if always || opt.OnUploadState == nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = s.c.AbortSession(actx, st.Session)
		}
		return err
	}
	buf := make([]byte, min(st.PartSize, max(size-offset, 1)))
	for off := offset; off < size; {
		n := min(st.PartSize, size-off)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return Item{}, abort(fmt.Errorf("%w: %v", errTorn, err), true)
		}
		part, err := s.c.UploadPart(ctx, st.Session, off, size, buf[:n])
		if err != nil {
			return Item{}, abort(err, false)
		}
		h.Write(buf[:n])
		parts = append(parts, part)
		off += n
		if opt.OnUploadState != nil {
			m, ok := h.(encoding.BinaryMarshaler)
			if !ok {
				return Item{}, abort(errors.New("box: the hash state cannot be saved"), true)
			}
			hs, err := m.MarshalBinary()
			if err != nil {
				return Item{}, abort(err, true)
			}
			st.Hash = hs
			tok, _ := json.Marshal(st)
			if err := opt.OnUploadState(storage.UploadState{ParentID: pid, Name: name, Size: size, Offset: off,
				Token: string(tok), Expires: sess.SessionExpiresAt}); err != nil {
				return Item{}, err
			}
		}
	}
	if err := expectEnd(r); err != nil {
		return Item{}, abort(err, true)
	}
	it, err := s.c.Commit(ctx, st.Session, parts, h.Sum(nil), opt.ModTime, st.IfMatch)
	if err != nil {
		var be *Error
		if errors.As(err, &be) && be.StatusCode >= 400 && be.StatusCode < 500 {
			return Item{}, abort(err, true)
		}
		return Item{}, abort(err, false)
	}
	return it, nil
}

// ResumeUpload continues a chunked upload from st.Offset: the session's
// parts are listed (GET .../parts), the rest sent and the file committed.
// A session Box no longer knows gives ErrNotFound.
func (s *Storage) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	var cs chunkState
	if err := json.Unmarshal([]byte(st.Token), &cs); err != nil || cs.Session == "" || cs.PartSize <= 0 {
		return storage.Entry{}, storage.NewError("resume", st.Name, storage.ErrNotFound, errors.New("not a Box upload state"))
	}
	h := sha1.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(cs.Hash); err != nil {
		return storage.Entry{}, storage.NewError("resume", st.Name, storage.ErrNotFound, err)
	}
	got, err := s.c.ListParts(ctx, cs.Session)
	if err != nil {
		return storage.Entry{}, wrap("resume", st.Name, err)
	}
	byOff := map[int64]UploadPart{}
	for _, p := range got {
		byOff[p.Offset] = p
	}
	var parts []UploadPart
	for off := int64(0); off < st.Offset; {
		p, ok := byOff[off]
		if !ok || p.Size <= 0 {
			return storage.Entry{}, storage.NewError("resume", st.Name, storage.ErrNotFound, errors.New("the session lacks confirmed parts"))
		}
		parts = append(parts, p)
		off += p.Size
	}
	it, err := s.upload(ctx, st.ParentID, st.Name, cs, h, r, st.Size, st.Offset, parts, UploadSession{ID: cs.Session, PartSize: cs.PartSize, SessionExpiresAt: st.Expires}, opt)
	if err != nil {
		return storage.Entry{}, wrap("resume", st.Name, err)
	}
	// The parent's path is not in the state: find the file's path now.
	if e, err := s.StatID(ctx, it.ID); err == nil {
		return e, nil
	}
	e := s.entry(it, it.Name)
	e.ParentID = st.ParentID
	return e, nil
}
