package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
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

// form returns the norm.Form for n and whether there is one.
func (n Normalization) form() (norm.Form, bool) {
	switch n {
	case NormNFC:
		return norm.NFC, true
	case NormNFD:
		return norm.NFD, true
	}
	return 0, false
}

// NameRules describes which file and folder names a Storage accepts. It is
// data, so that the engine can map names between two storages and explain
// why a name was refused.
//
// Empty strings in the Reserved* lists are ignored.
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
	// "CON.txt" too). The stem is the part of a name before its first
	// period.
	ReservedStems []string
	// ReservedPrefixes are prefixes a name may not start with (e.g. "~$"),
	// compared without regard to case.
	ReservedPrefixes []string
	// ReservedSubstrings may not appear anywhere in a name (e.g. "_vti_"),
	// compared without regard to case.
	ReservedSubstrings []string
	// NoLeadingSpace, NoTrailingSpace and NoTrailingPeriod forbid names that
	// start with a space, end with a space, or end with a period.
	NoLeadingSpace, NoTrailingSpace, NoTrailingPeriod bool
	// AllowInvalidUTF8 accepts names that are not valid UTF-8: any byte
	// string without '/' and NUL, as Linux file systems store them. Map then
	// keeps such bytes as they are. Lengths count each invalid byte as one
	// character.
	AllowInvalidUTF8 bool
	// NoSpaceBeforeExt forbids whitespace right before a name's extension
	// (see SplitExt), as in "report .pdf".
	NoSpaceBeforeExt bool
	// MaxNameLength is the longest name in characters (0: no limit).
	MaxNameLength int
	// MaxPathLength is the longest path below the root in characters,
	// counting slashes (0: no limit).
	MaxPathLength int
	// CaseInsensitive is true when names that differ only in case name the
	// same item.
	CaseInsensitive bool
	// Normalization is the Unicode form the Storage stores names in; names
	// that differ only in normal form name the same item when it is set,
	// and Validate refuses names that are not in that form (the Storage
	// would store them under a different spelling).
	Normalization Normalization
}

// DefaultInvalidChars are the characters that Procore sync products replace
// with "-" when their "Special Characters" option is on.
const DefaultInvalidChars = `#%*:<>?/\|~"`

// DefaultReplacement is what Map puts in place of an invalid character.
const DefaultReplacement = "-"

// Key returns the form of name that the Storage compares names by: case
// folded (Unicode full case folding) when names are case-insensitive,
// normalised when a normal form is set. Two names with the same Key cannot
// live in the same folder.
//
// Without a normal form, names that differ only in normal form have
// different keys, as on NTFS, which compares names case-insensitively but
// does not normalise them.
func (r NameRules) Key(name string) string {
	f, hasForm := r.Normalization.form()
	if r.CaseInsensitive {
		if hasForm {
			// Canonical caseless matching: fold the decomposed form, then
			// normalise again (folding can denormalise).
			return f.String(fold(norm.NFD.String(name)))
		}
		return fold(name)
	}
	if hasForm {
		return f.String(name)
	}
	return name
}

// fold applies Unicode full case folding to s, then maps each character to
// the smallest member of its simple case folding orbit, keeping bytes that
// are not valid UTF-8 as they are (so that different invalid names keep
// different keys).
//
// The second step makes the result idempotent and case-blind where
// x/text's Fold is not: it maps Cherokee capitals to small letters and
// small letters to capitals ("Ꭰ" → "ꭰ" but "ꭰ" → "Ꭰ").
func fold(s string) string {
	// A Caser is stateful and must not be shared between goroutines.
	caser := cases.Fold()
	c := func(s string) string { return strings.Map(orbitMin, caser.String(s)) }
	if utf8.ValidString(s) {
		return c(s)
	}
	var b strings.Builder
	for len(s) > 0 {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		b.WriteString(c(s[:i]))
		s = s[i:]
		for len(s) > 0 {
			r, n := utf8.DecodeRuneInString(s)
			if r != utf8.RuneError || n != 1 {
				break
			}
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String()
}

// Validate checks one name (a single path segment) and returns an
// *InvalidNameError that says what is wrong, or nil.
func (r NameRules) Validate(name string) error {
	switch {
	case name == "":
		return InvalidName(name, "empty name")
	case name == "." || name == "..":
		return InvalidName(name, "relative path element")
	case !r.AllowInvalidUTF8 && !utf8.ValidString(name):
		return InvalidName(name, "not valid UTF-8")
	}
	for _, c := range name {
		if r.invalidRune(c) {
			if r.NoControlChars && isControl(c) {
				return InvalidName(name, fmt.Sprintf("contains control character %U", c))
			}
			return InvalidName(name, fmt.Sprintf("contains %q", c))
		}
	}
	if f, ok := r.Normalization.form(); ok && !f.IsNormalString(name) {
		return InvalidName(name, fmt.Sprintf("not in Unicode normal form %s", r.Normalization))
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
	if r.NoSpaceBeforeExt {
		if stem, ext := SplitExt(name); ext != "" && strings.TrimRightFunc(stem, unicode.IsSpace) != stem {
			return InvalidName(name, "whitespace before the extension")
		}
	}
	if r.MaxNameLength > 0 && utf8.RuneCountInString(name) > r.MaxNameLength {
		return InvalidName(name, fmt.Sprintf("longer than %d characters", r.MaxNameLength))
	}
	if res, ok := r.reservedName(name); ok {
		return InvalidName(name, fmt.Sprintf("reserved name %q", res))
	}
	if res, ok := r.reservedStem(name); ok {
		return InvalidName(name, fmt.Sprintf("reserved name %q", res))
	}
	for _, p := range r.ReservedPrefixes {
		if _, ok := hasPrefixFold(name, p); ok && p != "" {
			return InvalidName(name, fmt.Sprintf("starts with reserved %q", p))
		}
	}
	for _, s := range r.ReservedSubstrings {
		if _, ok := indexFold(name, s); ok {
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

// Map turns name into one that Validate accepts, changing as little as it
// can, and returns names that Validate accepts unchanged. So
// r.Validate(r.Map(x, rep)) == nil, r.Map(r.Map(x, rep), rep) ==
// r.Map(x, rep) and r.Map(x, rep) == x when r.Validate(x) == nil.
//
// replacement is what takes the place of whatever is not allowed ("" means
// DefaultReplacement). A replacement that is not itself a valid name made
// of printable, non-space characters other than '.' falls back to "_" (and,
// should that be invalid too, to "-" or "x"). Map
//
//   - replaces each byte of invalid UTF-8 with the replacement (unless
//     AllowInvalidUTF8 is set);
//   - brings the name into the rules' normal form (NFC or NFD);
//   - replaces each invalid character ('/', NUL, InvalidChars, and control
//     characters when they are forbidden) with the replacement;
//   - replaces forbidden leading spaces and trailing spaces and periods
//     each with the replacement (rather than deleting them, which could
//     empty a name or merge two names), before the extension when the
//     rest has one ("a.pdf " → "a-.pdf"), and forbidden whitespace before
//     the extension ("a .pdf" → "a-.pdf");
//   - appends the replacement to the stem of a reserved name or stem
//     ("CON" → "CON-", "con.txt" → "con-.txt", "desktop.ini" →
//     "desktop-.ini");
//   - replaces the first character of a reserved prefix or substring
//     ("~$x.docx" → "-$x.docx", "a_vti_b" → "a-vti_b");
//   - shortens a name longer than MaxNameLength, keeping its extension
//     (see SplitExt) and never splitting a base character from its
//     combining marks where it can avoid it;
//   - turns "" into the replacement and "." and ".." into one replacement
//     per period.
//
// Different names can map to the same one; see Disambiguate. Map cannot
// produce a valid name only for rule sets that refuse every replacement it
// tries, or that reserve every short name; it then returns its best effort.
func (r NameRules) Map(name, replacement string) string {
	if r.Validate(name) == nil {
		return name
	}
	var out string
	for _, rep := range r.replacements(replacement) {
		out = r.mapWith(name, rep)
		if r.Validate(out) == nil {
			return out
		}
	}
	return out
}

// MapPath maps each segment of the slash-separated path p with Map. The
// empty path (the root) stays empty; an empty segment ("a//b") becomes the
// replacement. MapPath does not shorten paths longer than MaxPathLength:
// ValidatePath reports those.
func (r NameRules) MapPath(p, replacement string) string {
	if p == "" {
		return ""
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = r.Map(s, replacement)
	}
	return strings.Join(segs, "/")
}

// Disambiguate returns the name to give an item whose mapped name collides
// with that of a different item in the same folder. It inserts a suffix
// between the stem and the extension (see SplitExt) of mapped:
//
//	stem (~xxxxxx).ext
//
// where xxxxxx are the first six hexadecimal digits of the SHA-256 of
// original, the item's name before mapping. The result depends only on the
// two names, never on the order in which items are processed, so every run
// and every worker picks the same name. Different originals give different
// suffixes except for a one in 16.7 million chance.
//
// Disambiguate knows no NameRules: the suffix contains ' ', '(', '~' and
// ')' and makes the name 10 characters longer. Use NameRules.MapDisambiguated
// to get a name that is also valid on a particular Storage.
func Disambiguate(mapped, original string) string {
	stem, ext := SplitExt(mapped)
	return stem + disambiguationSuffix(original) + ext
}

// disambiguationSuffix returns " (~xxxxxx)" for original.
func disambiguationSuffix(original string) string {
	sum := sha256.Sum256([]byte(original))
	return " (~" + hex.EncodeToString(sum[:3]) + ")"
}

// MapDisambiguated is Disambiguate(r.Map(original, replacement), original)
// made valid under r: characters of the suffix that r forbids (such as '~'
// in DefaultInvalidChars) are replaced, and the stem is shortened so that
// the suffix and the extension fit in MaxNameLength. The result differs
// from r.Map(original, replacement) and depends only on original, r and
// replacement.
func (r NameRules) MapDisambiguated(original, replacement string) string {
	mapped := r.Map(original, replacement)
	rep := r.replacements(replacement)[0]
	suffix := r.replaceInvalidRunes(disambiguationSuffix(original), rep)
	stem, ext := SplitExt(mapped)
	if limit := r.MaxNameLength; limit > 0 {
		sl, el := utf8.RuneCountInString(suffix), utf8.RuneCountInString(ext)
		if sl+el >= limit {
			stem, ext, el = mapped, "", 0
		}
		if room := limit - sl - el; room >= 1 && utf8.RuneCountInString(stem) > room {
			stem = r.truncate(stem, room)
		}
	}
	out := stem + suffix + ext
	if r.Validate(out) == nil {
		return out
	}
	return r.Map(out, replacement)
}

// SplitExt splits name into its stem and its extension, which starts at the
// last period: "a.tar.gz" gives "a.tar" and ".gz". A name whose only
// periods lead it (".bashrc", "..x") or that ends with a period ("a.") has
// no extension: the stem is the whole name and ext is "".
func SplitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 || strings.Trim(name[:i], ".") == "" {
		return name, ""
	}
	return name[:i], name[i:]
}

// replacements returns the replacements Map tries, in order: replacement
// (or DefaultReplacement), then "_", "-" and "x", each only if usable.
func (r NameRules) replacements(replacement string) []string {
	if replacement == "" {
		replacement = DefaultReplacement
	}
	var reps []string
	for _, c := range []string{replacement, "_", "-", "x"} {
		if r.usableReplacement(c) && !contains(reps, c) {
			reps = append(reps, c)
		}
	}
	if len(reps) == 0 {
		return []string{"_"}
	}
	return reps
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// usableReplacement reports whether c may replace a character: it must be
// a valid name on its own, of printable characters, without spaces or
// periods (which could recreate a forbidden leading or trailing character).
func (r NameRules) usableReplacement(c string) bool {
	if r.Validate(c) != nil {
		return false
	}
	for _, x := range c {
		if !unicode.IsGraphic(x) || unicode.IsSpace(x) || x == '.' {
			return false
		}
	}
	return true
}

// mapWith applies mapping passes with replacement rep until the name is
// valid or the passes stop helping.
func (r NameRules) mapWith(name, rep string) string {
	const maxPasses = 8
	s := name
	for range maxPasses {
		next := r.mapPass(s, rep)
		if r.Validate(next) == nil || next == s {
			return next
		}
		s = next
	}
	return s
}

// mapPass applies every repair once, in an order where later repairs do
// not undo earlier ones for ordinary rule sets. mapWith repeats it for the
// rest.
func (r NameRules) mapPass(s, rep string) string {
	if !r.AllowInvalidUTF8 && !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			c, n := utf8.DecodeRuneInString(s[i:])
			if c == utf8.RuneError && n == 1 {
				b.WriteString(rep)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
		s = b.String()
	}
	if s == "." || s == ".." {
		s = strings.Repeat(rep, len(s))
	}
	if f, ok := r.Normalization.form(); ok {
		s = f.String(s)
	}
	s = r.replaceInvalidRunes(s, rep)
	if s == "" {
		s = rep
	}
	s = r.replaceEdges(s, rep)
	if r.NoSpaceBeforeExt {
		if stem, ext := SplitExt(s); ext != "" {
			t := strings.TrimRightFunc(stem, unicode.IsSpace)
			s = t + strings.Repeat(rep, utf8.RuneCountInString(stem[len(t):])) + ext
		}
	}
	if _, ok := r.reservedName(s); ok {
		stem, ext := SplitExt(s)
		s = r.appendToStem(stem, ext, rep)
	}
	if _, ok := r.reservedStem(s); ok {
		stem, ext := s, ""
		if i := strings.IndexByte(s, '.'); i >= 0 {
			stem, ext = s[:i], s[i:]
		}
		s = r.appendToStem(stem, ext, rep)
	}
	for range len(r.ReservedPrefixes) + 1 {
		changed := false
		for _, p := range r.ReservedPrefixes {
			if _, ok := hasPrefixFold(s, p); ok && p != "" {
				_, n := utf8.DecodeRuneInString(s)
				s = rep + s[n:]
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for range utf8.RuneCountInString(s) + 1 {
		i, ok := r.reservedSubstring(s)
		if !ok {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		s = s[:i] + rep + s[i+n:]
	}
	return r.shorten(s)
}

// replaceInvalidRunes replaces each character that r forbids anywhere in a
// name with rep.
func (r NameRules) replaceInvalidRunes(s, rep string) string {
	if !strings.ContainsFunc(s, r.invalidRune) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		if r.invalidRune(c) {
			b.WriteString(rep)
		} else {
			b.WriteString(s[i : i+n]) // keeps bytes of invalid UTF-8 as they are
		}
		i += n
	}
	return b.String()
}

// replaceEdges replaces forbidden leading spaces and trailing spaces and
// periods, each with rep. When what precedes trailing ones has an extension,
// the replacements go before the extension, so that it stays intact
// ("report.pdf " → "report-.pdf", not "report.pdf-").
func (r NameRules) replaceEdges(s, rep string) string {
	if r.NoLeadingSpace {
		t := strings.TrimLeft(s, " ")
		s = strings.Repeat(rep, len(s)-len(t)) + t
	}
	end := len(s)
	for end > 0 && ((s[end-1] == ' ' && r.NoTrailingSpace) || (s[end-1] == '.' && r.NoTrailingPeriod)) {
		end--
	}
	if end < len(s) {
		reps := strings.Repeat(rep, len(s)-end)
		if stem, ext := SplitExt(s[:end]); ext != "" && !strings.ContainsFunc(ext, unicode.IsSpace) {
			return stem + reps + ext
		}
		s = s[:end] + reps
	}
	return s
}

// appendToStem returns stem+rep+ext, shortening stem first if the result
// would be longer than MaxNameLength (so that shortening the name later
// does not cut rep off again).
func (r NameRules) appendToStem(stem, ext, rep string) string {
	if limit := r.MaxNameLength; limit > 0 {
		room := limit - utf8.RuneCountInString(ext) - utf8.RuneCountInString(rep)
		if room >= 1 && utf8.RuneCountInString(stem) > room {
			stem = r.truncate(stem, room)
		}
	}
	return stem + rep + ext
}

// shorten cuts s to MaxNameLength characters, keeping its extension when
// the extension is shorter than the limit.
func (r NameRules) shorten(s string) string {
	limit := r.MaxNameLength
	if limit <= 0 || utf8.RuneCountInString(s) <= limit {
		return s
	}
	stem, ext := SplitExt(s)
	if el := utf8.RuneCountInString(ext); el > 0 && el < limit {
		return r.truncate(stem, limit-el) + ext
	}
	return r.truncate(s, limit)
}

// truncate returns the first n (≥ 1) characters of s, or fewer so as not to
// cut a character from the combining marks that follow it.
func (r NameRules) truncate(s string, n int) string {
	cut := 0
	for k := 0; k < n && cut < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	if cut >= len(s) {
		return s
	}
	f, ok := r.Normalization.form()
	if !ok {
		f = norm.NFC
	}
	c := cut
	for c > 0 && !f.PropertiesString(s[c:]).BoundaryBefore() {
		_, size := utf8.DecodeLastRuneInString(s[:c])
		c -= size
	}
	if c == 0 {
		c = cut
	}
	return s[:c]
}

// invalidRune reports whether c may not appear anywhere in a name.
func (r NameRules) invalidRune(c rune) bool {
	return c == '/' || c == 0 || strings.ContainsRune(r.InvalidChars, c) ||
		(r.NoControlChars && isControl(c))
}

func isControl(c rune) bool { return c < 0x20 || c == 0x7f }

// reservedName returns the entry of ReservedNames that name is.
func (r NameRules) reservedName(name string) (string, bool) {
	for _, res := range r.ReservedNames {
		if res != "" && strings.EqualFold(name, res) {
			return res, true
		}
	}
	return "", false
}

// reservedStem returns the entry of ReservedStems that name's part before
// its first period is.
func (r NameRules) reservedStem(name string) (string, bool) {
	stem, _, _ := strings.Cut(name, ".")
	for _, res := range r.ReservedStems {
		if res != "" && strings.EqualFold(stem, res) {
			return res, true
		}
	}
	return "", false
}

// reservedSubstring returns the byte offset of the first reserved
// substring in s.
func (r NameRules) reservedSubstring(s string) (int, bool) {
	best, found := 0, false
	for _, sub := range r.ReservedSubstrings {
		if i, ok := indexFold(s, sub); ok && (!found || i < best) {
			best, found = i, true
		}
	}
	return best, found
}

// hasPrefixFold reports whether s starts with prefix under simple Unicode
// case folding (as strings.EqualFold compares), and the length in bytes of
// the matching part of s.
func hasPrefixFold(s, prefix string) (int, bool) {
	i := 0
	for _, pc := range prefix {
		if i >= len(s) {
			return 0, false
		}
		sc, n := utf8.DecodeRuneInString(s[i:])
		if !equalFoldRune(sc, pc) {
			return 0, false
		}
		i += n
	}
	return i, true
}

// indexFold returns the byte offset of the first occurrence of a non-empty
// sub in s under simple case folding.
func indexFold(s, sub string) (int, bool) {
	if sub == "" {
		return 0, false
	}
	for i := 0; i < len(s); {
		if _, ok := hasPrefixFold(s[i:], sub); ok {
			return i, true
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return 0, false
}

// orbitMin returns the smallest rune that simple case folding makes equal
// to c.
func orbitMin(c rune) rune {
	m := c
	for o := unicode.SimpleFold(c); o != c; o = unicode.SimpleFold(o) {
		m = min(m, o)
	}
	return m
}

// equalFoldRune reports whether a and b are equal under simple case folding.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	for c := unicode.SimpleFold(a); c != a; c = unicode.SimpleFold(c) {
		if c == b {
			return true
		}
	}
	return false
}
