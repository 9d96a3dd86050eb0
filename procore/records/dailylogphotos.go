package records

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
)

// ImportLog remembers which dropped photos were imported, so that a photo
// a person later deletes in Procore is not imported again while its copy
// is still on the target. Keys are "<day>/<name>/<size>". Implementations
// must persist across runs (MemoryImportLog does not).
type ImportLog interface {
	Imported(ctx context.Context, key string) (bool, error)
	MarkImported(ctx context.Context, key string) error
}

// MemoryImportLog is an in-memory ImportLog for tests and single runs.
type MemoryImportLog struct {
	mu   sync.Mutex
	keys map[string]bool
}

// Imported reports whether key was marked.
func (m *MemoryImportLog) Imported(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys[key], nil
}

// MarkImported marks key.
func (m *MemoryImportLog) MarkImported(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	m.keys[key] = true
	return nil
}

// PhotoExtensions are the file extensions DailyLogPhotoImporter takes as
// photos (lower case, with the dot).
var PhotoExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".heic", ".heif", ".tif", ".tiff", ".webp", ".bmp"}

// DailyLogPhotoImporter brings photos a person drops on the target into
// Procore's Daily Log: an image file in "<day>/Photos/" of the target's
// Daily Log folder becomes a photo of that day in Procore (POST
// /rest/v1.0/images with log_date = the day, through the project's upload
// flow), once.
//
// It is the one direction back into Procore of a Daily Log pair, and sits
// beside it rather than in it: the pair is one way (Procore is the source
// of truth, syncengine.OneWayAB), so the engine reports the dropped file
// as drift and writes nothing. Run Import after each sync run of the pair
// (or when the target's watcher fires); on the next run the DailyLog
// storage lists the new photo in "<day>/Photos" under the same name, and
// the pair sees both sides agree.
//
// Never twice: before uploading, Import lists the days' Daily Log photos
// in Procore (one images call with filters[log_date] over the days, one
// daily_log_headers/index call) and takes a dropped file whose name and
// size match a photo of its day (by its file name or the name the DailyLog
// storage shows it with) as already there. So a run that crashed after
// the image was made and before anything was recorded finds it, and the
// file the pair itself copied from Procore is never sent back. The
// ImportLog then keeps a photo that a person deleted in Procore from
// coming back while its copy is still on the target.
type DailyLogPhotoImporter struct {
	c         *procore.Client
	projectID int64
	// Log remembers imports (default: an in-memory MemoryImportLog).
	Log ImportLog
	// PerPage is the page size of listings (default 1000).
	PerPage int
}

// NewDailyLogPhotoImporter returns an importer into project projectID.
func NewDailyLogPhotoImporter(c *procore.Client, projectID int64, log ImportLog) *DailyLogPhotoImporter {
	if log == nil {
		log = &MemoryImportLog{}
	}
	return &DailyLogPhotoImporter{c: c, projectID: projectID, Log: log, PerPage: 1000}
}

// PhotoImportResult says what a run did, by target path.
type PhotoImportResult struct {
	Uploaded     []string // new Daily Log photos
	AlreadyThere []string // found in Procore (made by an earlier run, or copied from Procore)
	Failed       map[string]error
}

type dropped struct {
	e    storage.Entry
	day  string
	name string
	key  string
}

// Import uploads the photos dropped into "<day>/Photos/" below dir (the
// Daily Log folder on target). A failure with one file is recorded in
// Failed and the others go on; an error is returned when the target or
// Procore cannot be listed.
func (im *DailyLogPhotoImporter) Import(ctx context.Context, target storage.Storage, dir storage.Entry) (PhotoImportResult, error) {
	res := PhotoImportResult{Failed: map[string]error{}}
	var cands []dropped
	prefix := ""
	if dir.Path != "" {
		prefix = dir.Path + "/"
	}
	for e, err := range storage.ListUnder(ctx, target, dir) {
		if err != nil {
			return res, err
		}
		rel := strings.TrimPrefix(e.Path, prefix)
		parts := strings.Split(rel, "/")
		if e.IsDir || len(parts) != 3 || parts[1] != PhotosFolder || !isPhoto(parts[2]) {
			continue
		}
		if _, err := procore.ParseLogDate(parts[0]); err != nil {
			continue
		}
		key := fmt.Sprintf("%s/%s/%d", parts[0], parts[2], e.Size)
		done, err := im.Log.Imported(ctx, key)
		if err != nil {
			return res, err
		}
		if !done {
			cands = append(cands, dropped{e: e, day: parts[0], name: parts[2], key: key})
		}
	}
	if len(cands) == 0 {
		return res, nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].e.Path < cands[j].e.Path })
	have, err := im.dayPhotos(ctx, cands)
	if err != nil {
		return res, err
	}
	for _, d := range cands {
		if have[d.day][nameSize{strings.ToLower(d.name), d.e.Size}] {
			res.AlreadyThere = append(res.AlreadyThere, d.e.Path)
			if err := im.Log.MarkImported(ctx, d.key); err != nil {
				return res, err
			}
			continue
		}
		if err := im.upload(ctx, target, d); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Failed[d.e.Path] = err
			continue
		}
		res.Uploaded = append(res.Uploaded, d.e.Path)
		// A second file of the same name and size on the same day is the
		// same photo: it is not sent twice.
		if have[d.day] == nil {
			have[d.day] = map[nameSize]bool{}
		}
		have[d.day][nameSize{strings.ToLower(d.name), d.e.Size}] = true
		if err := im.Log.MarkImported(ctx, d.key); err != nil {
			return res, err
		}
	}
	return res, nil
}

type nameSize struct {
	name string
	size int64
}

func isPhoto(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	for _, x := range PhotoExtensions {
		if ext == x {
			return true
		}
	}
	return false
}

// dayPhotos lists the Daily Log photos of the candidates' days: for each
// day, the (name, size) pairs a dropped file may match.
func (im *DailyLogPhotoImporter) dayPhotos(ctx context.Context, cands []dropped) (map[string]map[nameSize]bool, error) {
	from, to := cands[0].day, cands[0].day
	for _, d := range cands {
		from, to = min(from, d.day), max(to, d.day)
	}
	var imgs []procore.Image
	for img, err := range im.c.Images.All(ctx, im.projectID, &procore.ImageListOptions{
		ListOptions: procore.ListOptions{PerPage: im.PerPage}, LogDate: from + "..." + to}) {
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	out := map[string]map[nameSize]bool{}
	if len(imgs) == 0 {
		return out, nil
	}
	dates := map[int64]string{}
	for h, err := range im.c.DailyLogs.Headers(ctx, im.projectID, from, to, im.PerPage) {
		if err != nil {
			return nil, err
		}
		dates[h.ID] = h.LogDate
	}
	byDay := map[string][]procore.Image{}
	for _, img := range imgs {
		if d, ok := dates[img.DailyLogHeaderID]; ok {
			byDay[d] = append(byDay[d], img)
		}
	}
	for d, list := range byDay {
		shown := dayPhotoNames(list)
		m := map[nameSize]bool{}
		for _, img := range list {
			m[nameSize{strings.ToLower(img.Filename), img.Size}] = true
			m[nameSize{strings.ToLower(shown[img.ID]), img.Size}] = true
		}
		out[d] = m
	}
	return out, nil
}

// errPhotoSize is the cause of a dropped file whose content does not have
// its listed size (it changed while being read).
var errPhotoSize = errors.New("the file changed while it was read")

// upload sends one dropped file and makes it a photo of its day.
func (im *DailyLogPhotoImporter) upload(ctx context.Context, target storage.Storage, d dropped) error {
	rc, err := target.Open(ctx, d.e)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := &countingReader{r: rc}
	uuid, err := im.c.Uploads.Send(ctx, procore.ProjectScope(im.projectID), d.name, "", cr, d.e.Size)
	if err != nil {
		return err
	}
	if cr.n != d.e.Size {
		return errPhotoSize
	}
	_, _, err = im.c.Images.CreateImage(ctx, im.projectID, procore.ImageCreate{UploadUUID: uuid, Name: d.name, LogDate: d.day})
	return err
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
