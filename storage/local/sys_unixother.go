//go:build unix && !linux

package local

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace reports that this platform has no atomic rename without
// replace; callers fall back to a hard link (files) or check-then-rename.
func renameNoReplace(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return unix.ENOSYS
}

// xattrSupported is false: IDs live in the persistent inode index.
const xattrSupported = false

func getXattr(f *os.File) (string, error) { return "", errAttrUnsupported }

func setXattr(f *os.File, v string) error { return errAttrUnsupported }

// changeTime is 0: the inode change time is only read on Linux.
func changeTime(fi fs.FileInfo) int64 { return 0 }

// birthStamp is "": birth times are only read on Linux.
func birthStamp(f *os.File) string { return "" }

func birthStampAt(dir *os.File, name string) string { return "" }

// syncFS makes durable what it can of the file system that holds root:
// the root folder (this platform has no syncfs).
func syncFS(root *os.Root) {
	if d, err := root.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// syncWhole reports false: the files are synced one by one here.
func syncWhole([]pendingFile) bool { return false }
