package procore_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

const docsIndexOp = "RestV10ProjectsProjectIdDocumentsGet"

// TestDocumentsIndexExtendedView: the normal view of /documents has no
// file object (no version, size or URL); the storages ask for the
// extended view on every index read, so listed files carry a Version and a
// size, and the change feed sees new versions.
func TestDocumentsIndexExtendedView(t *testing.T) {
	clk := newClock()
	var mu sync.Mutex
	var views []string
	var normalBody []byte
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 48 * time.Hour,
		OnExchange: func(e procoretest.Exchange) {
			if e.Op == docsIndexOp {
				mu.Lock()
				views = append(views, e.Request.URL.Query().Get("view"))
				if e.Request.URL.Query().Get("view") == "" && normalBody == nil {
					normalBody = e.RespBody
				}
				mu.Unlock()
			}
		}}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	_, err := srv.UIPutFile(docs, "a/b.txt", []byte("hello"))
	require.NoError(t, err)
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)

	// The fake's normal view has exactly the normal keys.
	list, _, err := c.Documents.List(ctx, sc, &procore.DocumentListOptions{DocumentType: "file"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Nil(t, list[0].File, "the normal view has no file object")
	var raw []map[string]any
	mu.Lock()
	require.NoError(t, json.Unmarshal(normalBody, &raw))
	mu.Unlock()
	var keys []string
	for k := range raw[0] {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"id", "created_at", "created_by", "custom_fields", "document_type", "is_deleted",
		"is_recycle_bin", "name", "name_with_path", "parent_id", "private", "read_only", "updated_at"}, keys,
		"exactly the keys of Procore's normal view")
	list, _, err = c.Documents.List(ctx, sc, &procore.DocumentListOptions{DocumentType: "file", View: "extended"})
	require.NoError(t, err)
	require.NotNil(t, list[0].File)
	require.Equal(t, "Plain Text", list[0].File.FileType, "file_type is a description")
	require.True(t, strings.HasPrefix(list[0].NameWithPath, "Main Street Tower/"), list[0].NameWithPath)

	mu.Lock()
	views = nil
	mu.Unlock()
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	var file storage.Entry
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if e.Path == "a/b.txt" {
			file = e
		}
	}
	require.NotEmpty(t, file.Version)
	require.Equal(t, int64(5), file.Size)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	_, err = srv.UIPutFile(docs, "a/b.txt", []byte("hello, world"))
	require.NoError(t, err)
	all, _, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	var changes []storage.Change
	for _, ch := range all {
		if ch.Entry.Path == "a/b.txt" {
			changes = append(changes, ch)
		}
	}
	require.Len(t, changes, 1)
	require.Equal(t, int64(12), changes[0].Entry.Size)
	require.NotEqual(t, file.Version, changes[0].Entry.Version)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, views)
	for _, v := range views {
		require.Equal(t, "extended", v)
	}
}

// TestTakenNameIs400: creating a folder or file whose name is taken is a
// 400 in Procore; MakeDir returns the existing folder with
// ErrAlreadyExists, and Put adds a version to the existing file.
func TestTakenNameIs400(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	dir, err := s.MakeDir(ctx, root, "Plans")
	require.NoError(t, err)
	again, err := s.MakeDir(ctx, root, "plans")
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	require.Equal(t, dir.ID, again.ID)
	require.Equal(t, "Plans", again.Path)

	f1, err := s.Put(ctx, dir, "a.txt", strings.NewReader("one"), 3, storage.PutOptions{})
	require.NoError(t, err)
	f2, err := s.Put(ctx, dir, "a.txt", strings.NewReader("two!"), 4, storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, f1.ID, f2.ID)
	require.NotEqual(t, f1.Version, f2.Version)
	n, err := srv.UIVersions(procoretest.ProjectDocs(srv.ProjectID), "Plans/a.txt")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = s.Put(ctx, dir, "a.txt", strings.NewReader("x"), 1, storage.PutOptions{NoOverwrite: true})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
}

// TestSegmentMD5IsHex: segments[].md5 is sent as lower-case hex, the fake
// refuses base64 there, and each part PUT carries the content-md5 header
// the fake derived (base64).
func TestSegmentMD5IsHex(t *testing.T) {
	var mu sync.Mutex
	var partMD5s []string
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1, OnExchange: func(e procoretest.Exchange) {
		if e.Op == "StorageUploadPart" {
			mu.Lock()
			partMD5s = append(partMD5s, e.Request.Header.Get("Content-MD5"))
			mu.Unlock()
		}
	}}, nil)
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)
	data := bytes.Repeat([]byte("0123456789abcdef"), (procore.MinSegmentSize+100)/16)
	segs, err := procore.HashSegments(bytes.NewReader(data), int64(len(data)), procore.MinSegmentSize)
	require.NoError(t, err)
	require.Len(t, segs, 2)
	sum := md5.Sum(data[:procore.MinSegmentSize])
	require.Equal(t, hex.EncodeToString(sum[:]), segs[0].MD5)

	bad := append([]procore.UploadSegment(nil), segs...)
	bad[0].MD5 = base64.StdEncoding.EncodeToString(sum[:])
	_, _, err = c.Uploads.Create(ctx, sc, procore.UploadCreate{ResponseFilename: "x.bin", Segments: bad})
	var er *procore.ErrorResponse
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusUnprocessableEntity, er.StatusCode, "base64 md5 is refused")

	up, _, err := c.Uploads.Create(ctx, sc, procore.UploadCreate{ResponseFilename: "x.bin", Segments: segs})
	require.NoError(t, err)
	require.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), up.Segments[0].Headers["content-md5"])

	uuid, err := c.Uploads.SendSegmented(ctx, sc, "x.bin", bytes.NewReader(data), int64(len(data)), procore.MinSegmentSize)
	require.NoError(t, err)
	require.NotEmpty(t, uuid)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, partMD5s, 2)
	require.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), partMD5s[0])
}

// TestPaginationWithoutLink: not every endpoint sends Link; the client
// pages until a short or empty page, or Total items.
func TestPaginationWithoutLink(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{OmitLink: true, HourlyLimit: -1, SpikeLimit: -1}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	for i := range 24 {
		_, err := srv.UIPutFile(docs, fmt.Sprintf("d/f%02d.txt", i), []byte("x"))
		require.NoError(t, err)
	}
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)
	no := false
	count := func(perPage int) int {
		n := 0
		for _, err := range c.Documents.All(ctx, sc, &procore.DocumentListOptions{ListOptions: procore.ListOptions{PerPage: perPage}, InRecycleBin: &no}) {
			require.NoError(t, err)
			n++
		}
		return n
	}
	// 24 files, folder d and the tool root.
	srv.ResetCalls()
	require.Equal(t, 26, count(10))
	require.Equal(t, 3, srv.CallCount(docsIndexOp), "three pages, the last short")
	srv.ResetCalls()
	require.Equal(t, 26, count(13))
	require.Equal(t, 2, srv.CallCount(docsIndexOp), "Total says two full pages are all")

	// The storage lists everything without Link too.
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{PerPage: 5})
	n := 0
	for _, err := range s.List(ctx) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 25, n)
}

// TestPaginationNeverLoops: a server that always offers a next page, or
// serves the same page whatever is asked, stops the listing with a typed
// error instead of looping forever.
func TestPaginationNeverLoops(t *testing.T) {
	for _, tc := range []struct {
		name string
		link func(page int) string
	}{
		{"same page without Link", func(int) string { return "" }},
		{"Link next back to page 1", func(int) string { return `<https://x/rest/v1.0/companies?page=1>; rel="next"` }},
		{"Link next always one further", func(p int) string {
			return fmt.Sprintf(`<https://x/rest/v1.0/companies?page=%d>; rel="next"`, p+1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				page := 1
				fmt.Sscan(r.URL.Query().Get("page"), &page)
				if l := tc.link(page); l != "" {
					w.Header().Set("Link", l)
				}
				w.Header().Set("Content-Type", "application/json")
				// A full page (the client asks for 100 a page).
				items := make([]string, 100)
				for i := range items {
					items[i] = fmt.Sprintf(`{"id":%d,"name":"c%d"}`, i+1, i+1)
				}
				_, _ = io.WriteString(w, "["+strings.Join(items, ",")+"]")
			}))
			t.Cleanup(hs.Close)
			c, err := procore.NewClient(procore.Options{BaseURL: hs.URL, CompanyID: 1,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var last error
			for _, err := range c.Companies.All(ctx) {
				if err != nil {
					last = err
				}
			}
			require.ErrorIs(t, last, procore.ErrPagination)
			require.LessOrEqual(t, calls.Load(), int64(3))
		})
	}
}

// TestListingSurvivesDeletionBetweenPages: the /documents index is paged
// by offset; an item deleted while a listing pages through it must not
// make a later item slip off a page unseen (issue 9.2).
func TestListingSurvivesDeletionBetweenPages(t *testing.T) {
	for _, advancing := range []bool{false, true} {
		for _, afterPage := range []int{1, 2} {
			t.Run(fmt.Sprintf("distinct_timestamps=%t/after_page_%d", advancing, afterPage), func(t *testing.T) {
				clk := newClock()
				var srv *procoretest.Server
				var filePages atomic.Int64
				var victim atomic.Value
				srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 48 * time.Hour,
					OnExchange: func(e procoretest.Exchange) {
						q := e.Request.URL.Query()
						if e.Op != docsIndexOp || q.Get("filters[document_type]") != "file" || e.Status != 200 {
							return
						}
						if filePages.Add(1) != int64(afterPage) {
							return
						}
						// After this page of files, a person deletes the
						// first file it held.
						var page []map[string]any
						if json.Unmarshal(e.RespBody, &page) == nil && len(page) > 0 {
							name := page[0]["name"].(string)
							victim.Store(name)
							if err := srv.UIDelete(procoretest.ProjectDocs(srv.ProjectID), "d/"+name); err != nil {
								panic(err)
							}
						}
					}}, nil)
				docs := procoretest.ProjectDocs(srv.ProjectID)
				for i := range 20 {
					_, err := srv.UIPutFile(docs, fmt.Sprintf("d/f%02d.txt", i), []byte("x"))
					require.NoError(t, err)
					if advancing {
						clk.Advance(time.Second)
					}
				}
				clk.Advance(time.Minute)
				s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{PerPage: 5})
				got := map[string]bool{}
				for e, err := range s.List(context.Background()) {
					require.NoError(t, err)
					require.False(t, got[e.Path], "listed twice: %s", e.Path)
					got[e.Path] = true
				}
				gone, _ := victim.Load().(string)
				require.NotEmpty(t, gone)
				for i := range 20 {
					p := fmt.Sprintf("d/f%02d.txt", i)
					if "d/"+gone == p {
						continue
					}
					require.True(t, got[p], "missed %s", p)
				}
			})
		}
	}
}

// TestChangeFeedSameInstantVersions: two versions saved with one
// updated_at are both reported (the feed keys on the file version).
func TestChangeFeedSameInstantVersions(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 48 * time.Hour}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = srv.UIPutFile(docs, "a.txt", []byte("v1"))
	require.NoError(t, err)
	ch, cur, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Len(t, ch, 1)
	v1 := ch[0].Entry.Version
	// The same instant: a second version.
	_, err = srv.UIPutFile(docs, "a.txt", []byte("v2 longer"))
	require.NoError(t, err)
	ch, _, err = s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Len(t, ch, 1, "the second version of the same instant is reported")
	require.NotEqual(t, v1, ch[0].Entry.Version)
	require.Equal(t, int64(9), ch[0].Entry.Size)
}

// TestResponseBodyIsCapped: an API answer longer than MaxResponseBytes
// fails with ErrResponseTooLarge, without retries.
func TestResponseBodyIsCapped(t *testing.T) {
	require.Equal(t, int64(64<<20), int64(procore.DefaultMaxResponseBytes))
	for _, chunked := range []bool{false, true} {
		var calls atomic.Int64
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			body := `{"id":1,"name":"` + strings.Repeat("x", 4096) + `"}`
			if !chunked {
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			}
			_, _ = io.WriteString(w, body)
		}))
		c, err := procore.NewClient(procore.Options{BaseURL: hs.URL, CompanyID: 1, MaxResponseBytes: 1024,
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
		require.NoError(t, err)
		_, _, err = c.Users.Me(context.Background())
		hs.Close()
		require.ErrorIs(t, err, procore.ErrResponseTooLarge)
		require.Equal(t, int64(1), calls.Load(), "not retried")
	}
}

// TestStatIDAndListUnder: the Documents storages look items up by ID and
// list one folder's subtree, so the engine can confirm an absence.
func TestStatIDAndListUnder(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	ctx := context.Background()
	for _, p := range []string{"Synced/a/x.txt", "Synced/a/b/y.txt", "Synced/c.txt", "Other/z.txt"} {
		_, err := srv.UIPutFile(docs, p, []byte(p))
		require.NoError(t, err)
	}
	rootID, err := srv.UIMakeFolders(docs, "Synced")
	require.NoError(t, err)
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{RootFolderID: rootID})
	byPath := map[string]storage.Entry{}
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		byPath[e.Path] = e
	}
	require.Len(t, byPath, 5)
	for p, e := range byPath {
		got, err := s.StatID(ctx, e.ID)
		require.NoError(t, err, p)
		require.Equal(t, p, got.Path)
		require.Equal(t, e.IsDir, got.IsDir)
		require.Equal(t, e.Version, got.Version)
	}
	var under []string
	for e, err := range s.ListUnder(ctx, byPath["a"]) {
		require.NoError(t, err)
		under = append(under, e.Path)
	}
	require.ElementsMatch(t, []string{"a/x.txt", "a/b", "a/b/y.txt"}, under)

	// Moved out of the root, deleted: not found.
	require.NoError(t, srv.UIMove(docs, "Synced/c.txt", "Other"))
	_, err = s.StatID(ctx, byPath["c.txt"].ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, srv.UIDelete(docs, "Synced/a"))
	_, err = s.StatID(ctx, byPath["a/b/y.txt"].ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.StatID(ctx, byPath["a"].ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	for _, err := range s.ListUnder(ctx, byPath["a"]) {
		require.ErrorIs(t, err, storage.ErrNotFound)
	}
	_, err = s.StatID(ctx, "999")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// errReader yields its bytes, then fails.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// TestPutRefusesWrongSizedReaders: Put fails, committing nothing, when the
// reader yields fewer or more bytes than size, or fails after exactly size
// bytes: small (one POST), streamed segmented and io.ReaderAt segmented.
func TestPutRefusesWrongSizedReaders(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{SpoolDir: t.TempDir()})
	require.True(t, s.SetChunkSize(procore.MinSegmentSize))
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	boom := errors.New("source failed")
	for _, size := range []int{100, 2*procore.MinSegmentSize + 7} {
		data := bytes.Repeat([]byte{'z'}, size)
		for _, tc := range []struct {
			name string
			r    func() io.Reader
			size int
		}{
			{"fewer", func() io.Reader { return bytes.NewReader(data[:size-1]) }, size},
			{"more", func() io.Reader { return bytes.NewReader(append(data, 'x')) }, size},
			{"fails after size", func() io.Reader { return &errReader{bytes.NewReader(data), boom} }, size},
			{"fewer stream", func() io.Reader { return io.MultiReader(bytes.NewReader(data[:size-1])) }, size},
			{"more stream", func() io.Reader { return io.MultiReader(bytes.NewReader(data), strings.NewReader("x")) }, size},
		} {
			_, err := s.Put(ctx, root, "f.bin", tc.r(), int64(tc.size), storage.PutOptions{})
			require.Error(t, err, "%d bytes, %s", size, tc.name)
			require.Empty(t, srv.UIPaths(procoretest.ProjectDocs(srv.ProjectID)), "%d bytes, %s", size, tc.name)
		}
	}
}

// TestSegmentedPutFromStreamResumes: a large file arriving as a plain
// stream (as the engine's Put path gives it) goes through a segmented
// upload, reports its state after every segment, and after a "restart"
// resumes from the last confirmed segment.
func TestSegmentedPutFromStreamResumes(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{SpoolDir: t.TempDir()})
	require.True(t, s.SetChunkSize(procore.MinSegmentSize))
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	data := make([]byte, 3*procore.MinSegmentSize+11)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	crash := errors.New("process killed")
	var saved storage.UploadState
	_, err = s.Put(ctx, root, "big.bin", io.MultiReader(bytes.NewReader(data)), int64(len(data)), storage.PutOptions{
		OnUploadState: func(st storage.UploadState) error {
			saved = st
			if st.Offset >= 2*procore.MinSegmentSize {
				return crash
			}
			return nil
		}})
	require.ErrorIs(t, err, crash)
	require.Equal(t, int64(2*procore.MinSegmentSize), saved.Offset)
	require.Equal(t, 2, srv.CallCount("StorageUploadPart"))
	require.Empty(t, srv.UIPaths(procoretest.ProjectDocs(srv.ProjectID)))

	// A new process: a new storage value resumes from the saved state.
	s2 := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	srv.ResetCalls()
	e, err := s2.ResumeUpload(ctx, saved, bytes.NewReader(data[saved.Offset:]), storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, srv.CallCount("StorageUploadPart"), "only the segments after the last confirmed one")
	require.Equal(t, int64(len(data)), e.Size)
	got, err := srv.UIFile(procoretest.ProjectDocs(srv.ProjectID), "big.bin")
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
}

// TestDocumentNames: Procore's naming rules are enforced before calling
// Procore (a 255-character path limit, no whitespace before the
// extension), and name mapping keeps extensions intact.
func TestDocumentNames(t *testing.T) {
	r := procore.DocumentNameRules
	require.Error(t, r.Validate("report .pdf"))
	require.Equal(t, "report-.pdf", r.Map("report .pdf", ""))
	require.Equal(t, "report-.pdf", r.Map("report.pdf ", ""))
	require.Equal(t, 255, r.MaxPathLength)

	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	docs := procoretest.ProjectDocs(srv.ProjectID)
	long := strings.Repeat("d", 100)
	rootID, err := srv.UIMakeFolders(docs, long+"/"+long) // 201 characters
	require.NoError(t, err)
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{RootFolderID: rootID})
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	name := strings.Repeat("n", 50) + ".pdf" // 201 + 1 + 54 = 256
	srv.ResetCalls()
	_, err = s.Put(ctx, root, name, strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrInvalidName)
	_, err = s.MakeDir(ctx, root, name)
	require.ErrorIs(t, err, storage.ErrInvalidName)
	require.Zero(t, srv.CallsByHost(procoretest.HostStorage), "refused before uploading")
	require.Zero(t, srv.CallCount("RestV10FilesPost")+srv.CallCount("RestV10FoldersPost"))
	_, err = s.Put(ctx, root, name[1:], strings.NewReader("x"), 1, storage.PutOptions{})
	require.NoError(t, err, "255 characters fit")
	_, err = s.Put(ctx, root, "report .pdf", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrInvalidName)

	// The fake refuses what Procore refuses.
	sc := procore.ProjectScope(srv.ProjectID)
	_, _, err = c.Folders.Create(ctx, sc, procore.FolderCreate{ParentID: rootID, Name: name})
	var er *procore.ErrorResponse
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusUnprocessableEntity, er.StatusCode)
	_, _, err = c.Folders.Create(ctx, sc, procore.FolderCreate{Name: "report .pdf"})
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusUnprocessableEntity, er.StatusCode)
}

// TestListStreamsFiles: List yields files page by page as they arrive,
// not after reading the whole index (issue 11.8).
func TestListStreamsFiles(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	for i := range 50 {
		_, err := srv.UIPutFile(docs, fmt.Sprintf("d/f%02d.txt", i), []byte("x"))
		require.NoError(t, err)
	}
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{PerPage: 10})
	ctx := context.Background()
	_, err := s.Stat(ctx, "")
	require.NoError(t, err)
	srv.ResetCalls()
	callsAtFirstFile, n := 0, 0
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if !e.IsDir && callsAtFirstFile == 0 {
			callsAtFirstFile = srv.CallCount(docsIndexOp)
		}
		n++
	}
	require.Equal(t, 51, n)
	total := srv.CallCount(docsIndexOp)
	require.Equal(t, 2, callsAtFirstFile, "one page of folders, then the first page of files")
	require.Greater(t, total, callsAtFirstFile+3, "the other file pages are read after the first files were yielded")
}

// TestPutUnknownSize: a stream of unknown size (-1) is uploaded whole,
// small or segmented, without holding it in memory.
func TestPutUnknownSize(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{SpoolDir: t.TempDir()})
	require.True(t, s.SetChunkSize(procore.MinSegmentSize))
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	for _, n := range []int{0, 10, 2*procore.MinSegmentSize + 3} {
		data := bytes.Repeat([]byte{'u'}, n)
		name := fmt.Sprintf("u%d.bin", n)
		e, err := s.Put(ctx, root, name, io.MultiReader(bytes.NewReader(data)), -1, storage.PutOptions{})
		require.NoError(t, err)
		require.Equal(t, int64(n), e.Size)
		got, err := srv.UIFile(procoretest.ProjectDocs(srv.ProjectID), name)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	}
}

// TestPaginationOfUnpagedEndpoint: an endpoint that ignores page and
// per_page and answers with everything is read once.
func TestPaginationOfUnpagedEndpoint(t *testing.T) {
	var calls atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		items := make([]string, 150)
		for i := range items {
			items[i] = fmt.Sprintf(`{"id":%d,"name":"c%d"}`, i+1, i+1)
		}
		_, _ = io.WriteString(w, "["+strings.Join(items, ",")+"]")
	}))
	t.Cleanup(hs.Close)
	c, err := procore.NewClient(procore.Options{BaseURL: hs.URL, CompanyID: 1,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	require.NoError(t, err)
	n := 0
	for _, err := range c.Companies.All(context.Background()) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 150, n)
	require.Equal(t, int64(1), calls.Load())
}
