package procoretest

import (
	"cmp"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// invalidNameChars are the characters Procore Documents does not accept in
// names: the ones that Procore's sync integrations replace, which Procore
// itself already sanitises.
const invalidNameChars = `#%*:<>?/\|~"`

// docScope is one Documents tool: a project's or a company's.
type docScope struct {
	key                  string
	companyID, projectID int64
	root, bin            *node
	order                []*node // every node but the root, in creation (= id) order
}

func projectScopeKey(id int64) string { return "p" + itoa(id) }
func companyScopeKey(id int64) string { return "c" + itoa(id) }

type node struct {
	ID, ParentID int64
	Name         string
	IsDir        bool
	IsRecycleBin bool
	Deleted      bool // in the recycle bin (itself or through an ancestor)
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CreatedBy    int64
	Description  string
	Versions     []*version // oldest first
	scope        *docScope
	kids         map[int64]*node
}

type version struct {
	ID, ProstoreID int64
	Number         int
	Size           int64
	Key            string // blob key on the storage host
	Notes          string
	CreatedAt      time.Time
	CreatedBy      int64
	FileID         int64
}

// newScope creates a Documents tool with its root folder and recycle bin.
// Caller holds s.mu (or runs before serving).
func (s *Server) newScope(key string, companyID, projectID int64) {
	sc := &docScope{key: key, companyID: companyID, projectID: projectID}
	now := s.now()
	// The tool's root folder is named after the project (or company) and
	// is listed in the /documents index with parent_id null.
	rootName := ""
	if p := s.projects[projectID]; projectID != 0 && p != nil {
		rootName = p.Name
	} else if c := s.companies[companyID]; c != nil {
		rootName = c.Name
	}
	sc.root = &node{ID: s.newID(), Name: rootName, IsDir: true, CreatedAt: now, UpdatedAt: now, scope: sc, kids: map[int64]*node{}}
	s.nodes[sc.root.ID] = sc.root
	sc.order = append(sc.order, sc.root)
	sc.bin = &node{ID: s.newID(), ParentID: sc.root.ID, Name: "Recycle Bin", IsDir: true, IsRecycleBin: true,
		CreatedAt: now, UpdatedAt: now, scope: sc, kids: map[int64]*node{}}
	s.nodes[sc.bin.ID] = sc.bin
	sc.root.kids[sc.bin.ID] = sc.bin
	sc.order = append(sc.order, sc.bin)
	s.scopes[key] = sc
}

func (s *Server) documentRoutes(r func(pattern, op string, mode authMode, h handler)) {
	for _, lvl := range []struct {
		prefix, opPrefix string
		scope            func(c *call) *docScope
	}{
		{"/rest/v1.0", "RestV10", (*call).projectScope},
		{"/rest/v1.0/companies/{company_id}", "RestV10CompaniesCompanyId", (*call).companyScope},
	} {
		scope := lvl.scope
		with := func(h func(c *call, sc *docScope)) handler {
			return func(c *call) {
				if sc := scope(c); sc != nil {
					h(c, sc)
				}
			}
		}
		p, o := lvl.prefix, lvl.opPrefix
		r("GET "+p+"/folders", o+"FoldersGet", authCompany, with(func(c *call, sc *docScope) { c.showFolder(sc, sc.root) }))
		r("GET "+p+"/folders/{id}", o+"FoldersIdGet", authCompany, with((*call).getFolder))
		r("POST "+p+"/folders", o+"FoldersPost", authCompany, with((*call).createFolder))
		r("PATCH "+p+"/folders/{id}", o+"FoldersIdPatch", authCompany, with((*call).patchNode))
		r("DELETE "+p+"/folders/{id}", o+"FoldersIdDelete", authCompany, with((*call).deleteNode))
		r("POST "+p+"/files", o+"FilesPost", authCompany, with((*call).createFile))
		r("GET "+p+"/files/{id}", o+"FilesIdGet", authCompany, with((*call).getFile))
		r("PATCH "+p+"/files/{id}", o+"FilesIdPatch", authCompany, with((*call).patchNode))
		r("DELETE "+p+"/files/{id}", o+"FilesIdDelete", authCompany, with((*call).deleteNode))
		r("POST "+p+"/file_versions", o+"FileVersionsPost", authCompany, with((*call).createVersion))
		r("GET "+p+"/file_versions/{id}", o+"FileVersionsIdGet", authCompany, with((*call).getVersion))
	}
	r("GET /rest/v1.0/projects/{project_id}/documents", "RestV10ProjectsProjectIdDocumentsGet", authCompany, func(c *call) {
		id, ok := c.pathInt("project_id")
		if !ok {
			return
		}
		if sc := c.projectScopeByID(id); sc != nil {
			c.documentsIndex(sc)
		}
	})
	r("GET /rest/v1.0/companies/{company_id}/documents", "RestV10CompaniesCompanyIdDocumentsGet", authCompany, func(c *call) {
		if sc := c.companyScope(); sc != nil {
			c.documentsIndex(sc)
		}
	})
}

// projectScope resolves the required project_id query parameter.
func (c *call) projectScope() *docScope {
	id, ok := c.queryInt("project_id")
	if !ok {
		return nil
	}
	return c.projectScopeByID(id)
}

func (c *call) projectScopeByID(id int64) *docScope {
	c.s.mu.Lock()
	p := c.s.projects[id]
	c.s.mu.Unlock()
	if p == nil || p.CompanyID != c.companyID {
		writeError(c.w, http.StatusNotFound, "not_found", "Project not found")
		return nil
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.scopes[projectScopeKey(id)]
}

func (c *call) companyScope() *docScope {
	id, ok := c.pathInt("company_id")
	if !ok {
		return nil
	}
	if id != c.companyID {
		writeError(c.w, http.StatusNotFound, "not_found", "Company not found")
		return nil
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.scopes[companyScopeKey(id)]
}

// lookup finds a node of the scope by the {id} path value. Caller holds
// s.mu. It writes a 404 and returns nil when there is none.
func (c *call) lookup(sc *docScope, dir bool) *node {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	n := c.s.nodes[id]
	if err != nil || n == nil || n.scope != sc || n.IsDir != dir {
		what := "File"
		if dir {
			what = "Folder"
		}
		writeError(c.w, http.StatusNotFound, "not_found", what+" not found")
		return nil
	}
	return n
}

// ---- JSON shapes of folders, files and file versions ----

func (s *Server) userJSON(id int64) any {
	u := s.users[id]
	if u == nil {
		return nil
	}
	return map[string]any{"id": u.ID, "login": u.Login, "name": u.Name}
}

// namePath is the node's name_with_path: its path from the tool root,
// starting with the root's name (the project's or company's).
func (s *Server) namePath(n *node) string {
	var parts []string
	for m := n; m != nil; m = s.nodes[m.ParentID] {
		parts = append(parts, m.Name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

func parentJSON(n *node) any {
	if n.ParentID == 0 {
		return nil
	}
	return n.ParentID
}

// downloadURL is the file-host URL of a version's content, shaped like
// Procore's storage.procore.com URLs: it needs the bearer token and
// redirects to the storage host.
func (s *Server) downloadURL(sc *docScope, v *version) string {
	q := url.Values{"companyId": {itoa(sc.companyID)}, "sig": {s.sign("download", v.Key)}}
	if sc.projectID != 0 {
		q.Set("projectId", itoa(sc.projectID))
	}
	return s.FileURL + "/api/v5/files/us-east-1/pro-core.com/" + v.Key + "?" + q.Encode()
}

func (s *Server) versionJSON(n *node, v *version) map[string]any {
	u := s.downloadURL(n.scope, v)
	return map[string]any{"id": v.ID, "notes": v.Notes, "url": u, "size": v.Size, "created_at": ts(v.CreatedAt),
		"number": v.Number, "created_by": s.userJSON(v.CreatedBy), "file_id": v.FileID,
		"prostore_file": map[string]any{"id": v.ProstoreID, "name": n.Name, "filename": n.Name, "url": u}}
}

// fileTypes are the descriptions Procore gives as file_type for common
// extensions.
var fileTypes = map[string]string{
	"pdf": "Adobe Acrobat PDF", "doc": "Microsoft Word Document", "docx": "Microsoft Word Document",
	"xls": "Microsoft Excel Spreadsheet", "xlsx": "Microsoft Excel Spreadsheet",
	"ppt": "Microsoft PowerPoint Presentation", "pptx": "Microsoft PowerPoint Presentation",
	"txt": "Plain Text", "csv": "Comma Separated Values", "jpg": "JPEG Image", "jpeg": "JPEG Image",
	"png": "PNG Image", "gif": "GIF Image", "tif": "TIFF Image", "tiff": "TIFF Image",
	"dwg": "AutoCAD Drawing", "zip": "ZIP Archive",
}

// fileType is a file's file_type: a description of its kind ("Adobe
// Acrobat PDF"), not its extension.
func fileType(name string) string {
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(name)), ".")
	if d, ok := fileTypes[ext]; ok {
		return d
	}
	if ext == "" {
		return "File"
	}
	return strings.ToUpper(ext) + " File"
}

func (s *Server) fileJSON(n *node, latestOnly bool) map[string]any {
	versions := []any{}
	for i := len(n.Versions) - 1; i >= 0; i-- { // newest first
		versions = append(versions, s.versionJSON(n, n.Versions[i]))
		if latestOnly {
			break
		}
	}
	var size int64
	if len(n.Versions) > 0 {
		size = n.Versions[len(n.Versions)-1].Size
	}
	return map[string]any{"id": n.ID, "name": n.Name, "parent_id": n.ParentID, "size": size,
		"description": n.Description, "updated_at": ts(n.UpdatedAt), "created_at": ts(n.CreatedAt),
		"checked_out_until": nil, "name_with_path": s.namePath(n), "private": false, "is_tracked": false,
		"tracked_folder": nil, "checked_out_by": nil, "file_type": fileType(n.Name), "file_versions": versions,
		"legacy_id": n.ID, "is_deleted": n.Deleted, "custom_fields": map[string]any{}}
}

// visibleKids returns the children shown in a folder listing: in the
// recycle bin, the items deleted directly; elsewhere, the live ones.
func (s *Server) visibleKids(n *node) (folders, files []*node) {
	var kids []*node
	if n.IsRecycleBin {
		for _, m := range s.nodes {
			if m.scope == n.scope && m.Deleted && !s.nodes[m.ParentID].Deleted {
				kids = append(kids, m)
			}
		}
	} else {
		for _, m := range n.kids {
			if !m.Deleted {
				kids = append(kids, m)
			}
		}
	}
	sort.Slice(kids, func(i, j int) bool { return strings.ToLower(kids[i].Name) < strings.ToLower(kids[j].Name) })
	for _, m := range kids {
		if m.IsDir {
			folders = append(folders, m)
		} else {
			files = append(files, m)
		}
	}
	return folders, files
}

// folderJSON renders a folder; depth 1 includes its direct children (with
// empty child arrays, as Procore does for deeper levels).
func (s *Server) folderJSON(n *node, depth int, q url.Values) map[string]any {
	folders, files := s.visibleKids(n)
	fj, fl := []any{}, []any{}
	if depth > 0 {
		latest := q.Get("show_latest_file_version_only") == "true"
		if q.Get("exclude_folders") != "true" {
			for _, f := range folders {
				fj = append(fj, s.folderJSON(f, 0, q))
			}
		}
		if q.Get("exclude_files") != "true" {
			for _, f := range files {
				fl = append(fl, s.fileJSON(f, latest))
			}
		}
	}
	return map[string]any{"id": n.ID, "name": n.Name, "parent_id": parentJSON(n), "private": false,
		"updated_at": ts(n.UpdatedAt), "is_tracked": false, "tracked_folder": nil, "name_with_path": s.namePath(n),
		"folders": fj, "files": fl, "read_only": false, "is_deleted": n.Deleted, "is_recycle_bin": n.IsRecycleBin,
		"has_children": len(folders)+len(files) > 0, "has_children_files": len(files) > 0,
		"has_children_folders": len(folders) > 0, "custom_fields": map[string]any{}}
}

// ---- handlers ----

func (c *call) showFolder(sc *docScope, n *node) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, c.s.folderJSON(n, 1, c.r.URL.Query()))
}

func (c *call) getFolder(sc *docScope) {
	c.s.mu.Lock()
	n := c.lookup(sc, true)
	c.s.mu.Unlock()
	if n != nil {
		c.showFolder(sc, n)
	}
}

func (c *call) getFile(sc *docScope) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if n := c.lookup(sc, false); n != nil {
		writeJSON(c.w, http.StatusOK, c.s.fileJSON(n, c.r.URL.Query().Get("show_latest_version_only") == "true"))
	}
}

func (c *call) getVersion(sc *docScope) {
	id, ok := c.pathInt("id")
	if !ok {
		return
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, n := range c.s.nodes {
		if n.scope != sc || n.IsDir {
			continue
		}
		for _, v := range n.Versions {
			if v.ID == id {
				writeJSON(c.w, http.StatusOK, c.s.versionJSON(n, v))
				return
			}
		}
	}
	writeError(c.w, http.StatusNotFound, "not_found", "File version not found")
}

// validName reports why name is not accepted, or "".
func validName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "can't be blank"
	case strings.ContainsAny(name, invalidNameChars):
		return "contains invalid characters"
	case utf8.RuneCountInString(name) > 255:
		return "is too long (maximum is 255 characters)"
	}
	return ""
}

// apiValidName is validName plus what the API refuses on create, rename
// and move: leading or trailing spaces and whitespace before the extension
// ("report .pdf"). The UI helpers accept such names, as items made before
// or outside the API can carry them.
func apiValidName(name string) string {
	if why := validName(name); why != "" {
		return why
	}
	if strings.TrimSpace(name) != name {
		return "can't start or end with a space"
	}
	if ext := path.Ext(name); ext != "" && ext != name && strings.TrimRightFunc(strings.TrimSuffix(name, ext), unicode.IsSpace) != strings.TrimSuffix(name, ext) {
		return "can't have a space before the extension"
	}
	return ""
}

// nameTaken answers a create whose name is taken in the folder as Procore
// does: 400 with a Rails-style error body ("has already been taken").
func nameTaken(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"name": []string{"has already been taken"}}})
}

// MaxPathLength is the longest path Procore Documents accepts, in
// characters, counted from the tool's root folder (excluded) with slashes.
const MaxPathLength = 255

// pathTooLong reports why naming an item name in parent (self, when it
// exists, with its subtree) would exceed MaxPathLength, or "". Caller
// holds s.mu.
func (s *Server) pathTooLong(parent *node, name string, self *node) string {
	// The 255-character limit is counted below the tool root here; whether
	// Procore counts the project name too is unconfirmed (POST /rest/v1.0/files).
	base := utf8.RuneCountInString(s.relPath(parent))
	if base > 0 {
		base++
	}
	longest := utf8.RuneCountInString(name)
	if self != nil && self.IsDir {
		var walk func(n *node, l int)
		walk = func(n *node, l int) {
			longest = max(longest, l)
			for _, k := range n.kids {
				if !k.Deleted {
					walk(k, l+1+utf8.RuneCountInString(k.Name))
				}
			}
		}
		walk(self, utf8.RuneCountInString(name))
	}
	if base+longest > MaxPathLength {
		return "makes a path longer than 255 characters"
	}
	return ""
}

// relPath is the node's path below the tool root ("" for the root).
// Caller holds s.mu.
func (s *Server) relPath(n *node) string {
	var parts []string
	for m := n; m != nil && m != m.scope.root; m = s.nodes[m.ParentID] {
		parts = append(parts, m.Name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// clash returns a live sibling named name in parent (other than self).
// Caller holds s.mu.
func clash(parent *node, name string, self *node) *node {
	for _, m := range parent.kids {
		if m != self && !m.Deleted && strings.EqualFold(m.Name, name) {
			return m
		}
	}
	return nil
}

// parentFor resolves a parent_id (absent: the root). Caller holds s.mu.
func (c *call) parentFor(sc *docScope, m map[string]any) *node {
	pid, ok := num(m, "parent_id")
	if !ok {
		return sc.root
	}
	p := c.s.nodes[pid]
	if p == nil || p.scope != sc || !p.IsDir || p.Deleted || p.IsRecycleBin {
		writeErrors(c.w, http.StatusNotFound, "Parent folder not found", nil)
		return nil
	}
	return p
}

func (c *call) createFolder(sc *docScope) {
	f, ok := c.form()
	if !ok {
		return
	}
	body := obj(f, "folder")
	name, _ := str(body, "name")
	if why := apiValidName(name); why != "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{why}}})
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := c.parentFor(sc, body)
	if parent == nil {
		return
	}
	if other := clash(parent, name, nil); other != nil {
		nameTaken(c.w)
		return
	}
	if why := c.s.pathTooLong(parent, name, nil); why != "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{why}}})
		return
	}
	n := s.addNode(sc, parent, name, true, c.token.UserID)
	s.emitNode(n, "create", c.token.UserID)
	writeJSON(c.w, http.StatusCreated, s.folderJSON(n, 1, nil))
}

// addNode creates a live node. Caller holds s.mu.
func (s *Server) addNode(sc *docScope, parent *node, name string, dir bool, userID int64) *node {
	now := s.now()
	n := &node{ID: s.newID(), ParentID: parent.ID, Name: name, IsDir: dir, CreatedAt: now, UpdatedAt: now,
		CreatedBy: userID, scope: sc}
	if dir {
		n.kids = map[int64]*node{}
	}
	s.nodes[n.ID] = n
	parent.kids[n.ID] = n
	sc.order = append(sc.order, n)
	return n
}

// addVersion appends a version holding blob key. Caller holds s.mu.
func (s *Server) addVersion(n *node, key string, size int64, notes string, userID int64) *version {
	now := s.now()
	v := &version{ID: s.newID(), ProstoreID: s.newID(), Number: len(n.Versions) + 1, Size: size, Key: key,
		Notes: notes, CreatedAt: now, CreatedBy: userID, FileID: n.ID}
	n.Versions = append(n.Versions, v)
	n.UpdatedAt = now
	return v
}

// takeUpload resolves an upload_uuid for association. Caller holds s.mu.
func (c *call) takeUpload(sc *docScope, uuid string) (*upload, bool) {
	u := c.s.uploads[uuid]
	if u == nil || u.companyID != sc.companyID || u.userID != c.token.UserID {
		writeErrors(c.w, http.StatusUnprocessableEntity, "Upload not found", nil)
		return nil, false
	}
	if u.status != "complete" {
		writeErrors(c.w, http.StatusUnprocessableEntity, "Upload is not complete", nil)
		return nil, false
	}
	return u, true
}

// contentFrom takes new content from upload_uuid or a deprecated data part.
// Caller holds s.mu. ok is false when a response was written.
func (c *call) contentFrom(sc *docScope, body map[string]any) (key string, size int64, has, ok bool) {
	if uuid, present := str(body, "upload_uuid"); present && uuid != "" {
		u, ok := c.takeUpload(sc, uuid)
		if !ok {
			return "", 0, false, false
		}
		if lb := c.s.large[u.key]; lb != nil {
			return u.key, lb.size, true, true
		}
		return u.key, int64(len(c.s.blobs[u.key])), true, true
	}
	if data, present := str(body, "data"); present {
		key := "companies/" + itoa(sc.companyID) + "/" + itoa(c.s.newID())
		c.s.blobs[key] = []byte(data)
		return key, int64(len(data)), true, true
	}
	return "", 0, false, true
}

func (c *call) createFile(sc *docScope) {
	f, ok := c.form()
	if !ok {
		return
	}
	body := obj(f, "file")
	name, _ := str(body, "name")
	if why := apiValidName(name); why != "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{why}}})
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := c.parentFor(sc, body)
	if parent == nil {
		return
	}
	if other := clash(parent, name, nil); other != nil {
		if !boolean(body, "unique_name") {
			nameTaken(c.w)
			return
		}
		ext := path.Ext(name)
		stem := strings.TrimSuffix(name, ext)
		for i := 1; clash(parent, name, nil) != nil; i++ {
			name = stem + " (" + strconv.Itoa(i) + ")" + ext
		}
	}
	if why := c.s.pathTooLong(parent, name, nil); why != "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{why}}})
		return
	}
	key, size, has, ok := c.contentFrom(sc, body)
	if !ok {
		return
	}
	if !has {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"data": []string{"can't be blank"}}})
		return
	}
	n := s.addNode(sc, parent, name, false, c.token.UserID)
	if d, ok := str(body, "description"); ok {
		n.Description = d
	}
	s.addVersion(n, key, size, "", c.token.UserID)
	s.emitNode(n, "create", c.token.UserID)
	writeJSON(c.w, http.StatusCreated, s.fileJSON(n, false))
}

func (c *call) createVersion(sc *docScope) {
	fileID, ok := c.queryInt("file_id")
	if !ok {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	body := obj(f, "file_version")
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[fileID]
	if n == nil || n.scope != sc || n.IsDir || n.Deleted {
		writeError(c.w, http.StatusNotFound, "not_found", "File not found")
		return
	}
	key, size, has, ok := c.contentFrom(sc, body)
	if !ok {
		return
	}
	if !has {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"data": []string{"can't be blank"}}})
		return
	}
	notes, _ := str(body, "notes")
	v := s.addVersion(n, key, size, notes, c.token.UserID)
	s.emitVersion(n, v, c.token.UserID)
	writeJSON(c.w, http.StatusCreated, s.versionJSON(n, v))
}

// patchNode moves (parent_id) and/or renames (name) a folder or file, and
// for files takes new content (upload_uuid) as a new version.
func (c *call) patchNode(sc *docScope) {
	dir := strings.Contains(c.r.URL.Path, "/folders/")
	f, ok := c.form()
	if !ok {
		return
	}
	key := "file"
	if dir {
		key = "folder"
	}
	body := obj(f, key)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	n := c.lookup(sc, dir)
	if n == nil {
		return
	}
	if n.Deleted || n.IsRecycleBin || n == sc.root {
		writeError(c.w, http.StatusNotFound, "not_found", "Not found")
		return
	}
	name := n.Name
	if v, ok := str(body, "name"); ok {
		if why := apiValidName(v); why != "" {
			writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{why}}})
			return
		}
		name = v
	}
	parent := s.nodes[n.ParentID]
	if _, present := body["parent_id"]; present {
		if parent = c.parentFor(sc, body); parent == nil {
			return
		}
		for a := parent; a != nil; a = s.nodes[a.ParentID] {
			if a == n {
				writeErrors(c.w, http.StatusUnprocessableEntity, "Cannot move a folder into itself", nil)
				return
			}
		}
	}
	if why := s.pathTooLong(parent, name, n); why != "" {
		writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string]any{"name": []string{why}}})
		return
	}
	if other := clash(parent, name, n); other != nil {
		extra := map[string]any{"error_type": "duplicate_name"}
		if !other.IsDir {
			extra["file"] = s.fileJSON(other, true)
		}
		writeErrors(c.w, http.StatusConflict, "Name has already been taken", extra)
		return
	}
	var newKey string
	var newSize int64
	var has bool
	if !dir {
		var ok bool
		if newKey, newSize, has, ok = c.contentFrom(sc, body); !ok {
			return
		}
	}
	if d, ok := str(body, "description"); ok && !dir {
		n.Description = d
	}
	if old := s.nodes[n.ParentID]; old != parent {
		delete(old.kids, n.ID)
		parent.kids[n.ID] = n
		n.ParentID = parent.ID
	}
	n.Name = name
	n.UpdatedAt = s.now()
	if has {
		s.emitVersion(n, s.addVersion(n, newKey, newSize, "", c.token.UserID), c.token.UserID)
	}
	s.emitNode(n, "update", c.token.UserID)
	if dir {
		writeJSON(c.w, http.StatusOK, s.folderJSON(n, 1, nil))
	} else {
		writeJSON(c.w, http.StatusOK, s.fileJSON(n, false))
	}
}

// deleteNode moves a folder or file to the recycle bin.
func (c *call) deleteNode(sc *docScope) {
	dir := strings.Contains(c.r.URL.Path, "/folders/")
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	n := c.lookup(sc, dir)
	if n == nil {
		return
	}
	if n.Deleted || n.IsRecycleBin || n == sc.root {
		writeError(c.w, http.StatusNotFound, "not_found", "Not found")
		return
	}
	s.recycle(n)
	s.emitNode(n, "delete", c.token.UserID)
	writeJSON(c.w, http.StatusOK, map[string]any{})
}

// recycle marks n and everything below it as in the recycle bin. Caller
// holds s.mu.
func (s *Server) recycle(n *node) {
	now := s.now()
	var walk func(m *node)
	walk = func(m *node) {
		m.Deleted = true
		m.UpdatedAt = now
		for _, k := range m.kids {
			if !k.Deleted {
				walk(k)
			}
		}
	}
	walk(n)
}

// documentsIndex serves the flat index GET /rest/v1.0/projects/{project_id}/documents
// (and its company twin).
func (c *call) documentsIndex(sc *docScope) {
	q := c.r.URL.Query()
	var upFrom, upTo, crFrom, crTo time.Time
	for _, f := range []struct {
		key      string
		from, to *time.Time
	}{{"filters[updated_at]", &upFrom, &upTo}, {"filters[created_at]", &crFrom, &crTo}} {
		if v := q.Get(f.key); v != "" {
			var err error
			if *f.from, *f.to, err = parseRange(v); err != nil {
				writeError(c.w, http.StatusBadRequest, "bad_request", "invalid "+f.key)
				return
			}
		}
	}
	docType := q.Get("filters[document_type]")
	bin := q.Get("filters[is_in_recycle_bin]")
	search := strings.ToLower(q.Get("filters[search]"))
	var under *node
	s := c.s
	s.mu.Lock()
	if v := q.Get("filters[folder_id]"); v != "" {
		id, _ := strconv.ParseInt(v, 10, 64)
		if under = s.nodes[id]; under == nil || under.scope != sc || !under.IsDir {
			s.mu.Unlock()
			writeError(c.w, http.StatusNotFound, "not_found", "Folder not found")
			return
		}
	}
	var list []*node
	for _, n := range sc.order {
		inBin := n.Deleted || n.IsRecycleBin
		switch {
		case !inRange(n.UpdatedAt, upFrom, upTo), !inRange(n.CreatedAt, crFrom, crTo),
			docType == "file" && n.IsDir, docType == "folder" && !n.IsDir,
			bin == "true" && !inBin, bin == "false" && inBin,
			search != "" && !strings.Contains(strings.ToLower(n.Name+" "+n.Description), search):
			continue
		}
		if under != nil {
			inside := false
			for a := s.nodes[n.ParentID]; a != nil; a = s.nodes[a.ParentID] {
				if a == under {
					inside = true
					break
				}
			}
			if !inside && n != under {
				continue
			}
		}
		list = append(list, n)
	}
	if by := q.Get("sort"); by != "" {
		sortNodes(list, by) // otherwise list is in id order already
	}
	s.mu.Unlock()
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	s.mu.Lock()
	out := make([]any, 0, hi-lo)
	extended := q.Get("view") == "extended"
	for _, n := range list[lo:hi] {
		out = append(out, s.documentJSON(n, extended))
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

func sortNodes(list []*node, by string) {
	desc := strings.HasPrefix(by, "-")
	by = strings.TrimPrefix(by, "-")
	less := func(a, b *node) bool { return a.ID < b.ID }
	switch by {
	case "updated_at":
		less = func(a, b *node) bool {
			if !a.UpdatedAt.Equal(b.UpdatedAt) {
				return a.UpdatedAt.Before(b.UpdatedAt)
			}
			return a.ID < b.ID
		}
	case "name":
		less = func(a, b *node) bool { return strings.ToLower(a.Name) < strings.ToLower(b.Name) }
	case "document_type", "document_type_then_name":
		less = func(a, b *node) bool {
			if a.IsDir != b.IsDir {
				return !a.IsDir // "file" sorts before "folder"
			}
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		}
	}
	slices.SortFunc(list, func(a, b *node) int {
		if desc {
			a, b = b, a
		}
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// documentJSON renders an item of the /documents index: in the default
// (normal) view exactly the keys Procore's normal view has, and with
// extended also is_tracked, private_parent, tracked_folder, children and
// the file object (current version, size, URL). Caller holds s.mu.
func (s *Server) documentJSON(n *node, extended bool) map[string]any {
	doc := map[string]any{"id": n.ID, "name": n.Name, "name_with_path": s.namePath(n), "parent_id": parentJSON(n),
		"created_at": ts(n.CreatedAt), "created_by": s.userJSON(n.CreatedBy), "updated_at": ts(n.UpdatedAt),
		"read_only": false, "is_deleted": n.Deleted, "is_recycle_bin": n.IsRecycleBin,
		"private": false, "custom_fields": map[string]any{}, "document_type": "file"}
	if n.IsDir {
		doc["document_type"] = "folder"
	}
	if !extended {
		return doc
	}
	doc["is_tracked"], doc["private_parent"], doc["tracked_folder"] = false, nil, nil
	if n.IsDir {
		folders, files := s.visibleKids(n)
		doc["children"] = map[string]any{"has_children": len(folders)+len(files) > 0,
			"has_children_files": len(files) > 0, "has_children_folders": len(folders) > 0}
		doc["file"] = nil
	} else {
		doc["document_type"] = "file"
		var cur any
		if len(n.Versions) > 0 {
			cur = s.versionJSON(n, n.Versions[len(n.Versions)-1])
		}
		doc["file"] = map[string]any{"checked_out_by": nil, "checked_out_until": nil, "current_version": cur,
			"description": n.Description, "file_type": fileType(n.Name)}
		doc["children"] = nil
	}
	return doc
}

// download serves a file-host URL: it checks the signature and redirects
// to a presigned URL on the storage host.
func (c *call) download() {
	key := c.r.PathValue("key")
	if c.r.URL.Query().Get("sig") != c.s.sign("download", key) {
		writeError(c.w, http.StatusForbidden, "forbidden", "Invalid signature")
		return
	}
	c.s.mu.Lock()
	_, ok := c.s.blobs[key]
	exp := c.s.now().Add(time.Hour).Unix()
	c.s.mu.Unlock()
	if !ok {
		writeError(c.w, http.StatusNotFound, "not_found", "File not found")
		return
	}
	e := strconv.FormatInt(exp, 10)
	loc := c.s.StorageURL + "/s3/pro-core.com/" + key + "?X-Amz-Expires=" + e + "&X-Amz-Signature=" + c.s.sign("get", key, e)
	c.w.Header().Set("Location", loc)
	c.w.WriteHeader(http.StatusFound)
}

// emitNode sends a webhook event for a folder or file. Caller holds s.mu.
func (s *Server) emitNode(n *node, event string, userID int64) {
	res := "Files"
	if n.IsDir {
		res = "Folders"
	}
	s.emit(n.scope.companyID, n.scope.projectID, scopePrefix(n.scope)+res, event, n.ID, userID)
}

// emitVersion sends the events of a new file version. Caller holds s.mu.
func (s *Server) emitVersion(n *node, v *version, userID int64) {
	s.emit(n.scope.companyID, n.scope.projectID, scopePrefix(n.scope)+"File Versions", "create", v.ID, userID)
}

func scopePrefix(sc *docScope) string {
	if sc.projectID != 0 {
		return "Project "
	}
	return "Company "
}
