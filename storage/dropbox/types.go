package dropbox

import (
	"encoding/json"
	"time"
)

// TimeFormat is the DropboxTimestamp format: UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// Metadata is files.Metadata: a file, a folder or a deleted item (Tag
// "file", "folder", "deleted"), with the fields of each subtype.
type Metadata struct {
	Tag            string `json:".tag"`
	Name           string `json:"name"`
	ID             string `json:"id,omitempty"`
	PathLower      string `json:"path_lower,omitempty"`
	PathDisplay    string `json:"path_display,omitempty"`
	ClientModified string `json:"client_modified,omitempty"`
	ServerModified string `json:"server_modified,omitempty"`
	Rev            string `json:"rev,omitempty"`
	Size           uint64 `json:"size,omitempty"`
	ContentHash    string `json:"content_hash,omitempty"`
	IsDownloadable *bool  `json:"is_downloadable,omitempty"`
	SharingInfo    *struct {
		ModifiedBy string `json:"modified_by,omitempty"`
	} `json:"sharing_info,omitempty"`
}

// IsDir reports whether m is a folder.
func (m *Metadata) IsDir() bool { return m.Tag == "folder" }

// Modified returns client_modified, or server_modified when absent.
func (m *Metadata) Modified() time.Time {
	for _, s := range []string{m.ClientModified, m.ServerModified} {
		if t, err := time.Parse(TimeFormat, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// ListFolderArg is files.ListFolderArg.
type ListFolderArg struct {
	Path                  string `json:"path"`
	Recursive             bool   `json:"recursive,omitempty"`
	IncludeDeleted        bool   `json:"include_deleted,omitempty"`
	IncludeMountedFolders *bool  `json:"include_mounted_folders,omitempty"`
	Limit                 uint32 `json:"limit,omitempty"`
}

// ListFolderResult is files.ListFolderResult.
type ListFolderResult struct {
	Entries []Metadata `json:"entries"`
	Cursor  string     `json:"cursor"`
	HasMore bool       `json:"has_more"`
}

// WriteMode is files.WriteMode: "add", "overwrite" or update with a rev.
type WriteMode struct {
	Tag    string
	Update string
}

// MarshalJSON writes a Void member as a bare string and update as an
// object.
func (w WriteMode) MarshalJSON() ([]byte, error) {
	if w.Tag == "update" {
		return json.Marshal(struct {
			Tag    string `json:".tag"`
			Update string `json:"update"`
		}{"update", w.Update})
	}
	return json.Marshal(w.Tag)
}

// UnmarshalJSON reads either form.
func (w *WriteMode) UnmarshalJSON(b []byte) error {
	var tag string
	if json.Unmarshal(b, &tag) == nil {
		*w = WriteMode{Tag: tag}
		return nil
	}
	var v struct {
		Tag    string `json:".tag"`
		Update string `json:"update"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*w = WriteMode{Tag: v.Tag, Update: v.Update}
	return nil
}

// CommitInfo is files.CommitInfo.
type CommitInfo struct {
	Path           string    `json:"path"`
	Mode           WriteMode `json:"mode"`
	Autorename     bool      `json:"autorename"`
	ClientModified string    `json:"client_modified,omitempty"`
	Mute           bool      `json:"mute,omitempty"`
	StrictConflict bool      `json:"strict_conflict,omitempty"`
}

// UploadArg is files.UploadArg.
type UploadArg struct {
	CommitInfo
	ContentHash string `json:"content_hash,omitempty"`
}

// UploadSessionCursor is files.UploadSessionCursor.
type UploadSessionCursor struct {
	SessionID string `json:"session_id"`
	Offset    uint64 `json:"offset"`
}

// UploadSessionFinishArg is files.UploadSessionFinishArg.
type UploadSessionFinishArg struct {
	Cursor      UploadSessionCursor `json:"cursor"`
	Commit      CommitInfo          `json:"commit"`
	ContentHash string              `json:"content_hash,omitempty"`
}

// FinishBatchEntry is one result of upload_session/finish_batch_v2
// (UploadSessionFinishBatchResultEntry): success with the file's
// metadata, or failure with an UploadSessionFinishError.
type FinishBatchEntry struct {
	Tag string `json:".tag"`
	Metadata
	Failure json.RawMessage `json:"failure,omitempty"`
}

// UnmarshalJSON reads the flattened success member.
func (e *FinishBatchEntry) UnmarshalJSON(b []byte) error {
	var t struct {
		Tag     string          `json:".tag"`
		Failure json.RawMessage `json:"failure"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	e.Tag, e.Failure = t.Tag, t.Failure
	if t.Tag == "success" {
		if err := json.Unmarshal(b, &e.Metadata); err != nil {
			return err
		}
		e.Metadata.Tag = "file"
	}
	return nil
}
