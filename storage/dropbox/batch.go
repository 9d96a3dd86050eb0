package dropbox

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/procoresync/procoresync/storage"
)

// MaxBatch is the most files upload_session/finish_batch_v2 commits at
// once.
const MaxBatch = 1000

// BatchFile is one file of PutBatch.
type BatchFile struct {
	Name string
	Data []byte
	Opt  storage.PutOptions
}

// PutBatch writes many small files into parent as Dropbox advises for bulk
// uploads: each file's bytes go to an upload session started and closed in
// one call (upload_session/start with close=true and the content_hash),
// and each group of up to MaxBatch sessions is committed by one
// upload_session/finish_batch_v2, batches one at a time, so that the
// commits do not contend for the namespace's lock
// (too_many_write_operations). It returns one entry and one error per
// file, in order. PutOptions.OnUploadState is not used.
func (s *Storage) PutBatch(ctx context.Context, parent storage.Entry, files []BatchFile) ([]storage.Entry, []error) {
	entries := make([]storage.Entry, len(files))
	errs := make([]error, len(files))
	for lo := 0; lo < len(files); lo += MaxBatch {
		hi := min(lo+MaxBatch, len(files))
		s.putBatch(ctx, parent, files[lo:hi], entries[lo:hi], errs[lo:hi])
	}
	return entries, errs
}

func (s *Storage) putBatch(ctx context.Context, parent storage.Entry, files []BatchFile, entries []storage.Entry, errs []error) {
	var args []UploadSessionFinishArg
	var idx []int
	for i, f := range files {
		p := join(parent.Path, f.Name)
		if err := Names.Validate(f.Name); err != nil {
			errs[i] = storage.NewError("put", p, storage.ErrInvalidName, err)
			continue
		}
		if int64(len(f.Data)) > MaxRequest {
			errs[i] = storage.NewError("put", p, storage.ErrTooLarge, nil)
			continue
		}
		h := ContentHash(f.Data)
		sid, err := s.startClosed(ctx, f.Data, h)
		if err != nil {
			errs[i] = storageErr("put", p, err)
			continue
		}
		args = append(args, UploadSessionFinishArg{Cursor: UploadSessionCursor{SessionID: sid, Offset: uint64(len(f.Data))},
			Commit: s.commitFor(parent, f.Name, f.Opt), ContentHash: h})
		idx = append(idx, i)
	}
	if len(args) == 0 {
		return
	}
	s.batchMu.Lock()
	res, err := s.c.UploadSessionFinishBatch(ctx, args)
	s.batchMu.Unlock()
	if err == nil && len(res) != len(args) {
		err = errors.New("dropbox: finish_batch_v2 answered a different number of entries")
	}
	for k, i := range idx {
		p := join(parent.Path, files[i].Name)
		if err != nil {
			errs[i] = storageErr("put", p, err)
			continue
		}
		r := res[k]
		if r.Tag != "success" {
			fe := &APIError{Route: "files/upload_session/finish_batch_v2", Status: 409, Body: r.Failure, Tags: tagsOf(json.RawMessage(r.Failure))}
			errs[i] = s.putErr(ctx, p, parent, files[i].Opt, fe)
			continue
		}
		entries[i], _ = s.committed(&r.Metadata, p, parent)
	}
}

// startClosed starts and closes a session holding data.
func (s *Storage) startClosed(ctx context.Context, data []byte, hash string) (string, error) {
	var r struct {
		SessionID string `json:"session_id"`
	}
	_, err := s.c.do(ctx, call{route: "files/upload_session/start", style: styleUpload,
		arg: map[string]any{"close": true, "content_hash": hash}, data: data}, &r)
	return r.SessionID, err
}
