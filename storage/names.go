package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalization is a Unicode normal form a Storage stores names in.
type Normalization string

// The Unicode normal forms.
const (
	NormNone Normalization = ""    // names are stored as given
	NormNFC  Normalization = "NFC" // composed (Windows, most services)
	NormNFD  Normalization = "NFD" // decomposed (classic macOS)
)

// NameRules describes which file and folder names a Storage accepts. It is
// data, so that the engine can map names between two storages and explain
// why a name was refused.
type NameRules struct {
	// InvalidChars lists characters that may not appear in a name. '/' and
	// NUL are always invalid.
	InvalidChars string
	// NoControlChars forbids characters below U+0020 and U+007F.
	NoControlChars bool
	// ReservedNames are names that may not be used, compared without
	// regard to case (e.g. "CON", ".lock", "desktop.ini").
	ReservedNames []string
	// ReservedStems are names that may not be used with or without an
	// extension, compared without regard to case (Windows' "CON" forbids
	// "CON.txt" too).
	ReservedStems []string
	// ReservedPrefixes are prefixes a name may not start with (e.g. "~$").
	ReservedPrefixes []string
	// ReservedSubstrings may not appear anywhere in a name (e.g. "_vti_").
	ReservedSubstrings []string
	// NoLeadingSpace, NoTrailingSpace and NoTrailingPeriod forbid names that
	// start with a space, end with a space, or end with a period.
	NoLeadingSpace, NoTrailingSpace, NoTrailingPeriod bool
	// MaxNameLength is the longest name in characters (0: no limit).
	MaxNameLength int
	// MaxPathLength is the longest path below the root in characters,
	// counting slashes (0: no limit).
	MaxPathLength int
	// CaseInsensitive is true when names that differ only in case name the
	// same item.
	CaseInsensitive bool
	// Normalization is the Unicode form the Storage stores names in; names
	// that differ only in normal form name the same item when it is set.
	Normalization Normalization
}

// DefaultInvalidChars are the characters that Procore sync products replace
// with "-" when their "Special Characters" option is on.
const DefaultInvalidChars = `#%*:<>?/\|~"`

// DefaultReplacement is what Map puts in place of an invalid character.
const DefaultReplacement = "-"

var folder = cases.Fold()

// Key returns the form of name that the Storage compares names by: case
// folded when names are case-insensitive, normalised when a normal form is
// set. Two names with the same Key cannot live in the same folder.
func (r NameRules) Key(name string) string {
	switch r.Normalization {
	case NormNFC:
		name = norm.NFC.String(name)
	case NormNFD:
		name = norm.NFD.String(name)
	}
	if r.CaseInsensitive {
		name = folder.String(norm.NFC.String(name))
	}
	return name
}

// Validate checks one name (a single path segment) and returns an
// *InvalidNameError that says what is wrong, or nil.
func (r NameRules) Validate(name string) error {
	switch {
	case name == "":
		return InvalidName(name, "empty name")
	case name == "." || name == "..":
		return InvalidName(name, "relative path element")
	case !utf8.ValidString(name):
		return InvalidName(name, "not valid UTF-8")
	}
	for _, c := range name {
		switch {
		case c == '/' || c == 0:
			return InvalidName(name, fmt.Sprintf("contains %q", c))
		case strings.ContainsRune(r.InvalidChars, c):
			return InvalidName(name, fmt.Sprintf("contains %q", c))
		case r.NoControlChars && (c < 0x20 || c == 0x7f):
			return InvalidName(name, fmt.Sprintf("contains control character %U", c))
		}
	}
	if r.NoLeadingSpace && strings.HasPrefix(name, " ") {
		return InvalidName(name, "starts with a space")
	}
	if r.NoTrailingSpace && strings.HasSuffix(name, " ") {
		return InvalidName(name, "ends with a space")
	}
	if r.NoTrailingPeriod && strings.HasSuffix(name, ".") {
		return InvalidName(name, "ends with a period")
	}
	if r.MaxNameLength > 0 && utf8.RuneCountInString(name) > r.MaxNameLength {
		return InvalidName(name, fmt.Sprintf("longer than %d characters", r.MaxNameLength))
	}
	for _, res := range r.ReservedNames {
		if strings.EqualFold(name, res) {
			return InvalidName(name, fmt.Sprintf("reserved name %q", res))
		}
	}
	stem, _, _ := strings.Cut(name, ".")
	for _, res := range r.ReservedStems {
		if strings.EqualFold(stem, res) {
			return InvalidName(name, fmt.Sprintf("reserved name %q", res))
		}
	}
	for _, p := range r.ReservedPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return InvalidName(name, fmt.Sprintf("starts with reserved %q", p))
		}
	}
	lower := strings.ToLower(name)
	for _, s := range r.ReservedSubstrings {
		if strings.Contains(lower, strings.ToLower(s)) {
			return InvalidName(name, fmt.Sprintf("contains reserved %q", s))
		}
	}
	return nil
}

// ValidatePath checks every segment of a slash-separated path and the
// path's length.
func (r NameRules) ValidatePath(p string) error {
	if p == "" {
		return nil
	}
	if r.MaxPathLength > 0 && utf8.RuneCountInString(p) > r.MaxPathLength {
		return InvalidName(p, fmt.Sprintf("path longer than %d characters", r.MaxPathLength))
	}
	for _, seg := range strings.Split(p, "/") {
		if err := r.Validate(seg); err != nil {
			return err
		}
	}
	return nil
}
