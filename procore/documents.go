package procore

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Timestamp is a time that decodes leniently: RFC 3339 with or without
// fractional seconds, a bare date, null or "" (the zero time).
type Timestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if json.Unmarshal(b, &n) == nil { // UNIX seconds
			t.Time = time.Unix(n, 0).UTC()
			return nil
		}
		return err
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return &time.ParseError{Layout: time.RFC3339, Value: s, Message: ": not a Procore timestamp"}
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Scope says whose Documents tool (and uploads) a call addresses: a
// project's or the company's.
type Scope struct {
	ProjectID int64 // set for project Documents
	CompanyID int64 // set for company Documents
}

// ProjectScope addresses project id's Documents.
func ProjectScope(id int64) Scope { return Scope{ProjectID: id} }

// CompanyScope addresses company id's company-level Documents.
func CompanyScope(id int64) Scope { return Scope{CompanyID: id} }

// path builds a v1.0 Documents path for resource (folders, files,
// file_versions) and optional id, with q's parameters.
func (s Scope) path(resource string, id int64, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	p := "/rest/v1.0/"
	if s.ProjectID != 0 {
		q.Set("project_id", itoa(s.ProjectID))
	} else {
		p += "companies/" + itoa(s.CompanyID) + "/"
	}
	p += resource
	if id != 0 {
		p += "/" + itoa(id)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// User is a Procore user as embedded in other objects.
type User struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

// Folder is a Documents folder with its direct children (deeper levels
// come back as empty arrays).
type Folder struct {
	ID                 int64     `json:"id"`
	Name               string    `json:"name"`
	ParentID           int64     `json:"parent_id"` // 0 for the root folder
	Private            bool      `json:"private"`
	UpdatedAt          Timestamp `json:"updated_at"`
	NameWithPath       string    `json:"name_with_path"`
	Folders            []Folder  `json:"folders"`
	Files              []File    `json:"files"`
	ReadOnly           bool      `json:"read_only"`
	IsDeleted          bool      `json:"is_deleted"`
	IsRecycleBin       bool      `json:"is_recycle_bin"`
	HasChildren        bool      `json:"has_children"`
	HasChildrenFiles   bool      `json:"has_children_files"`
	HasChildrenFolders bool      `json:"has_children_folders"`
	IsTracked          bool      `json:"is_tracked"`
}

// File is a Documents file.
type File struct {
	ID              int64         `json:"id"`
	Name            string        `json:"name"`
	ParentID        int64         `json:"parent_id"`
	Size            int64         `json:"size"`
	Description     string        `json:"description"`
	UpdatedAt       Timestamp     `json:"updated_at"`
	CreatedAt       Timestamp     `json:"created_at"`
	CheckedOutUntil Timestamp     `json:"checked_out_until"`
	CheckedOutBy    *User         `json:"checked_out_by"`
	NameWithPath    string        `json:"name_with_path"`
	Private         bool          `json:"private"`
	FileType        string        `json:"file_type"`
	FileVersions    []FileVersion `json:"file_versions"` // newest first
	IsDeleted       bool          `json:"is_deleted"`
}

// CurrentVersion returns the newest version (by number), if any.
func (f *File) CurrentVersion() *FileVersion {
	var cur *FileVersion
	for i := range f.FileVersions {
		if cur == nil || f.FileVersions[i].Number > cur.Number {
			cur = &f.FileVersions[i]
		}
	}
	return cur
}

// FileVersion is one version of a file.
type FileVersion struct {
	ID           int64        `json:"id"`
	Notes        string       `json:"notes"`
	URL          string       `json:"url"` // needs the bearer token; redirects to storage
	Size         int64        `json:"size"`
	CreatedAt    Timestamp    `json:"created_at"`
	Number       int          `json:"number"`
	CreatedBy    *User        `json:"created_by"`
	FileID       int64        `json:"file_id"`
	ProstoreFile *ProstoreRef `json:"prostore_file"`
}

// ProstoreRef is the stored object behind a file version.
type ProstoreRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Document is an item of the flat /documents index.
type Document struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	NameWithPath string            `json:"name_with_path"`
	ParentID     int64             `json:"parent_id"`
	CreatedAt    Timestamp         `json:"created_at"`
	CreatedBy    *User             `json:"created_by"`
	UpdatedAt    Timestamp         `json:"updated_at"`
	ReadOnly     bool              `json:"read_only"`
	IsDeleted    bool              `json:"is_deleted"`
	IsRecycleBin bool              `json:"is_recycle_bin"`
	DocumentType string            `json:"document_type"` // "file" or "folder"
	Private      bool              `json:"private"`
	File         *DocumentFile     `json:"file"`
	Children     *DocumentChildren `json:"children"`
}

// IsFolder reports whether the document is a folder.
func (d *Document) IsFolder() bool { return d.DocumentType == "folder" }

// DocumentFile is the file part of a Document.
type DocumentFile struct {
	CurrentVersion  *FileVersion `json:"current_version"`
	Description     string       `json:"description"`
	FileType        string       `json:"file_type"`
	CheckedOutUntil Timestamp    `json:"checked_out_until"`
	CheckedOutBy    *User        `json:"checked_out_by"`
}

// DocumentChildren summarises a folder's children.
type DocumentChildren struct {
	HasChildren        bool `json:"has_children"`
	HasChildrenFiles   bool `json:"has_children_files"`
	HasChildrenFolders bool `json:"has_children_folders"`
}

// FolderOptions are the folder listing flags.
type FolderOptions struct {
	ExcludeFolders, ExcludeFiles bool
	LatestVersionOnly            bool // show_latest_file_version_only
}

// query encodes the flags; company folder endpoints do not take
// show_latest_file_version_only, so it is only sent for projects.
func (o *FolderOptions) query(sc Scope) url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.ExcludeFolders {
		q.Set("exclude_folders", "true")
	}
	if o.ExcludeFiles {
		q.Set("exclude_files", "true")
	}
	if o.LatestVersionOnly && sc.ProjectID != 0 {
		q.Set("show_latest_file_version_only", "true")
	}
	return q
}

// FoldersService handles Documents folders.
type FoldersService service

// Root returns the tool's root folder with its direct children.
func (s *FoldersService) Root(ctx context.Context, sc Scope, opts *FolderOptions) (*Folder, *Response, error) {
	var f Folder
	resp, err := s.c.get(ctx, sc.path("folders", 0, opts.query(sc)), &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// Get returns folder id with its direct children.
func (s *FoldersService) Get(ctx context.Context, sc Scope, id int64, opts *FolderOptions) (*Folder, *Response, error) {
	var f Folder
	resp, err := s.c.get(ctx, sc.path("folders", id, opts.query(sc)), &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// FolderCreate is the body of a folder creation.
type FolderCreate struct {
	ParentID int64  `json:"parent_id,omitempty"` // 0: the root folder
	Name     string `json:"name"`
}

// Create makes a folder. A name taken in the parent gives a 400 "has
// already been taken" (errors.Is(err, storage.ErrAlreadyExists)).
func (s *FoldersService) Create(ctx context.Context, sc Scope, body FolderCreate) (*Folder, *Response, error) {
	var f Folder
	resp, err := s.c.send(ctx, http.MethodPost, sc.path("folders", 0, nil), map[string]any{"folder": body}, &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// Update is a PATCH of a folder or file: ParentID moves, Name renames.
type Update struct {
	ParentID int64  `json:"parent_id,omitempty"`
	Name     string `json:"name,omitempty"`
	// UploadUUID (files only) adds a new version from a completed upload.
	UploadUUID string `json:"upload_uuid,omitempty"`
}

// Update moves and/or renames a folder.
func (s *FoldersService) Update(ctx context.Context, sc Scope, id int64, body Update) (*Folder, *Response, error) {
	var f Folder
	body.UploadUUID = ""
	resp, err := s.c.send(ctx, http.MethodPatch, sc.path("folders", id, nil), map[string]any{"folder": body}, &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// Delete moves a folder (and its content) to the recycle bin.
func (s *FoldersService) Delete(ctx context.Context, sc Scope, id int64) (*Response, error) {
	return s.c.send(ctx, http.MethodDelete, sc.path("folders", id, nil), nil, nil)
}

// FilesService handles Documents files.
type FilesService service

// FileCreate is the body of a file creation.
type FileCreate struct {
	ParentID    int64  `json:"parent_id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// UniqueName asks Procore to pick a free name instead of failing with
	// 400 "has already been taken" when the name is taken.
	UniqueName bool `json:"unique_name,omitempty"`
	// UploadUUID is the uuid of a completed upload (Uploads service).
	UploadUUID string `json:"upload_uuid"`
}

// Create makes a file from a completed upload.
func (s *FilesService) Create(ctx context.Context, sc Scope, body FileCreate) (*File, *Response, error) {
	var f File
	resp, err := s.c.send(ctx, http.MethodPost, sc.path("files", 0, nil), map[string]any{"file": body}, &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// Get returns a file with its versions (newest first).
func (s *FilesService) Get(ctx context.Context, sc Scope, id int64) (*File, *Response, error) {
	var f File
	resp, err := s.c.get(ctx, sc.path("files", id, nil), &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// Update moves, renames and/or adds a version to a file.
func (s *FilesService) Update(ctx context.Context, sc Scope, id int64, body Update) (*File, *Response, error) {
	var f File
	resp, err := s.c.send(ctx, http.MethodPatch, sc.path("files", id, nil), map[string]any{"file": body}, &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}

// Delete moves a file to the recycle bin.
func (s *FilesService) Delete(ctx context.Context, sc Scope, id int64) (*Response, error) {
	return s.c.send(ctx, http.MethodDelete, sc.path("files", id, nil), nil, nil)
}

// FileVersionsService handles file versions.
type FileVersionsService service

// FileVersionCreate is the body of a new file version.
type FileVersionCreate struct {
	UploadUUID string `json:"upload_uuid"`
	Notes      string `json:"notes,omitempty"`
	Name       string `json:"name,omitempty"`
}

// Create adds a version to file fileID from a completed upload.
func (s *FileVersionsService) Create(ctx context.Context, sc Scope, fileID int64, body FileVersionCreate) (*FileVersion, *Response, error) {
	var v FileVersion
	q := url.Values{"file_id": {itoa(fileID)}}
	resp, err := s.c.send(ctx, http.MethodPost, sc.path("file_versions", 0, q), map[string]any{"file_version": body}, &v)
	if err != nil {
		return nil, resp, err
	}
	return &v, resp, nil
}

// Get returns one file version.
func (s *FileVersionsService) Get(ctx context.Context, sc Scope, id int64) (*FileVersion, *Response, error) {
	var v FileVersion
	resp, err := s.c.get(ctx, sc.path("file_versions", id, nil), &v)
	if err != nil {
		return nil, resp, err
	}
	return &v, resp, nil
}

// DocumentsService reads the flat, paginated /documents index: the cheap
// way to list a whole tool and to find what changed.
type DocumentsService service

// DocumentListOptions filter the /documents index.
type DocumentListOptions struct {
	ListOptions
	// UpdatedFrom and UpdatedTo give filters[updated_at] (both must be
	// set; Procore's docs only show closed ranges).
	UpdatedFrom, UpdatedTo time.Time
	// DocumentType is "file" or "folder" ("" for both).
	DocumentType string
	// InRecycleBin filters on filters[is_in_recycle_bin] when not nil.
	InRecycleBin *bool
	// FolderID limits the index to that folder's subtree (depth ≤ 100).
	FolderID int64
	// Sort is a sort field, "-" prefixed for descending.
	Sort string
	// View is "normal" (the server's default) or "extended". Only the
	// extended view carries the file object (current version, size, URL)
	// and the children summary; the storages always ask for it.
	View string
}

func (o *DocumentListOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	o.ListOptions.apply(q)
	if !o.UpdatedFrom.IsZero() || !o.UpdatedTo.IsZero() {
		q.Set("filters[updated_at]", formatRangeEnd(o.UpdatedFrom)+"..."+formatRangeEnd(o.UpdatedTo))
	}
	if o.DocumentType != "" {
		q.Set("filters[document_type]", o.DocumentType)
	}
	if o.InRecycleBin != nil {
		q.Set("filters[is_in_recycle_bin]", strconv.FormatBool(*o.InRecycleBin))
	}
	if o.FolderID != 0 {
		q.Set("filters[folder_id]", itoa(o.FolderID))
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	if o.View != "" {
		q.Set("view", o.View)
	}
	return q
}

func formatRangeEnd(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func (sc Scope) documentsPath(q url.Values) string {
	p := "/rest/v1.0/companies/" + itoa(sc.CompanyID) + "/documents"
	if sc.ProjectID != 0 {
		p = "/rest/v1.0/projects/" + itoa(sc.ProjectID) + "/documents"
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// List returns one page of the index.
func (s *DocumentsService) List(ctx context.Context, sc Scope, opts *DocumentListOptions) ([]Document, *Response, error) {
	var docs []Document
	resp, err := s.c.get(ctx, sc.documentsPath(opts.query()), &docs)
	if err != nil {
		return nil, resp, err
	}
	return docs, resp, nil
}

// All iterates over every page of the index.
func (s *DocumentsService) All(ctx context.Context, sc Scope, opts *DocumentListOptions) iter.Seq2[Document, error] {
	o := DocumentListOptions{}
	if opts != nil {
		o = *opts
	}
	return paginate(ctx, o.Page, func(page int) ([]Document, *Response, error) {
		o.Page = page
		return s.List(ctx, sc, &o)
	})
}

// ---- companies, projects, me ----

// UsersService reads the current user.
type UsersService service

// Me returns the user the token belongs to.
func (s *UsersService) Me(ctx context.Context) (*User, *Response, error) {
	var u User
	resp, err := s.c.get(ctx, "/rest/v1.0/me", &u)
	if err != nil {
		return nil, resp, err
	}
	return &u, resp, nil
}

// Company is a Procore company.
type Company struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	IsActive  bool   `json:"is_active"`
	MyCompany bool   `json:"my_company"`
}

// CompaniesService lists companies.
type CompaniesService service

// List returns one page of the companies the user can see.
func (s *CompaniesService) List(ctx context.Context, opts *ListOptions) ([]Company, *Response, error) {
	q := url.Values{}
	opts.apply(q)
	p := "/rest/v1.0/companies"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out []Company
	resp, err := s.c.get(ctx, p, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over all companies.
func (s *CompaniesService) All(ctx context.Context) iter.Seq2[Company, error] {
	return paginate(ctx, 1, func(page int) ([]Company, *Response, error) {
		return s.List(ctx, &ListOptions{Page: page, PerPage: 100})
	})
}

// Project is a Procore project.
type Project struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	DisplayName   string    `json:"display_name"`
	ProjectNumber string    `json:"project_number"`
	Active        bool      `json:"active"`
	CreatedAt     Timestamp `json:"created_at"`
	UpdatedAt     Timestamp `json:"updated_at"`
	Company       *Company  `json:"company"`
}

// ProjectsService lists projects.
type ProjectsService service

// ProjectListOptions filter project listings.
type ProjectListOptions struct {
	ListOptions
	UpdatedFrom, UpdatedTo time.Time
}

// List returns one page of the company's projects.
func (s *ProjectsService) List(ctx context.Context, companyID int64, opts *ProjectListOptions) ([]Project, *Response, error) {
	q := url.Values{"company_id": {itoa(companyID)}}
	if opts != nil {
		opts.ListOptions.apply(q)
		if !opts.UpdatedFrom.IsZero() || !opts.UpdatedTo.IsZero() {
			q.Set("filters[updated_at]", formatRangeEnd(opts.UpdatedFrom)+"..."+formatRangeEnd(opts.UpdatedTo))
		}
	}
	var out []Project
	resp, err := s.c.get(ctx, "/rest/v1.0/projects?"+q.Encode(), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over all the company's projects.
func (s *ProjectsService) All(ctx context.Context, companyID int64) iter.Seq2[Project, error] {
	return paginate(ctx, 1, func(page int) ([]Project, *Response, error) {
		return s.List(ctx, companyID, &ProjectListOptions{ListOptions: ListOptions{Page: page, PerPage: 100}})
	})
}

// Get returns one project.
func (s *ProjectsService) Get(ctx context.Context, companyID, id int64) (*Project, *Response, error) {
	var p Project
	resp, err := s.c.get(ctx, "/rest/v1.0/projects/"+itoa(id)+"?company_id="+itoa(companyID), &p)
	if err != nil {
		return nil, resp, err
	}
	return &p, resp, nil
}
