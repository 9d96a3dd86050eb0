package procore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/storage"
)

// ImageCategory is a photo album.
type ImageCategory struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Position  int       `json:"position"`
	Private   bool      `json:"private"`
	Count     int       `json:"count"`
	CreatedAt Timestamp `json:"created_at"`
	UpdatedAt Timestamp `json:"updated_at"`
}

// Image is a project photo.
type Image struct {
	ID                int64     `json:"id"`
	URL               string    `json:"url"`
	Size              int64     `json:"size"`
	Filename          string    `json:"filename"`
	Description       string    `json:"description"`
	CreatedAt         Timestamp `json:"created_at"`
	UpdatedAt         Timestamp `json:"updated_at"`
	TakenAt           Timestamp `json:"taken_at"`
	ImageCategoryID   int64     `json:"image_category_id"` // 0: in no album
	ImageCategoryName string    `json:"image_category_name"`
	Uploader          *User     `json:"uploader"`
	// Location is the project location the photo is filed under (nil:
	// none).
	Location *ImageLocation `json:"location"`
	// DailyLogHeaderID is the Daily Log day the photo is filed on (0:
	// none).
	DailyLogHeaderID int64 `json:"daily_log_header_id"`
}

// ImageLocation is the location an image is filed under.
type ImageLocation struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ImageCategoriesService handles photo albums.
type ImageCategoriesService service

func photoPath(resource string, id, projectID int64, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("project_id", itoa(projectID))
	p := "/rest/v1.0/" + resource
	if id != 0 {
		p += "/" + itoa(id)
	}
	return p + "?" + q.Encode()
}

// List returns one page of the project's albums.
func (s *ImageCategoriesService) List(ctx context.Context, projectID int64, opts *ListOptions) ([]ImageCategory, *Response, error) {
	q := url.Values{}
	opts.apply(q)
	var out []ImageCategory
	resp, err := s.c.get(ctx, photoPath("image_categories", 0, projectID, q), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over all the project's albums.
func (s *ImageCategoriesService) All(ctx context.Context, projectID int64, perPage int) iter.Seq2[ImageCategory, error] {
	return paginate(ctx, 1, func(page int) ([]ImageCategory, *Response, error) {
		return s.List(ctx, projectID, &ListOptions{Page: page, PerPage: perPage})
	})
}

// Create makes an album.
func (s *ImageCategoriesService) Create(ctx context.Context, projectID int64, name string) (*ImageCategory, *Response, error) {
	var out ImageCategory
	resp, err := s.c.send(ctx, http.MethodPost, photoPath("image_categories", 0, projectID, nil),
		map[string]any{"image_category": map[string]any{"name": name}}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Rename renames an album.
func (s *ImageCategoriesService) Rename(ctx context.Context, projectID, id int64, name string) (*ImageCategory, *Response, error) {
	var out ImageCategory
	resp, err := s.c.send(ctx, http.MethodPatch, photoPath("image_categories", id, projectID, nil),
		map[string]any{"image_category": map[string]any{"name": name}}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes an album.
func (s *ImageCategoriesService) Delete(ctx context.Context, projectID, id int64) (*Response, error) {
	return s.c.send(ctx, http.MethodDelete, photoPath("image_categories", id, projectID, nil), nil, nil)
}

// ImagesService handles project photos.
type ImagesService service

// ImageListOptions filter image listings.
type ImageListOptions struct {
	ListOptions
	CategoryID             int64 // image_category_id (0: all)
	UpdatedFrom, UpdatedTo time.Time
	Sort                   string
	// LogDate is sent as filters[log_date]: a Daily Log day (YYYY-MM-DD)
	// or a range "YYYY-MM-DD...YYYY-MM-DD" ("": any).
	LogDate string
}

// List returns one page of the project's images.
func (s *ImagesService) List(ctx context.Context, projectID int64, opts *ImageListOptions) ([]Image, *Response, error) {
	q := url.Values{}
	if opts != nil {
		opts.ListOptions.apply(q)
		if opts.CategoryID != 0 {
			q.Set("image_category_id", itoa(opts.CategoryID))
		}
		if !opts.UpdatedFrom.IsZero() || !opts.UpdatedTo.IsZero() {
			q.Set("filters[updated_at]", formatRangeEnd(opts.UpdatedFrom)+"..."+formatRangeEnd(opts.UpdatedTo))
		}
		if opts.Sort != "" {
			q.Set("sort", opts.Sort)
		}
		if opts.LogDate != "" {
			q.Set("filters[log_date]", opts.LogDate)
		}
	}
	var out []Image
	resp, err := s.c.get(ctx, photoPath("images", 0, projectID, q), &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over all pages.
func (s *ImagesService) All(ctx context.Context, projectID int64, opts *ImageListOptions) iter.Seq2[Image, error] {
	o := ImageListOptions{}
	if opts != nil {
		o = *opts
	}
	return paginate(ctx, o.Page, func(page int) ([]Image, *Response, error) {
		o.Page = page
		return s.List(ctx, projectID, &o)
	})
}

// Get returns one image.
func (s *ImagesService) Get(ctx context.Context, projectID, id int64) (*Image, *Response, error) {
	var out Image
	resp, err := s.c.get(ctx, photoPath("images", id, projectID, nil), &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ImageCreate describes a new image made from a completed upload.
type ImageCreate struct {
	UploadUUID  string
	Name        string // the image's file name
	CategoryID  int64  // album (0: none)
	Description string
	LocationID  int64 // 0: none
	// LogDate files the image on a Daily Log day (YYYY-MM-DD; "": none).
	LogDate string
}

// Create makes an image from a completed upload, in album categoryID (0:
// none).
func (s *ImagesService) Create(ctx context.Context, projectID int64, uploadUUID, name string, categoryID int64) (*Image, *Response, error) {
	return s.CreateImage(ctx, projectID, ImageCreate{UploadUUID: uploadUUID, Name: name, CategoryID: categoryID})
}

// CreateImage makes an image from a completed upload with POST
// /rest/v1.0/images. It sends the body of Procore's current attachments
// guide, {"upload": {"uuid", "image_name"}, "image": {…}}, and when that
// is refused (400 or 422) the operation description's form with
// upload_uuid and image_name at the top level.
func (s *ImagesService) CreateImage(ctx context.Context, projectID int64, ic ImageCreate) (*Image, *Response, error) {
	img := map[string]any{"private": false} // "at least one attribute is required"
	if ic.CategoryID != 0 {
		img["image_category_id"] = ic.CategoryID
	}
	if ic.Description != "" {
		img["description"] = ic.Description
	}
	if ic.LocationID != 0 {
		img["location_id"] = ic.LocationID
	}
	if ic.LogDate != "" {
		img["log_date"] = ic.LogDate
	}
	var out Image
	// Which body POST /rest/v1.0/images requires is unconfirmed against a live tenant.
	nested := map[string]any{"upload": map[string]any{"uuid": ic.UploadUUID, "image_name": ic.Name}, "image": img}
	resp, err := s.c.send(ctx, http.MethodPost, photoPath("images", 0, projectID, nil), nested, &out)
	var er *ErrorResponse
	if err != nil && errors.As(err, &er) && (er.StatusCode == http.StatusBadRequest || er.StatusCode == http.StatusUnprocessableEntity) {
		out = Image{}
		top := map[string]any{"upload_uuid": ic.UploadUUID, "image_name": ic.Name, "image": img}
		resp, err = s.c.send(ctx, http.MethodPost, photoPath("images", 0, projectID, nil), top, &out)
	}
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Move puts an image into album categoryID (0: out of any album, sent as
// null) with PATCH /rest/v1.0/images/{id}. Procore cannot rename images.
func (s *ImagesService) Move(ctx context.Context, projectID, id, categoryID int64) (*Image, *Response, error) {
	var cat any = categoryID
	if categoryID == 0 {
		cat = nil
	}
	var out Image
	resp, err := s.c.send(ctx, http.MethodPatch, photoPath("images", id, projectID, nil),
		map[string]any{"image": map[string]any{"image_category_id": cat}}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Delete removes an image (soft delete unless permanent).
func (s *ImagesService) Delete(ctx context.Context, projectID, id int64, permanent bool) (*Response, error) {
	q := url.Values{}
	if permanent {
		q.Set("permanent", "true")
	}
	return s.c.send(ctx, http.MethodDelete, photoPath("images", id, projectID, q), nil, nil)
}

// ---- storage ----

// PhotosOptions tune a PhotosStorage.
type PhotosOptions struct {
	// ReplaceSpecialChars is the option Procore sync products call
	// "Special Characters": `# % * : < > ? / \ | ~ "` in album names are
	// shown as "-". ("/" is always replaced, as it cannot be in a path.)
	ReplaceSpecialChars bool
	// PerPage is the page size of listings (default 1000).
	PerPage int
	// OnReplace, when set, is told each time an image was replaced by a
	// new one because Procore cannot change an image in place: a rename
	// or a new content (Put over an existing photo). oldID is the entry ID
	// of the image now in Procore's recycle bin, e the new image.
	OnReplace func(oldID string, e storage.Entry, reason string)
}

// PhotosStorage exposes a project's Photos as a storage.Storage: albums
// are folders (one level deep only), images are files. Images without an
// album sit at the root. Watch is fed by the webhook receiver ("Images",
// "Image Categories").
//
// Images are addressed by image ID ("i<id>"), never by name. Procore lets
// several photos of one album share a file name (phones do this), so
// paths are made distinct: of the images whose shown names are equal in
// one album, the one with the lowest ID keeps the name, each other one is
// shown as "<stem> (id <image id>)<ext>" (e.g. "IMG_0001 (id 5123).jpg").
// A "/" in an image's file name is shown as "-"; an image without a
// usable file name ("", "." or "..") is shown as "image <image id>".
// Version is
// "<image id>@<updated_at>": an image's content never changes in
// Procore, so the ID names the content and the stamp its metadata.
//
// Procore cannot rename an image or replace its content (PATCH
// /rest/v1.0/images/{id} takes no name). So Put over an existing image
// creates a new image (new ID; album, description and location kept) and
// moves the old one to Procore's recycle bin, and Move with a new name
// does the same with the old image's content: the returned Entry has the
// new ID, and its Path says where it is shown (a duplicate name gets the
// suffix above). The old image stays restorable from the recycle bin.
//
// PhotosStorage deliberately has no storage.ChangeFeed, so the engine
// lists it in full: /images offers no deletion signal (deleted images
// leave listings, and filters[updated_at] shows only live images).
// Webhooks ("Images" delete events) plus the full listing are the
// correct, cheap-enough path.
type PhotosStorage struct {
	c         *Client
	projectID int64
	opts      PhotosOptions

	mu   sync.Mutex
	wake wake.Broadcaster
	urls map[string]cachedURL // image entry ID → URL as last listed
}

// NewProjectPhotos returns project projectID's Photos.
func NewProjectPhotos(c *Client, projectID int64, opts *PhotosOptions) *PhotosStorage {
	o := PhotosOptions{}
	if opts != nil {
		o = *opts
	}
	if o.PerPage <= 0 {
		o.PerPage = 1000
	}
	return &PhotosStorage{c: c, projectID: projectID, opts: o, urls: map[string]cachedURL{}}
}

var (
	_ storage.Storage  = (*PhotosStorage)(nil)
	_ storage.Watcher  = (*PhotosStorage)(nil)
	_ storage.IDStater = (*PhotosStorage)(nil)
)

// ErrAlbumDepth explains why folders cannot nest in Photos.
var ErrAlbumDepth = errors.New("procore photos: albums are one level deep; folders inside albums are not possible")

// PhotoNameRules are the names Photos accepts: Procore does not make image
// file names unique (several photos may share a name), so names compare
// exactly; album names follow the Documents rules.
var PhotoNameRules = func() storage.NameRules {
	r := DocumentNameRules
	r.CaseInsensitive = false
	return r
}()

// Features describes Procore Photos.
func (p *PhotosStorage) Features() storage.Features {
	return storage.Features{Names: PhotoNameRules, MaxDepth: 1, ModTimePrecision: time.Millisecond, RecycleBin: true,
		Upload: storage.UploadConstraints{MinChunk: MinSegmentSize, MaxChunk: 5 << 30}}
}

// AlbumName is how an album's name appears in paths.
func (p *PhotosStorage) AlbumName(name string) string {
	bad := "/"
	if p.opts.ReplaceSpecialChars {
		bad = storage.DefaultInvalidChars
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(bad, r) {
			return '-'
		}
		return r
	}, name)
}

// shownName is an image file name as it appears in paths: "/" (which
// cannot be in a path element) becomes "-".
func shownName(filename string) string {
	return strings.ReplaceAll(filename, "/", "-")
}

// disambiguated is the name shown for an image whose shown name another
// image of its album (with a lower ID) has.
func disambiguated(name string, id int64) string {
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	return strings.TrimSuffix(name, ext) + " (id " + itoa(id) + ")" + ext
}

// imageNames returns the name each image is shown with: images of one
// album are grouped by shown name; the lowest ID keeps it, the others
// get disambiguated names.
func imageNames(images []Image) map[int64]string {
	type key struct {
		cat  int64
		name string
	}
	lowest := map[key]int64{}
	for _, im := range images {
		k := key{im.ImageCategoryID, shownName(im.Filename)}
		if cur, ok := lowest[k]; !ok || im.ID < cur {
			lowest[k] = im.ID
		}
	}
	out := make(map[int64]string, len(images))
	for _, im := range images {
		n := shownName(im.Filename)
		switch {
		case n == "" || n == "." || n == "..":
			n = "image " + itoa(im.ID) // a name no path can hold
		case lowest[key{im.ImageCategoryID, n}] != im.ID:
			n = disambiguated(n, im.ID)
		}
		out[im.ID] = n
	}
	return out
}

func (p *PhotosStorage) rootEntry() storage.Entry {
	return storage.Entry{ID: "photos:" + itoa(p.projectID), IsDir: true}
}

func albumEntry(cat *ImageCategory, name string, rootID string) storage.Entry {
	return storage.Entry{ID: "a" + itoa(cat.ID), ParentID: rootID, Path: name, IsDir: true, ModTime: cat.UpdatedAt.Time,
		Version: cat.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

// imageVersion identifies one image's content (its ID: Procore images
// never change content) and its metadata (updated_at).
func imageVersion(im *Image) string {
	return itoa(im.ID) + "@" + im.UpdatedAt.UTC().Format(time.RFC3339Nano)
}

func imageEntry(im *Image, dir, name, parentID string) storage.Entry {
	e := storage.Entry{ID: "i" + itoa(im.ID), ParentID: parentID, Path: joinPath(dir, name), Size: im.Size,
		ModTime: im.UpdatedAt.Time, Version: imageVersion(im)}
	if im.Uploader != nil {
		e.CreatedBy, e.ModifiedBy = im.Uploader.Name, im.Uploader.Name
	}
	return e
}

// entry returns im's entry and remembers its download URL, so that Open
// needs no API call while the entry's version is the one seen here.
func (p *PhotosStorage) entry(im *Image, dir, name, parentID string) storage.Entry {
	e := imageEntry(im, dir, name, parentID)
	if im.URL != "" && e.Version != "" {
		p.mu.Lock()
		p.urls[e.ID] = cachedURL{version: e.Version, url: im.URL}
		p.mu.Unlock()
	}
	return e
}

// albums returns the albums by ID.
func (p *PhotosStorage) albums(ctx context.Context) (map[int64]ImageCategory, error) {
	out := map[int64]ImageCategory{}
	for cat, err := range p.c.ImageCategories.All(ctx, p.projectID, p.opts.PerPage) {
		if err != nil {
			return nil, err
		}
		out[cat.ID] = cat
	}
	return out, nil
}

// images lists the live images of album catID (0: those in no album), or
// of every album when all is true.
func (p *PhotosStorage) images(ctx context.Context, catID int64, all bool) ([]Image, error) {
	var out []Image
	seen := map[int64]bool{}
	opts := &ImageListOptions{ListOptions: ListOptions{PerPage: p.opts.PerPage}}
	if !all {
		opts.CategoryID = catID
	}
	for im, err := range p.c.Images.All(ctx, p.projectID, opts) {
		if err != nil {
			return nil, err
		}
		if (!all && im.ImageCategoryID != catID) || seen[im.ID] {
			continue // a page shifted under us may repeat an image
		}
		seen[im.ID] = true
		out = append(out, im)
	}
	return out, nil
}

// place returns an image's album path and parent ID ("", root when it is
// in no album or in one not listed).
func (p *PhotosStorage) place(im *Image, albums map[int64]ImageCategory) (dir, parent string) {
	if cat, ok := albums[im.ImageCategoryID]; ok && im.ImageCategoryID != 0 {
		return p.AlbumName(cat.Name), "a" + itoa(cat.ID)
	}
	return "", p.rootEntry().ID
}

// List lists albums, then every image.
func (p *PhotosStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		albums, err := p.albums(ctx)
		if err != nil {
			yield(storage.Entry{}, mapErr("list", "", err))
			return
		}
		root := p.rootEntry()
		for _, cat := range albums {
			if !yield(albumEntry(&cat, p.AlbumName(cat.Name), root.ID), nil) {
				return
			}
		}
		images, err := p.images(ctx, 0, true)
		if err != nil {
			yield(storage.Entry{}, mapErr("list", "", err))
			return
		}
		for i := range images {
			if _, ok := albums[images[i].ImageCategoryID]; !ok {
				images[i].ImageCategoryID = 0 // shown at the root
			}
		}
		names := imageNames(images)
		for i := range images {
			im := &images[i]
			dir, parent := p.place(im, albums)
			if !yield(p.entry(im, dir, names[im.ID], parent), nil) {
				return
			}
		}
	}
}

// findAlbum returns the album shown as name.
func (p *PhotosStorage) findAlbum(ctx context.Context, name string) (*ImageCategory, error) {
	albums, err := p.albums(ctx)
	if err != nil {
		return nil, err
	}
	for _, cat := range albums {
		if sameName(p.AlbumName(cat.Name), name) {
			return &cat, nil
		}
	}
	return nil, nil
}

// findImage returns the image shown as name in album catID (0: root),
// with the album's images and the names they are shown with.
func (p *PhotosStorage) findImage(ctx context.Context, catID int64, name string) (*Image, []Image, map[int64]string, error) {
	images, err := p.images(ctx, catID, false)
	if err != nil {
		return nil, nil, nil, err
	}
	names := imageNames(images)
	for i := range images {
		if names[images[i].ID] == name {
			return &images[i], images, names, nil
		}
	}
	return nil, images, names, nil
}

// Stat looks a path up: "", an album, or an image.
func (p *PhotosStorage) Stat(ctx context.Context, path string) (storage.Entry, error) {
	path = strings.Trim(path, "/")
	root := p.rootEntry()
	if path == "" {
		// Reading the album list checks access to the project's Photos.
		if _, _, err := p.c.ImageCategories.List(ctx, p.projectID, &ListOptions{PerPage: 1}); err != nil {
			return storage.Entry{}, mapErr("stat", path, err)
		}
		return root, nil
	}
	segs := strings.Split(path, "/")
	if len(segs) > 2 {
		return storage.Entry{}, storage.NewError("stat", path, storage.ErrNotFound, nil)
	}
	cat, err := p.findAlbum(ctx, segs[0])
	if err != nil {
		return storage.Entry{}, mapErr("stat", path, err)
	}
	if len(segs) == 1 && cat != nil {
		return albumEntry(cat, p.AlbumName(cat.Name), root.ID), nil
	}
	var catID int64
	dir, parent, name := "", root.ID, segs[0]
	if len(segs) == 2 {
		if cat == nil {
			return storage.Entry{}, storage.NewError("stat", path, storage.ErrNotFound, nil)
		}
		catID, dir, parent, name = cat.ID, p.AlbumName(cat.Name), "a"+itoa(cat.ID), segs[1]
	}
	im, _, names, err := p.findImage(ctx, catID, name)
	if err != nil {
		return storage.Entry{}, mapErr("stat", path, err)
	}
	if im == nil {
		return storage.Entry{}, storage.NewError("stat", path, storage.ErrNotFound, nil)
	}
	return p.entry(im, dir, names[im.ID], parent), nil
}

// StatID returns the album ("a<id>") or image ("i<id>") as it is now. A
// deleted image (also one in Procore's recycle bin) gives ErrNotFound.
func (p *PhotosStorage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	root := p.rootEntry()
	if id == root.ID {
		return p.Stat(ctx, "")
	}
	if strings.HasPrefix(id, "a") {
		aid, err := parsePhotoID("stat", storage.Entry{ID: id, IsDir: true}, 'a')
		if err != nil {
			return storage.Entry{}, err
		}
		albums, err := p.albums(ctx)
		if err != nil {
			return storage.Entry{}, mapErr("stat", "", err)
		}
		cat, ok := albums[aid]
		if !ok {
			return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, nil)
		}
		return albumEntry(&cat, p.AlbumName(cat.Name), root.ID), nil
	}
	iid, err := parsePhotoID("stat", storage.Entry{ID: id}, 'i')
	if err != nil {
		return storage.Entry{}, err
	}
	im, _, err := p.c.Images.Get(ctx, p.projectID, iid)
	if err != nil {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	albums, err := p.albums(ctx)
	if err != nil {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	catID := im.ImageCategoryID
	if _, ok := albums[catID]; !ok {
		catID = 0
	}
	images, err := p.images(ctx, catID, false)
	if err != nil {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	if !containsImage(images, im.ID) {
		images = append(images, *im) // listed a moment ago without it
	}
	im.ImageCategoryID = catID
	dir, parent := p.place(im, albums)
	return p.entry(im, dir, imageNames(images)[im.ID], parent), nil
}

func containsImage(images []Image, id int64) bool {
	for _, im := range images {
		if im.ID == id {
			return true
		}
	}
	return false
}

// parsePhotoID splits "a123" / "i123" IDs.
func parsePhotoID(op string, e storage.Entry, kind byte) (int64, error) {
	if len(e.ID) < 2 || e.ID[0] != kind {
		return 0, storage.NewError(op, e.Path, storage.ErrNotFound, errors.New("not a photos id of the right kind"))
	}
	id, err := strconv.ParseInt(e.ID[1:], 10, 64)
	if err != nil || id <= 0 {
		return 0, storage.NewError(op, e.Path, storage.ErrNotFound, fmt.Errorf("bad photos id %q", e.ID))
	}
	return id, nil
}

// albumOf returns the album ID of a parent entry (0 for the root).
func (p *PhotosStorage) albumOf(op string, parent storage.Entry, p2 string) (int64, error) {
	if !parent.IsDir {
		return 0, storage.NewError(op, p2, storage.ErrNotDir, nil)
	}
	if parent.ID == p.rootEntry().ID {
		return 0, nil
	}
	return parsePhotoID(op, parent, 'a')
}

// Open downloads an image. When the entry's version is the one last
// listed (or returned by Stat, Put or Move), the listed URL is used: no
// API call, one call on the Procore file host, which redirects to the
// storage host. Otherwise, or when the listed URL fails (it may have
// expired), the image is read first (one API call). An image deleted
// since it was listed may still open from its listed URL.
func (p *PhotosStorage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	id, err := parsePhotoID("open", e, 'i')
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	cached, ok := p.urls[e.ID]
	p.mu.Unlock()
	if ok && cached.version == e.Version && e.Version != "" {
		if e.Size == 0 {
			return io.NopCloser(strings.NewReader("")), nil
		}
		rc, err := p.c.Download(ctx, cached.url, 0)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p.mu.Lock()
		delete(p.urls, e.ID)
		p.mu.Unlock()
	}
	im, _, err := p.c.Images.Get(ctx, p.projectID, id)
	if err != nil {
		return nil, mapErr("open", e.Path, err)
	}
	if im.Size == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	rc, err := p.c.Download(ctx, im.URL, 0)
	if err != nil {
		return nil, mapErr("open", e.Path, err)
	}
	return rc, nil
}

// exactReader passes on at most size bytes of r and records whether r
// yielded exactly size bytes and then ended cleanly (check).
type exactReader struct {
	r    io.Reader
	left int64
	err  error // the source's own failure, if any
}

func (x *exactReader) Read(b []byte) (int, error) {
	if x.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > x.left {
		b = b[:x.left]
	}
	n, err := x.r.Read(b)
	x.left -= int64(n)
	if err == io.EOF && x.left > 0 {
		x.err = ErrShortBody
		return n, ErrShortBody
	}
	if err != nil && err != io.EOF {
		x.err = err
	}
	if err == io.EOF {
		err = nil
		if n == 0 {
			err = io.EOF
		}
	}
	return n, err
}

// check reports an error unless all size bytes were read and r ends
// there (no more data, no error).
func (x *exactReader) check() error {
	if x.left > 0 {
		return ErrShortBody
	}
	var one [1]byte
	for {
		n, err := x.r.Read(one[:])
		if n > 0 {
			return fmt.Errorf("%w: the source has more bytes than declared", ErrShortBody)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("procore photos: reading the source after its declared size: %w", err)
		}
	}
}

// upload sends r (exactly size bytes, or all of r when size < 0) and
// creates an image from it. Nothing is created unless r yielded exactly
// size bytes and then ended without error.
func (p *PhotosStorage) upload(ctx context.Context, op, path string, r io.Reader, size int64, ic ImageCreate) (*Image, error) {
	var x *exactReader
	if size >= 0 {
		x = &exactReader{r: r, left: size}
		r = x
	}
	uuid, err := p.c.Uploads.Send(ctx, ProjectScope(p.projectID), ic.Name, "", r, size)
	if err == nil && x != nil {
		err = x.check()
	}
	if err != nil {
		if errors.Is(err, ErrShortBody) || (x != nil && x.err != nil) {
			return nil, storage.NewError(op, path, nil, err)
		}
		return nil, mapErr(op, path, err)
	}
	ic.UploadUUID = uuid
	im, _, err := p.c.Images.CreateImage(ctx, p.projectID, ic)
	if err != nil {
		return nil, p.albumErr(ctx, op, path, ic.CategoryID, err)
	}
	return im, nil
}

// locationID returns im's location ID (0: none).
func locationID(im *Image) int64 {
	if im == nil || im.Location == nil {
		return 0
	}
	return im.Location.ID
}

// Put uploads a photo into an album (or the root). Over an existing image
// (the one shown with that name) it creates a new image with the old
// one's file name, description and location and moves the old one to the
// recycle bin (Procore images have no versions), unless NoOverwrite. The
// returned entry has the new ID; its Path carries a disambiguating suffix
// when another image of the album is shown with the same name.
func (p *PhotosStorage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	path := joinPath(parent.Path, name)
	if err := DocumentNameRules.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("put", path, storage.ErrInvalidName, err)
	}
	catID, err := p.albumOf("put", parent, path)
	if err != nil {
		return storage.Entry{}, err
	}
	if catID == 0 {
		if cat, err := p.findAlbum(ctx, name); err != nil {
			return storage.Entry{}, mapErr("put", path, err)
		} else if cat != nil {
			return storage.Entry{}, storage.NewError("put", path, storage.ErrIsDir, nil)
		}
	}
	old, siblings, _, err := p.findImage(ctx, catID, name)
	if err != nil {
		return storage.Entry{}, mapErr("put", path, err)
	}
	if old != nil && opt.NoOverwrite {
		return storage.Entry{}, storage.NewError("put", path, storage.ErrAlreadyExists, nil)
	}
	if opt.ExpectedVersion != "" && (old == nil || imageVersion(old) != opt.ExpectedVersion) {
		return storage.Entry{}, storage.NewError("put", path, storage.ErrPreconditionFailed, nil)
	}
	ic := ImageCreate{Name: name, CategoryID: catID}
	if old != nil {
		ic.Name, ic.Description, ic.LocationID = old.Filename, old.Description, locationID(old)
	}
	im, err := p.upload(ctx, "put", path, r, size, ic)
	if err != nil {
		return storage.Entry{}, err
	}
	if old != nil {
		if _, err := p.c.Images.Delete(ctx, p.projectID, old.ID, false); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.Entry{}, mapErr("put", path, err)
		}
		p.forget("i" + itoa(old.ID))
	}
	e := p.placed(im, siblings, old, parent)
	if old != nil {
		p.replaced("i"+itoa(old.ID), e, "new content: Procore images cannot be updated in place")
	}
	return e, nil
}

// replaced reports a replacement to OnReplace.
func (p *PhotosStorage) replaced(oldID string, e storage.Entry, reason string) {
	if p.opts.OnReplace != nil {
		p.opts.OnReplace(oldID, e, reason)
	}
}

// placed returns the entry of new image im in album parent, whose other
// images were siblings (less replaced, which is now in the recycle bin).
func (p *PhotosStorage) placed(im *Image, siblings []Image, replaced *Image, parent storage.Entry) storage.Entry {
	all := make([]Image, 0, len(siblings)+1)
	for _, s := range siblings {
		if (replaced == nil || s.ID != replaced.ID) && s.ID != im.ID {
			all = append(all, s)
		}
	}
	c := *im
	c.ImageCategoryID = 0
	if parent.ID != p.rootEntry().ID {
		c.ImageCategoryID, _ = strconv.ParseInt(strings.TrimPrefix(parent.ID, "a"), 10, 64)
	}
	for i := range all {
		all[i].ImageCategoryID = c.ImageCategoryID
	}
	all = append(all, c)
	return p.entry(im, parent.Path, imageNames(all)[im.ID], parent.ID)
}

func (p *PhotosStorage) forget(id string) {
	p.mu.Lock()
	delete(p.urls, id)
	p.mu.Unlock()
}

// MakeDir creates an album at the root; deeper folders are refused with
// ErrAlbumDepth (matching storage.ErrUnsupported).
func (p *PhotosStorage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	path := joinPath(parent.Path, name)
	if parent.ID != p.rootEntry().ID {
		return storage.Entry{}, storage.NewError("mkdir", path, storage.ErrUnsupported, ErrAlbumDepth)
	}
	if err := DocumentNameRules.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("mkdir", path, storage.ErrInvalidName, err)
	}
	if cat, err := p.findAlbum(ctx, name); err != nil {
		return storage.Entry{}, mapErr("mkdir", path, err)
	} else if cat != nil {
		return albumEntry(cat, p.AlbumName(cat.Name), parent.ID), storage.NewError("mkdir", path, storage.ErrAlreadyExists, nil)
	}
	cat, _, err := p.c.ImageCategories.Create(ctx, p.projectID, name)
	if err != nil {
		return storage.Entry{}, mapErr("mkdir", path, err)
	}
	return albumEntry(cat, p.AlbumName(cat.Name), parent.ID), nil
}

// Move renames an album, or moves an image to another album. An image
// keeping its name is moved in place (PATCH image_category_id, same ID).
// An image given a new name is replayed the only way Procore allows: a
// new image with the new name and the old one's content, description
// and location in the target album, and the old image to the recycle
// bin; the returned entry has the new ID. An image another image of the
// target album is already shown as newName gives ErrAlreadyExists.
func (p *PhotosStorage) Move(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	path := joinPath(newParent.Path, newName)
	if e.IsDir {
		id, err := parsePhotoID("move", e, 'a')
		if err != nil {
			return storage.Entry{}, err
		}
		if newParent.ID != p.rootEntry().ID {
			return storage.Entry{}, storage.NewError("move", path, storage.ErrUnsupported, ErrAlbumDepth)
		}
		if err := DocumentNameRules.Validate(newName); err != nil {
			return storage.Entry{}, storage.NewError("move", path, storage.ErrInvalidName, err)
		}
		if other, err := p.findAlbum(ctx, newName); err != nil {
			return storage.Entry{}, mapErr("move", path, err)
		} else if other != nil && other.ID != id {
			return storage.Entry{}, storage.NewError("move", path, storage.ErrAlreadyExists, nil)
		}
		cat, _, err := p.c.ImageCategories.Rename(ctx, p.projectID, id, newName)
		if err != nil {
			return storage.Entry{}, mapErr("move", path, err)
		}
		return albumEntry(cat, p.AlbumName(cat.Name), newParent.ID), nil
	}
	id, err := parsePhotoID("move", e, 'i')
	if err != nil {
		return storage.Entry{}, err
	}
	catID, err := p.albumOf("move", newParent, path)
	if err != nil {
		return storage.Entry{}, err
	}
	if newName == e.Name() {
		im, _, err := p.c.Images.Move(ctx, p.projectID, id, catID)
		if err != nil {
			return storage.Entry{}, p.albumErr(ctx, "move", path, catID, err)
		}
		_, siblings, _, err := p.findImage(ctx, catID, "")
		if err != nil {
			return storage.Entry{}, mapErr("move", path, err)
		}
		return p.placed(im, siblings, nil, newParent), nil
	}
	if err := DocumentNameRules.Validate(newName); err != nil {
		return storage.Entry{}, storage.NewError("move", path, storage.ErrInvalidName, err)
	}
	old, _, err := p.c.Images.Get(ctx, p.projectID, id)
	if err != nil {
		return storage.Entry{}, mapErr("move", e.Path, err)
	}
	if e.Version != "" && imageVersion(old) != e.Version {
		return storage.Entry{}, storage.NewError("move", e.Path, storage.ErrPreconditionFailed, nil)
	}
	taken, siblings, _, err := p.findImage(ctx, catID, newName)
	if err != nil {
		return storage.Entry{}, mapErr("move", path, err)
	}
	if taken != nil && taken.ID != id {
		return storage.Entry{}, storage.NewError("move", path, storage.ErrAlreadyExists, nil)
	}
	var body io.ReadCloser = io.NopCloser(strings.NewReader(""))
	if old.Size > 0 {
		if body, err = p.c.Download(ctx, old.URL, 0); err != nil {
			return storage.Entry{}, mapErr("move", e.Path, err)
		}
	}
	defer body.Close()
	im, err := p.upload(ctx, "move", path, body, old.Size,
		ImageCreate{Name: newName, CategoryID: catID, Description: old.Description, LocationID: locationID(old)})
	if err != nil {
		return storage.Entry{}, err
	}
	if _, err := p.c.Images.Delete(ctx, p.projectID, old.ID, false); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, mapErr("move", e.Path, err)
	}
	p.forget(e.ID)
	ne := p.placed(im, siblings, old, newParent)
	p.replaced(e.ID, ne, "renamed: Procore images cannot be renamed, the old one is in the recycle bin")
	return ne, nil
}

// albumErr maps a failed image write: a 422 because the album is gone
// becomes ErrNotFound.
func (p *PhotosStorage) albumErr(ctx context.Context, op, path string, catID int64, err error) error {
	var er *ErrorResponse
	if catID != 0 && errors.As(err, &er) && er.StatusCode == http.StatusUnprocessableEntity {
		albums, aerr := p.albums(ctx)
		if _, ok := albums[catID]; aerr == nil && !ok {
			return storage.NewError(op, path, storage.ErrNotFound, err)
		}
	}
	return mapErr(op, path, err)
}

// Delete removes an album (with its photos) or an image (soft delete: to
// Procore's recycle bin).
func (p *PhotosStorage) Delete(ctx context.Context, e storage.Entry) error {
	if e.IsDir {
		id, err := parsePhotoID("delete", e, 'a')
		if err != nil {
			return err
		}
		_, err = p.c.ImageCategories.Delete(ctx, p.projectID, id)
		return mapErr("delete", e.Path, err)
	}
	id, err := parsePhotoID("delete", e, 'i')
	if err != nil {
		return err
	}
	p.forget(e.ID)
	_, err = p.c.Images.Delete(ctx, p.projectID, id, false)
	return mapErr("delete", e.Path, err)
}

// Watch returns a channel signalled by Notify.
func (p *PhotosStorage) Watch(ctx context.Context) (<-chan struct{}, error) {
	return p.wake.Watch(ctx), nil
}

// Notify wakes every watcher.
func (p *PhotosStorage) Notify() { p.wake.Notify() }

// ProjectID returns the project whose Photos these are.
func (p *PhotosStorage) ProjectID() int64 { return p.projectID }
