package memory

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"

	"github.com/procoresync/procoresync/storage"
)

// errTooMany is the cause when a reader yields more bytes than declared.
var errTooMany = errors.New("the reader yields more bytes than the declared size")

// Put writes r as file name in parent (found by ID, or by path when the ID
// is empty; a zero Entry is the root).
//
// Nothing is written unless the whole content arrived: a reader that fails,
// yields fewer bytes than size or more, leaves no file and no new version.
// A file larger than the chunking threshold (see WithChunking) goes up in
// chunks; each counts as an OpUploadChunk call (where faults can be
// injected) and is reported through opt.OnUploadState, which lets the
// upload be continued with ResumeUpload after an interruption.
//
// Putting a file where a folder of that name exists gives an error matching
// storage.ErrAlreadyExists; a missing parent storage.ErrNotFound; a parent
// that is a file storage.ErrNotDir; a file over the maximum size
// storage.ErrTooLarge; an invalid name a *storage.InvalidNameError.
func (s *Storage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	if err := s.f.before(ctx, OpPut); err != nil {
		return storage.Entry{}, err
	}
	if size < 0 {
		size = -1
	}
	if r == nil {
		r = bytes.NewReader(nil)
	}
	memo := PutOptionsMemo{ExpectedVersion: opt.ExpectedVersion, NoOverwrite: opt.NoOverwrite, ModTime: opt.ModTime}
	// Fail early on what is already known to be wrong.
	s.t.mu.RLock()
	pn, pp, err := s.precheck(parent, name, size, memo)
	s.t.mu.RUnlock()
	if err != nil {
		return storage.Entry{}, err
	}
	p := join(pp, name)
	r = &ctxReader{ctx: ctx, r: r}
	c := s.t.cfg
	threshold := s.t.chunkThreshold.Load()

	chunked := threshold > 0 && (size > threshold || size < 0)
	var prefix []byte
	if chunked && size < 0 {
		// Unknown size: upload in one go if it fits below the threshold.
		buf := bytes.Buffer{}
		n, err := io.Copy(&buf, io.LimitReader(r, threshold+1))
		if err != nil {
			return storage.Entry{}, errorf("put", p, nil, "reading content: %w", err)
		}
		prefix = buf.Bytes()
		if n <= threshold {
			chunked = false
			r = bytes.NewReader(nil)
		} else {
			r = io.MultiReader(bytes.NewReader(prefix), r)
		}
	}
	if !chunked {
		data := prefix
		if data == nil {
			data, err = readAll(p, r, size, c.maxFileSize)
			if err != nil {
				return storage.Entry{}, err
			}
		}
		return s.commit(pn.id, name, data, memo)
	}

	sess := &session{parentID: pn.id, name: name, size: size, opt: memo, busy: true}
	if opt.OnUploadState != nil {
		s.t.mu.Lock()
		s.addSession(sess)
		s.t.mu.Unlock()
	}
	return s.upload(ctx, sess, r, opt)
}

// precheck resolves the parent and checks name, size and preconditions.
// Caller holds the read lock.
func (s *Storage) precheck(parent storage.Entry, name string, size int64, memo PutOptionsMemo) (*node, string, error) {
	root, err := s.root("put")
	if err != nil {
		return nil, "", err
	}
	pn, pp, err := s.t.lookupDir("put", root, parent)
	if err != nil {
		return nil, "", err
	}
	name = s.t.storedName(name)
	if err := s.t.validateName(pp, name); err != nil {
		return nil, "", err
	}
	p := join(pp, name)
	if m := s.t.cfg.maxFileSize; m > 0 && size > m {
		return nil, "", errorf("put", p, storage.ErrTooLarge, "larger than %d bytes", m)
	}
	ex := pn.children[s.t.cfg.rules.Key(name)]
	switch {
	case ex != nil && ex.isDir():
		return nil, "", errorf("put", p, storage.ErrAlreadyExists, "a folder of that name exists")
	case ex != nil && memo.NoOverwrite:
		return nil, "", errorf("put", p, storage.ErrAlreadyExists, "")
	case ex != nil && memo.ExpectedVersion != "" && memo.ExpectedVersion != ex.version:
		return nil, "", errorf("put", p, storage.ErrPreconditionFailed, "")
	case ex == nil && memo.ExpectedVersion != "":
		return nil, "", errorf("put", p, storage.ErrPreconditionFailed, "the file does not exist")
	}
	return pn, pp, nil
}

// readAll reads exactly size bytes from r (all of r when size is -1),
// failing on short or long content and on content over limit (0: none).
func readAll(p string, r io.Reader, size, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if size >= 0 {
		buf.Grow(int(min(size, 1<<20)))
		n, err := io.CopyN(&buf, r, size)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errorf("put", p, nil, "the reader yielded %d of %d declared bytes: %w", n, size, io.ErrUnexpectedEOF)
			}
			return nil, errorf("put", p, nil, "reading content: %w", err)
		}
		if err := checkEnd(p, r); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	if _, err := io.Copy(&buf, src); err != nil {
		return nil, errorf("put", p, nil, "reading content: %w", err)
	}
	if limit > 0 && int64(buf.Len()) > limit {
		return nil, errorf("put", p, storage.ErrTooLarge, "larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}

// checkEnd checks that r, having yielded the declared number of bytes, is
// at its end: more bytes are a grown source, and an error (rather than
// io.EOF) means the content cannot be trusted either.
func checkEnd(p string, r io.Reader) error {
	var one [1]byte
	k, err := io.ReadFull(r, one[:])
	switch {
	case k > 0:
		return errorf("put", p, nil, "%v", errTooMany)
	case err != nil && !errors.Is(err, io.EOF):
		return errorf("put", p, nil, "reading content after the declared size: %w", err)
	}
	return nil
}

// commit hashes data and writes it as file name in the folder parentID.
func (s *Storage) commit(parentID, name string, data []byte, memo PutOptionsMemo) (storage.Entry, error) {
	if data == nil {
		data = []byte{}
	}
	b := newBlob(data, s.t.cfg.hashes)
	user := s.currentUser()
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, err := s.root("put")
	if err != nil {
		return storage.Entry{}, err
	}
	pn, pp, err := s.t.lookupDir("put", root, storage.Entry{ID: parentID})
	if err != nil {
		return storage.Entry{}, err
	}
	n, err := s.t.commit(pn, pp, name, b, memo, user)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.t.entry(n, join(pp, n.name), root), nil
}

// addSession registers sess with a new token. Caller holds the lock.
func (s *Storage) addSession(sess *session) {
	now := s.t.now(timeZero)
	for tok, o := range s.t.sessions {
		if !o.busy && now.After(o.expires) {
			delete(s.t.sessions, tok)
		}
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	sess.token = "us-" + hex.EncodeToString(rnd[:])
	sess.expires = now.Add(s.t.cfg.sessionTTL)
	s.t.sessions[sess.token] = sess
}

// upload sends the rest of sess's content from r in chunks and commits it.
func (s *Storage) upload(ctx context.Context, sess *session, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	defer func() {
		s.t.mu.Lock()
		sess.busy = false
		s.t.mu.Unlock()
	}()
	c := s.t.cfg
	p := sess.name
	size := s.t.chunkSize.Load()
	chunk := make([]byte, size)
	for {
		want := size
		if sess.size >= 0 {
			want = min(want, sess.size-int64(len(sess.buf)))
		}
		if want == 0 {
			if err := checkEnd(p, r); err != nil {
				return storage.Entry{}, err
			}
			break
		}
		n, err := io.ReadFull(r, chunk[:want])
		final := false
		switch {
		case err == nil:
		case sess.size < 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			final = true
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return storage.Entry{}, errorf("put", p, nil, "the reader yielded %d of %d declared bytes: %w",
				int64(len(sess.buf))+int64(n), sess.size, io.ErrUnexpectedEOF)
		default:
			return storage.Entry{}, errorf("put", p, nil, "reading content: %w", err)
		}
		if n > 0 {
			if err := s.f.before(ctx, OpUploadChunk); err != nil {
				return storage.Entry{}, err
			}
			if c.maxFileSize > 0 && int64(len(sess.buf)+n) > c.maxFileSize {
				return storage.Entry{}, errorf("put", p, storage.ErrTooLarge, "larger than %d bytes", c.maxFileSize)
			}
			s.t.mu.Lock()
			sess.buf = append(sess.buf, chunk[:n]...)
			st := storage.UploadState{ParentID: sess.parentID, Name: sess.name, Size: sess.size,
				Offset: int64(len(sess.buf)), Token: sess.token, Expires: sess.expires}
			s.t.mu.Unlock()
			if opt.OnUploadState != nil && sess.token != "" {
				if err := opt.OnUploadState(st); err != nil {
					return storage.Entry{}, err
				}
			}
		}
		if final {
			break
		}
	}
	e, err := s.commit(sess.parentID, sess.name, sess.buf, sess.opt)
	if err == nil && sess.token != "" {
		s.t.mu.Lock()
		delete(s.t.sessions, sess.token)
		s.t.mu.Unlock()
	}
	return e, err
}

// ResumeUpload continues the chunked upload st describes: r yields the
// file's bytes from st.Offset on. st.Offset may be below what was confirmed
// (those bytes are sent again) but not beyond it (storage.ErrPreconditionFailed).
// An unknown or expired session gives storage.ErrNotFound; a session that
// another call is uploading to gives storage.ErrLocked. The options given to
// the original Put apply unless opt sets them again.
func (s *Storage) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	if err := s.f.before(ctx, OpResumeUpload); err != nil {
		return storage.Entry{}, err
	}
	if r == nil {
		r = bytes.NewReader(nil)
	}
	s.t.mu.Lock()
	sess := s.t.sessions[st.Token]
	switch {
	case sess == nil || sess.parentID != st.ParentID || sess.name != st.Name:
		s.t.mu.Unlock()
		return storage.Entry{}, errorf("resume upload", st.Name, storage.ErrNotFound, "%v", errNoSession)
	case s.t.now(timeZero).After(sess.expires):
		delete(s.t.sessions, st.Token)
		s.t.mu.Unlock()
		return storage.Entry{}, errorf("resume upload", st.Name, storage.ErrNotFound, "%v", errNoSession)
	case sess.busy:
		s.t.mu.Unlock()
		return storage.Entry{}, errorf("resume upload", st.Name, storage.ErrLocked, "the upload is in progress")
	case st.Offset < 0 || st.Offset > int64(len(sess.buf)):
		s.t.mu.Unlock()
		return storage.Entry{}, errorf("resume upload", st.Name, storage.ErrPreconditionFailed,
			"offset %d beyond the %d confirmed bytes", st.Offset, len(sess.buf))
	}
	sess.busy = true
	sess.buf = sess.buf[:st.Offset]
	if opt.ExpectedVersion != "" {
		sess.opt.ExpectedVersion = opt.ExpectedVersion
	}
	sess.opt.NoOverwrite = sess.opt.NoOverwrite || opt.NoOverwrite
	if !opt.ModTime.IsZero() {
		sess.opt.ModTime = opt.ModTime
	}
	s.t.mu.Unlock()
	return s.upload(ctx, sess, &ctxReader{ctx: ctx, r: r}, opt)
}
