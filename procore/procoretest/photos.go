package procoretest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Photos: image categories (albums) and images.

type category struct {
	ID, ProjectID int64
	Name          string
	Private       bool
	Position      int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type image struct {
	ID, ProjectID, CategoryID int64
	Filename, Description     string
	Key                       string
	Size                      int64
	CreatedAt, UpdatedAt      time.Time
	DeletedAt                 time.Time
	UploaderID                int64
	LocationID                int64  // 0: none
	LogDate                   string // the Daily Log day it is filed on ("": none)
}

type photoState struct {
	categories map[int64]*category
	images     map[int64]*image
	createForm string // "", PhotoCreateNested or PhotoCreateTopLevel
}

// The bodies POST /rest/v1.0/images accepts: Procore's current attachments
// guide nests the upload ({"upload": {"uuid", "image_name"}}), the
// operation description puts upload_uuid and image_name at the top level.
const (
	PhotoCreateNested   = "nested"
	PhotoCreateTopLevel = "top-level"
)

// SetPhotoCreateForm makes image creation accept only one body form
// (PhotoCreateNested or PhotoCreateTopLevel; "" accepts both, the
// default): the other gets 422, as a server that requires one would.
func (s *Server) SetPhotoCreateForm(form string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.photos().createForm = form
}

// photos returns the photo state. Caller holds s.mu.
func (s *Server) photos() *photoState {
	if s.ph == nil {
		s.ph = &photoState{categories: map[int64]*category{}, images: map[int64]*image{}}
	}
	return s.ph
}

func (s *Server) photoRoutes(r func(pattern, op string, mode authMode, h handler)) {
	r("GET /rest/v1.0/image_categories", "RestV10ImageCategoriesGet", authCompany, (*call).listCategories)
	r("POST /rest/v1.0/image_categories", "RestV10ImageCategoriesPost", authCompany, (*call).createCategory)
	r("GET /rest/v1.0/image_categories/{id}", "RestV10ImageCategoriesIdGet", authCompany, (*call).getCategory)
	r("PATCH /rest/v1.0/image_categories/{id}", "RestV10ImageCategoriesIdPatch", authCompany, (*call).patchCategory)
	r("DELETE /rest/v1.0/image_categories/{id}", "RestV10ImageCategoriesIdDelete", authCompany, (*call).deleteCategory)
	r("GET /rest/v1.0/images", "RestV10ImagesGet", authCompany, (*call).listImages)
	r("POST /rest/v1.0/images", "RestV10ImagesPost", authCompany, (*call).createImage)
	r("GET /rest/v1.0/images/{id}", "RestV10ImagesIdGet", authCompany, (*call).getImage)
	r("PATCH /rest/v1.0/images/{id}", "RestV10ImagesIdPatch", authCompany, (*call).patchImage)
	r("DELETE /rest/v1.0/images/{id}", "RestV10ImagesIdDelete", authCompany, (*call).deleteImage)
}

func (s *Server) categoryJSON(cat *category, full bool) map[string]any {
	count := 0
	for _, im := range s.photos().images {
		if im.CategoryID == cat.ID && im.DeletedAt.IsZero() {
			count++
		}
	}
	m := map[string]any{"id": cat.ID, "name": cat.Name, "position": cat.Position, "created_at": ts(cat.CreatedAt),
		"private": cat.Private, "count": count}
	if full {
		m["updated_at"] = ts(cat.UpdatedAt)
		m["cover_photo"] = nil
		m["links"] = map[string]any{}
	} else {
		m["album_cover_id"] = nil
	}
	return m
}

func (s *Server) imageJSON(sc *docScope, im *image) map[string]any {
	var catName any
	var catID any
	if cat := s.photos().categories[im.CategoryID]; cat != nil {
		catName, catID = cat.Name, cat.ID
	}
	u := s.downloadURL(sc, &version{Key: im.Key})
	self := s.URL + "/rest/v1.0/images/" + itoa(im.ID) + "?project_id=" + itoa(im.ProjectID)
	var loc any
	if im.LocationID != 0 {
		loc = map[string]any{"id": im.LocationID, "name": "Location " + itoa(im.LocationID), "node_name": "Location " + itoa(im.LocationID),
			"parent_id": nil, "created_at": ts(im.CreatedAt), "updated_at": ts(im.CreatedAt)}
	}
	var header any
	if im.LogDate != "" {
		header = s.dailyLogHeader(im.ProjectID, im.LogDate).ID
	}
	return map[string]any{"id": im.ID, "url": u, "size": im.Size, "filename": im.Filename, "description": im.Description,
		"thumbnail_url": u, "taken_at": nil, "created_at": ts(im.CreatedAt), "updated_at": ts(im.UpdatedAt),
		"location": loc, "image_category_name": catName, "image_category_id": catID, "permanently_deleted": false,
		"private": false, "projection": "regular", "starred": false, "width": nil, "height": nil,
		"image_category_private": false, "origin_id": nil, "daily_log_header_id": header, "daily_log_segment_id": nil,
		"daily_log_segment": nil, "gps_lat": nil, "gps_long": nil, "uploader": s.userJSON(im.UploaderID),
		"links":  map[string]any{"self": self, "update": self, "delete": self, "permanentlyDelete": self + "&permanent=true", "retrieve": self},
		"trades": []any{}, "comments_count": 0}
}

func (c *call) listCategories() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	s := c.s
	s.mu.Lock()
	var list []*category
	for _, cat := range s.photos().categories {
		if cat.ProjectID == sc.projectID {
			list = append(list, cat)
		}
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Position < list[j].Position })
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	s.mu.Lock()
	out := []any{}
	for _, cat := range list[lo:hi] {
		out = append(out, s.categoryJSON(cat, true))
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// lookupCategory resolves {id}. Caller holds s.mu.
func (c *call) lookupCategory(sc *docScope) *category {
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	cat := c.s.photos().categories[id]
	if cat == nil || cat.ProjectID != sc.projectID {
		writeError(c.w, http.StatusNotFound, "not_found", "Image category not found")
		return nil
	}
	return cat
}

func (c *call) createCategory() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	body := obj(f, "image_category")
	name, _ := str(body, "name")
	if strings.TrimSpace(name) == "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{"can't be blank"}}})
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	cat := s.addCategory(sc, name, c.token.UserID)
	cat.Private = boolean(body, "private")
	writeJSON(c.w, http.StatusCreated, s.categoryJSON(cat, false))
}

// addCategory creates an album. Caller holds s.mu.
func (s *Server) addCategory(sc *docScope, name string, userID int64) *category {
	now := s.now()
	ph := s.photos()
	cat := &category{ID: s.newID(), ProjectID: sc.projectID, Name: name, Position: len(ph.categories) + 1, CreatedAt: now, UpdatedAt: now}
	ph.categories[cat.ID] = cat
	s.emit(sc.companyID, sc.projectID, "Image Categories", "create", cat.ID, userID)
	return cat
}

func (c *call) getCategory() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if cat := c.lookupCategory(sc); cat != nil {
		writeJSON(c.w, http.StatusOK, c.s.categoryJSON(cat, false))
	}
}

func (c *call) patchCategory() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	body := obj(f, "image_category")
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	cat := c.lookupCategory(sc)
	if cat == nil {
		return
	}
	if name, ok := str(body, "name"); ok {
		if strings.TrimSpace(name) == "" {
			writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{"can't be blank"}}})
			return
		}
		cat.Name = name
	}
	if _, ok := body["private"]; ok {
		cat.Private = boolean(body, "private")
	}
	cat.UpdatedAt = s.now()
	s.emit(sc.companyID, sc.projectID, "Image Categories", "update", cat.ID, c.token.UserID)
	writeJSON(c.w, http.StatusOK, s.categoryJSON(cat, false))
}

// deleteCategory removes an album; its images are deleted with it (as in
// the web UI, which asks before deleting an album with photos).
func (c *call) deleteCategory() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	cat := c.lookupCategory(sc)
	if cat == nil {
		return
	}
	now := s.now()
	for _, im := range s.photos().images {
		if im.CategoryID == cat.ID && im.DeletedAt.IsZero() {
			im.DeletedAt, im.UpdatedAt = now, now
		}
	}
	delete(s.photos().categories, cat.ID)
	s.emit(sc.companyID, sc.projectID, "Image Categories", "delete", cat.ID, c.token.UserID)
	writeJSON(c.w, http.StatusOK, nil)
}

func (c *call) listImages() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	q := c.r.URL.Query()
	var catID int64
	if v := q.Get("image_category_id"); v != "" {
		var err error
		if catID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid image_category_id")
			return
		}
	}
	var from, to time.Time
	if v := q.Get("filters[updated_at]"); v != "" {
		var err error
		if from, to, err = parseRange(v); err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid filters[updated_at]")
			return
		}
	}
	logFrom, logTo := "", ""
	if v := q.Get("filters[log_date]"); v != "" {
		a, b, _ := strings.Cut(v, "...")
		if b == "" {
			b = a
		}
		if _, err := time.Parse("2006-01-02", a); err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid filters[log_date]")
			return
		}
		if _, err := time.Parse("2006-01-02", b); err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid filters[log_date]")
			return
		}
		logFrom, logTo = a, b
	}
	s := c.s
	s.mu.Lock()
	var list []*image
	for _, im := range s.photos().images {
		if logFrom != "" && (im.LogDate == "" || im.LogDate < logFrom || im.LogDate > logTo) {
			continue
		}
		if im.ProjectID == sc.projectID && im.DeletedAt.IsZero() && (catID == 0 || im.CategoryID == catID) && inRange(im.UpdatedAt, from, to) {
			list = append(list, im)
		}
	}
	s.mu.Unlock()
	switch strings.TrimPrefix(q.Get("sort"), "-") {
	case "created_at", "most_recent":
		sort.Slice(list, func(i, j int) bool {
			return list[i].CreatedAt.Before(list[j].CreatedAt) || (list[i].CreatedAt.Equal(list[j].CreatedAt) && list[i].ID < list[j].ID)
		})
	default:
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	if strings.HasPrefix(q.Get("sort"), "-") {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	s.mu.Lock()
	out := []any{}
	for _, im := range list[lo:hi] {
		out = append(out, s.imageJSON(sc, im))
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// lookupImage resolves {id} to a live image. Caller holds s.mu.
func (c *call) lookupImage(sc *docScope) *image {
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	im := c.s.photos().images[id]
	if im == nil || im.ProjectID != sc.projectID || !im.DeletedAt.IsZero() {
		writeError(c.w, http.StatusNotFound, "not_found", "Image not found")
		return nil
	}
	return im
}

// createImage takes the OAS shape (upload_uuid and image_name at the top
// level) and the attachments tutorial's shape (upload{uuid,image_name});
// which one the service requires is unsettled (see SetPhotoCreateForm).
func (c *call) createImage() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	uuid, _ := str(f, "upload_uuid")
	name, _ := str(f, "image_name")
	c.s.mu.Lock()
	form := c.s.photos().createForm
	c.s.mu.Unlock()
	if up := obj(f, "upload"); up != nil && form == PhotoCreateTopLevel || (uuid != "" || name != "") && form == PhotoCreateNested {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"base": []string{"unexpected upload parameters"}}})
		return
	}
	if up := obj(f, "upload"); up != nil {
		if uuid == "" {
			uuid, _ = str(up, "uuid")
		}
		if name == "" {
			name, _ = str(up, "image_name")
		}
	}
	body := obj(f, "image")
	if len(body) == 0 {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"image": []string{"at least one attribute is required"}}})
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var key string
	var size int64
	switch {
	case uuid != "":
		if name == "" {
			writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"image_name": []string{"is required with upload_uuid"}}})
			return
		}
		u, ok := c.takeUpload(sc, uuid)
		if !ok {
			return
		}
		key, size = u.key, int64(len(s.blobs[u.key]))
	default:
		data, present := str(body, "data")
		if !present {
			writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"data": []string{"can't be blank"}}})
			return
		}
		key = "companies/" + itoa(sc.companyID) + "/" + itoa(s.newID())
		s.blobs[key] = []byte(data)
		size = int64(len(data))
	}
	var catID int64
	if v, ok := num(body, "image_category_id"); ok {
		if cat := s.photos().categories[v]; cat == nil || cat.ProjectID != sc.projectID {
			writeErrors(c.w, http.StatusUnprocessableEntity, "Image category not found", nil)
			return
		}
		catID = v
	}
	logDate, _ := str(body, "log_date")
	if _, err := time.Parse("2006-01-02", logDate); logDate != "" && err != nil {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"log_date": []string{"is invalid"}}})
		return
	}
	desc, _ := str(body, "description")
	im := s.addImage(sc, catID, name, desc, key, size, c.token.UserID)
	if v, ok := num(body, "location_id"); ok {
		im.LocationID = v
	}
	im.LogDate = logDate
	writeJSON(c.w, http.StatusCreated, s.imageJSON(sc, im))
}

// addImage stores an image. Caller holds s.mu.
func (s *Server) addImage(sc *docScope, catID int64, name, desc, key string, size, userID int64) *image {
	now := s.now()
	im := &image{ID: s.newID(), ProjectID: sc.projectID, CategoryID: catID, Filename: name, Description: desc, Key: key,
		Size: size, CreatedAt: now, UpdatedAt: now, UploaderID: userID}
	s.photos().images[im.ID] = im
	s.emit(sc.companyID, sc.projectID, "Images", "create", im.ID, userID)
	return im
}

func (c *call) getImage() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if im := c.lookupImage(sc); im != nil {
		writeJSON(c.w, http.StatusOK, c.s.imageJSON(sc, im))
	}
}

// patchImage changes description and album (image_category_id). Procore's
// image PATCH has no file name field: images cannot be renamed.
func (c *call) patchImage() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	body := obj(f, "image")
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	im := c.lookupImage(sc)
	if im == nil {
		return
	}
	if raw, present := body["image_category_id"]; present && raw == nil {
		im.CategoryID = 0 // null takes the image out of its album (unconfirmed against a live tenant)
	} else if v, ok := num(body, "image_category_id"); ok {
		if cat := s.photos().categories[v]; cat == nil || cat.ProjectID != sc.projectID {
			writeErrors(c.w, http.StatusUnprocessableEntity, "Image category not found", nil)
			return
		}
		im.CategoryID = v
	}
	if d, ok := str(body, "description"); ok {
		im.Description = d
	}
	if v, ok := num(body, "location_id"); ok {
		im.LocationID = v
	}
	im.UpdatedAt = s.now()
	s.emit(sc.companyID, sc.projectID, "Images", "update", im.ID, c.token.UserID)
	writeJSON(c.w, http.StatusOK, s.imageJSON(sc, im))
}

// deleteImage soft-deletes an image (permanently with permanent=true).
func (c *call) deleteImage() {
	sc := c.projectScope()
	if sc == nil {
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	im := c.lookupImage(sc)
	if im == nil {
		return
	}
	now := s.now()
	im.DeletedAt, im.UpdatedAt = now, now
	if c.r.URL.Query().Get("permanent") == "true" {
		delete(s.photos().images, im.ID)
	}
	s.emit(sc.companyID, sc.projectID, "Images", "delete", im.ID, c.token.UserID)
	writeJSON(c.w, http.StatusOK, nil)
}

// UIAddPhoto adds a photo to project projectID's album (created when
// missing; "" for no album), as a person uploading in the web UI would.
// It returns the image ID.
func (s *Server) UIAddPhoto(projectID int64, album, filename string, content []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scopes[projectScopeKey(projectID)]
	if sc == nil {
		return 0, fmt.Errorf("procoretest: unknown project %d", projectID)
	}
	var catID int64
	if album != "" {
		for _, cat := range s.photos().categories {
			if cat.ProjectID == projectID && cat.Name == album {
				catID = cat.ID
			}
		}
		if catID == 0 {
			catID = s.addCategory(sc, album, s.UserID).ID
		}
	}
	key := "companies/" + itoa(sc.companyID) + "/" + itoa(s.newID())
	s.blobs[key] = append([]byte(nil), content...)
	return s.addImage(sc, catID, filename, "", key, int64(len(content)), s.UserID).ID, nil
}

// UIPhotos lists project projectID's live photos as "album/filename"
// (filename alone when not in an album), sorted.
func (s *Server) UIPhotos(projectID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, im := range s.photos().images {
		if im.ProjectID != projectID || !im.DeletedAt.IsZero() {
			continue
		}
		if cat := s.photos().categories[im.CategoryID]; cat != nil {
			out = append(out, cat.Name+"/"+im.Filename)
		} else {
			out = append(out, im.Filename)
		}
	}
	sort.Strings(out)
	return out
}

// UISetPhotoDetails sets an image's description and location, as a
// person would in the web UI.
func (s *Server) UISetPhotoDetails(imageID int64, description string, locationID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	im := s.photos().images[imageID]
	if im == nil || !im.DeletedAt.IsZero() {
		return fmt.Errorf("procoretest: no live image %d", imageID)
	}
	im.Description, im.LocationID, im.UpdatedAt = description, locationID, s.now()
	return nil
}

// UIPhoto describes a live or deleted image for tests.
type UIPhoto struct {
	ID          int64
	Album       string
	Filename    string
	Description string
	LocationID  int64
	Deleted     bool // in the recycle bin
	Content     []byte
}

// UIPhotoList returns every image of project projectID, live and in the
// recycle bin, by ID.
func (s *Server) UIPhotoList(projectID int64) []UIPhoto {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UIPhoto
	for _, im := range s.photos().images {
		if im.ProjectID != projectID {
			continue
		}
		p := UIPhoto{ID: im.ID, Filename: im.Filename, Description: im.Description, LocationID: im.LocationID,
			Deleted: !im.DeletedAt.IsZero(), Content: append([]byte(nil), s.blobs[im.Key]...)}
		if cat := s.photos().categories[im.CategoryID]; cat != nil {
			p.Album = cat.Name
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
