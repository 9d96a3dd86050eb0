package memory

import (
	"time"

	"github.com/procoresync/procoresync/storage"
)

// config holds what New's options set. It is shared by a Storage and every
// Storage made from it with Sub.
type config struct {
	rules          storage.NameRules
	versionHistory bool
	recycleBin     bool
	maxFileSize    int64
	maxDepth       int
	hashes         []storage.HashKind
	clock          func() time.Time
	precision      time.Duration
	chunkThreshold int64
	chunkSize      int64
	logSize        int
	sessionTTL     time.Duration
	noConditional  bool
}

func defaultConfig() config {
	return config{
		versionHistory: true,
		recycleBin:     true,
		hashes:         []storage.HashKind{storage.HashSHA256},
		clock:          time.Now,
		precision:      time.Nanosecond,
		chunkThreshold: 8 << 20,
		chunkSize:      2 << 20,
		logSize:        1 << 20,
		sessionTTL:     24 * time.Hour,
	}
}

// Option configures a Storage made by New.
type Option func(*config)

// WithNameRules sets the names the Storage accepts (default: any name that
// storage.NameRules{}.Validate accepts, case-sensitive). Put, MakeDir, Move
// and Copy refuse other names with a *storage.InvalidNameError. When
// rules.Normalization is set, names are stored in that normal form.
func WithNameRules(rules storage.NameRules) Option {
	return func(c *config) { c.rules = rules }
}

// CaseInsensitive makes names that differ only in case name the same item
// (the stored name keeps the case it was created with), as on SharePoint,
// OneDrive, Box and Dropbox. It sets NameRules.CaseInsensitive and can be
// combined with WithNameRules in either order.
func CaseInsensitive() Option {
	return func(c *config) { c.rules.CaseInsensitive = true }
}

// WithVersionHistory turns version history on (the default) or off. When on,
// Put over an existing file keeps the older content; see Storage.Versions.
func WithVersionHistory(on bool) Option {
	return func(c *config) { c.versionHistory = on }
}

// WithRecycleBin turns the recycle bin on (the default) or off. When on,
// Delete keeps what it deleted; see Storage.Trash.
func WithRecycleBin(on bool) Option {
	return func(c *config) { c.recycleBin = on }
}

// WithMaxFileSize sets the largest file Put accepts (0, the default: no
// limit). Larger files fail with an error matching storage.ErrTooLarge.
func WithMaxFileSize(n int64) Option {
	return func(c *config) { c.maxFileSize = n }
}

// WithMaxDepth sets how deep folders may nest below the root (0, the
// default: no limit; 1: folders only at the top level). A deeper MakeDir or
// Move fails with an error matching storage.ErrUnsupported.
func WithMaxDepth(n int) Option {
	return func(c *config) { c.maxDepth = n }
}

// WithHashes sets the hash kinds computed for every file (default
// sha256). Supported kinds are storage.HashMD5, HashSHA1 and HashSHA256;
// others are ignored. Hashes are computed once per content version.
func WithHashes(kinds ...storage.HashKind) Option {
	return func(c *config) {
		c.hashes = c.hashes[:0:0]
		for _, k := range kinds {
			if newHash(k) != nil {
				c.hashes = append(c.hashes, k)
			}
		}
	}
}

// WithClock sets the clock used for modification times, versions and
// upload session expiry (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.clock = now
		}
	}
}

// WithModTimePrecision truncates recorded modification times to d (default
// one nanosecond) and reports d in Features.ModTimePrecision.
func WithModTimePrecision(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.precision = d
		}
	}
}

// WithChunking sets when Put uploads in chunks: files larger than threshold
// bytes (0: never) go up in chunks of chunk bytes, calling
// PutOptions.OnUploadState after each (defaults: 8 MiB and 2 MiB). Files
// of unknown size switch to chunks once more than threshold bytes arrived.
func WithChunking(threshold, chunk int64) Option {
	return func(c *config) {
		c.chunkThreshold = max(threshold, 0)
		if chunk > 0 {
			c.chunkSize = chunk
		}
	}
}

// WithChangeLogSize sets how many changes the change feed keeps (default
// 1,048,576). Cursors older than that give storage.ErrCursorExpired.
func WithChangeLogSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.logSize = n
		}
	}
}

// WithUploadSessionTTL sets how long an interrupted chunked upload can be
// resumed, measured with the clock (default 24 hours).
func WithUploadSessionTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sessionTTL = d
		}
	}
}

// WithConditionalDeleteMove turns the Version checks of Delete and Move on
// (the default) or off. When on, Features reports ConditionalDelete and
// ConditionalMove and an Entry whose Version is not the item's current one
// is refused with storage.ErrPreconditionFailed; when off, Delete and Move
// act on whatever the item is now, as on a service without If-Match, so
// that callers can exercise the path where they must re-read first.
func WithConditionalDeleteMove(on bool) Option {
	return func(c *config) { c.noConditional = !on }
}
