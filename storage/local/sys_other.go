//go:build !unix

package local

import (
	"errors"
	"io/fs"
	"os"
)

// platformSupported is false: file identity (inode numbers) is only read on
// Unix-like systems, so New refuses to open a root here.
const platformSupported = false

const xattrSupported = false

var errPlatform = errors.New("local storage needs a Unix-like system")

func fileKey(fi fs.FileInfo) (dev, ino, nlink uint64, ok bool) { return 0, 0, 0, false }

func linkNoReplace(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return errPlatform
}

func renameAt(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return errPlatform
}

func renameNoReplace(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return errPlatform
}

func getXattr(f *os.File) (string, error) { return "", errAttrUnsupported }

func setXattr(f *os.File, v string) error { return errAttrUnsupported }

func errnoKind(err error) error { return nil }

func isNoReplaceUnsupported(err error) bool { return false }

const openNoBlock = 0

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
