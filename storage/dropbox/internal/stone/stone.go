// Package stone reads the subset of Dropbox's Stone interface description
// language that the API's files, auth and common namespaces use (aliases,
// structs with inheritance and enumerated subtypes, unions, primitive types
// with constraints, lists, maps, nullable types) and validates JSON values
// against its types as Dropbox serialises them: structs as objects,
// subtypes and union members tagged with ".tag", Void members as bare
// strings, struct members flattened into the union's object. The route
// table comes from routes.json. Tests use it to hold the client and the
// fake to the vendor's description.
package stone

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Type is a parsed type reference: a name (qualified "ns.Name" once
// resolved) with arguments, nullable or not.
type Type struct {
	Name     string
	Args     map[string]string // constraints (min_length=1, pattern="…")
	Pos      []*Type           // positional type arguments (List, Map)
	Format   string            // Timestamp format
	Nullable bool
}

// Field is a struct field or union member.
type Field struct {
	Name       string
	Type       *Type // nil for a Void union member
	HasDefault bool
}

// Def is a struct, union or alias definition.
type Def struct {
	Kind     string // "struct", "union", "alias"
	NS, Name string
	Extends  string
	Closed   bool
	Fields   []Field
	Subtypes []Field // enumerated subtypes of a struct
	CatchAll bool
	Alias    *Type
}

// Route is one entry of routes.json.
type Route struct {
	Namespace string `json:"namespace"`
	Route     string `json:"route"`
	Version   int    `json:"version"`
	Host      string `json:"host"`
	Style     string `json:"style"`
	Auth      string `json:"auth"`
	Arg       string `json:"arg"`
	Result    string `json:"result"`
	Error     string `json:"error"`
}

// Path returns the URL path of the route: /2/{namespace}/{route}[_vN].
func (r Route) Path() string {
	p := "/2/" + r.Namespace + "/" + r.Route
	if r.Version > 1 {
		p += "_v" + strconv.Itoa(r.Version)
	}
	return p
}

// Spec is the parsed description.
type Spec struct {
	Defs   map[string]*Def // by "ns.Name"
	Routes map[string]Route
	// OpenUnions accepts unknown members of open unions (as a client of a
	// newer service must); by default every tag must be described.
	OpenUnions bool
}

// Load parses every .stone file and routes.json in dir.
func Load(dir string) (*Spec, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.stone"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("stone: no .stone files in %s", dir)
	}
	sp := &Spec{Defs: map[string]*Def{}, Routes: map[string]Route{}}
	for _, f := range files {
		if err := sp.parseFile(f); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "routes.json"))
	if err != nil {
		return nil, err
	}
	var rj struct {
		Routes []Route `json:"routes"`
	}
	if err := json.Unmarshal(b, &rj); err != nil {
		return nil, fmt.Errorf("stone: routes.json: %w", err)
	}
	for _, r := range rj.Routes {
		sp.Routes[r.Path()] = r
	}
	return sp, nil
}

// stripStrings removes string literals (which may span lines), leaving
// `""` in their place and keeping the lines they started on.
func stripStrings(src string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case in && c == '\\':
			i++
		case in && c == '"':
			in = false
			b.WriteString(`""`)
		case in:
		case c == '"':
			in = true
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			if i < len(src) {
				b.WriteByte('\n')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func (sp *Spec) parseFile(name string) error {
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	// Literal strings on definition lines (patterns, timestamp formats) are
	// read from the raw line; everything else sees them stripped.
	rawLines := map[int]string{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 0; sc.Scan(); n++ {
		rawLines[n] = sc.Text()
	}
	lines := strings.Split(stripStrings(string(raw)), "\n")
	// stripStrings drops the lines inside multi-line strings; map stripped
	// lines back to raw ones by counting newlines dropped.
	ns := ""
	var cur *Def
	sub := false // inside an enumerated-subtypes block
	skipBelow := -1
	rawIdx := 0
	for _, l := range lines {
		rl := rawLines[rawIdx]
		rawIdx += 1 + strings.Count(rl, "\n")
		// Advance rawIdx past lines swallowed by a multi-line string.
		if q := strings.Count(rl, `"`) - strings.Count(rl, `\"`); q%2 == 1 {
			for rawIdx < len(rawLines) {
				nl := rawLines[rawIdx]
				rawIdx++
				if (strings.Count(nl, `"`)-strings.Count(nl, `\"`))%2 == 1 {
					break
				}
			}
		}
		t := strings.TrimSpace(l)
		if t == "" || t == `""` {
			continue
		}
		ind := indent(l)
		if skipBelow >= 0 {
			if ind > skipBelow {
				continue
			}
			skipBelow = -1
		}
		f := strings.Fields(t)
		if ind == 0 {
			cur, sub = nil, false
			switch f[0] {
			case "namespace":
				ns = f[1]
			case "alias":
				ty, err := parseType(strings.TrimSpace(strings.SplitN(rl, "=", 2)[1]), ns)
				if err != nil {
					return fmt.Errorf("%s: alias %s: %w", name, f[1], err)
				}
				sp.Defs[ns+"."+f[1]] = &Def{Kind: "alias", NS: ns, Name: f[1], Alias: ty}
			case "struct", "union", "union_closed":
				d := &Def{Kind: strings.TrimSuffix(f[0], "_closed"), NS: ns, Name: f[1], Closed: f[0] == "union_closed"}
				if len(f) >= 4 && f[2] == "extends" {
					d.Extends = qualify(f[3], ns)
				}
				sp.Defs[ns+"."+d.Name] = d
				cur = d
			case "route", "import", "annotation", "annotation_type":
				skipBelow = 0
			default:
				skipBelow = 0
			}
			continue
		}
		if cur == nil {
			continue
		}
		if ind == 4 {
			sub = false
			switch f[0] {
			case "example":
				skipBelow = 4
				continue
			case "union", "union_closed":
				if cur.Kind == "struct" {
					sub = true
					continue
				}
			}
			if fd, ok, err := parseField(rl, ns, cur.Kind == "union"); err != nil {
				return fmt.Errorf("%s: %s.%s: %w", name, ns, cur.Name, err)
			} else if ok {
				if fd.Name == "*" {
					cur.CatchAll = true
				}
				cur.Fields = append(cur.Fields, fd)
			}
			continue
		}
		if ind == 8 && sub {
			cur.Subtypes = append(cur.Subtypes, Field{Name: f[0], Type: &Type{Name: qualify(f[1], ns)}})
		}
	}
	return nil
}

var fieldRE = regexp.MustCompile(`^\s*([a-z_][a-z0-9_]*)(\*)?(?:\s+(.*?))?\s*$`)

// parseField reads "name Type[?] [= default]" (or a Void union member).
func parseField(raw, ns string, union bool) (Field, bool, error) {
	line := raw
	if i := strings.IndexByte(strings.TrimSpace(line), '"'); i == 0 {
		return Field{}, false, nil
	}
	def := false
	// Split off a default, outside parentheses and strings.
	depth, inStr := 0, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '=' && depth == 0:
			line, def = line[:i], true
			i = len(line)
		}
	}
	m := fieldRE.FindStringSubmatch(line)
	if m == nil {
		return Field{}, false, nil
	}
	fd := Field{Name: m[1], HasDefault: def}
	if m[2] == "*" {
		fd.Name = "*"
		return fd, true, nil
	}
	if m[3] == "" {
		if !union {
			return Field{}, false, fmt.Errorf("field %s without a type", m[1])
		}
		return fd, true, nil
	}
	ty, err := parseType(m[3], ns)
	if err != nil {
		return Field{}, false, err
	}
	if ty.Name == "Void" && !ty.Nullable {
		ty = nil
	}
	fd.Type = ty
	return fd, true, nil
}

var primitives = map[string]bool{"String": true, "Boolean": true, "UInt32": true, "UInt64": true, "Int32": true, "Int64": true,
	"Float32": true, "Float64": true, "Timestamp": true, "Bytes": true, "Void": true, "List": true, "Map": true}

func qualify(name, ns string) string {
	if primitives[name] || strings.Contains(name, ".") {
		return name
	}
	return ns + "." + name
}

// parseType reads a type reference such as String(min_length=1,
// pattern="…")?, List(Metadata), common.DropboxTimestamp?.
func parseType(s, ns string) (*Type, error) {
	s = strings.TrimSpace(s)
	t := &Type{Args: map[string]string{}}
	if strings.HasSuffix(s, "?") {
		t.Nullable = true
		s = strings.TrimSuffix(s, "?")
	}
	name, args, hasArgs := strings.Cut(s, "(")
	t.Name = qualify(strings.TrimSpace(name), ns)
	if !hasArgs {
		return t, nil
	}
	args = strings.TrimSuffix(strings.TrimSpace(args), ")")
	for _, a := range splitArgs(args) {
		k, v, kv := strings.Cut(a, "=")
		switch {
		case kv && !strings.HasPrefix(strings.TrimSpace(k), `"`):
			t.Args[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case strings.HasPrefix(strings.TrimSpace(a), `"`):
			f, _ := strconv.Unquote(strings.TrimSpace(a))
			t.Format = f
		default:
			p, err := parseType(a, ns)
			if err != nil {
				return nil, err
			}
			t.Pos = append(t.Pos, p)
		}
	}
	return t, nil
}

// splitArgs splits on commas outside parentheses and strings.
func splitArgs(s string) []string {
	var out []string
	depth, inStr, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, strings.TrimSpace(s[start:]))
	}
	return out
}

// fields returns d's fields with its ancestors' first.
func (sp *Spec) fields(d *Def) []Field {
	var out []Field
	if d.Extends != "" {
		if p := sp.Defs[d.Extends]; p != nil {
			out = sp.fields(p)
		}
	}
	return append(out, d.Fields...)
}

// Validate checks JSON value v (decoded with UseNumber) against the type
// named name ("files.ListFolderArg", "Void").
func (sp *Spec) Validate(name string, v any) error {
	if name == "Void" || name == "" {
		if v != nil {
			return fmt.Errorf("want no value (Void), got %v", v)
		}
		return nil
	}
	return sp.check(&Type{Name: name}, v, "$")
}

// ValidateJSON decodes data and validates it against name.
func (sp *Spec) ValidateJSON(name string, data []byte) error {
	if name == "Void" && len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sp.Validate(name, v)
}

func (sp *Spec) check(t *Type, v any, at string) error {
	if v == nil {
		if t.Nullable {
			return nil
		}
		return fmt.Errorf("%s: null for non-nullable %s", at, t.Name)
	}
	switch t.Name {
	case "Void":
		return fmt.Errorf("%s: want no value (Void), got %v", at, v)
	case "String":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
		n := len([]rune(s))
		if m, ok := t.Args["min_length"]; ok {
			if k, _ := strconv.Atoi(m); n < k {
				return fmt.Errorf("%s: %q shorter than %d", at, s, k)
			}
		}
		if m, ok := t.Args["max_length"]; ok {
			if k, _ := strconv.Atoi(m); n > k {
				return fmt.Errorf("%s: %q longer than %d", at, s, k)
			}
		}
		if p, ok := t.Args["pattern"]; ok {
			pat, _ := strconv.Unquote(p)
			re, err := regexp.Compile(`^(?:` + pat + `)$`)
			if err == nil && !re.MatchString(s) {
				return fmt.Errorf("%s: %q does not match %s", at, s, pat)
			}
		}
		return nil
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
		return nil
	case "UInt32", "UInt64", "Int32", "Int64", "Float32", "Float64":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a number, got %T", at, v)
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		if strings.Contains(t.Name, "Int") {
			if f != math.Trunc(f) || strings.ContainsAny(n.String(), ".eE") {
				return fmt.Errorf("%s: %s is not an integer", at, n)
			}
			if strings.HasPrefix(t.Name, "U") && f < 0 {
				return fmt.Errorf("%s: %s is negative", at, n)
			}
		}
		for k, cmp := range map[string]func(a, b float64) bool{"min_value": func(a, b float64) bool { return a < b }, "max_value": func(a, b float64) bool { return a > b }} {
			if m, ok := t.Args[k]; ok {
				if b, _ := strconv.ParseFloat(m, 64); cmp(f, b) {
					return fmt.Errorf("%s: %s out of range (%s %s)", at, n, k, m)
				}
			}
		}
		return nil
	case "Timestamp":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a timestamp string, got %T", at, v)
		}
		layout := strings.NewReplacer("%Y", "2006", "%m", "01", "%d", "02", "%H", "15", "%M", "04", "%S", "05").Replace(t.Format)
		if _, err := time.Parse(layout, s); err != nil || strings.Count(s, ".") != strings.Count(layout, ".") {
			return fmt.Errorf("%s: %q is not a %s timestamp", at, s, t.Format)
		}
		return nil
	case "Bytes":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want base64 bytes, got %T", at, v)
		}
		return nil
	case "List":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %T", at, v)
		}
		if m, ok := t.Args["max_items"]; ok {
			if k, _ := strconv.Atoi(m); len(a) > k {
				return fmt.Errorf("%s: %d items, at most %d", at, len(a), k)
			}
		}
		if m, ok := t.Args["min_items"]; ok {
			if k, _ := strconv.Atoi(m); len(a) < k {
				return fmt.Errorf("%s: %d items, at least %d", at, len(a), k)
			}
		}
		for i, x := range a {
			if err := sp.check(t.Pos[0], x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	case "Map":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want a map, got %T", at, v)
		}
		for k, x := range m {
			if err := sp.check(t.Pos[1], x, at+"."+k); err != nil {
				return err
			}
		}
		return nil
	}
	d := sp.Defs[t.Name]
	if d == nil {
		return fmt.Errorf("%s: unknown type %s", at, t.Name)
	}
	switch d.Kind {
	case "alias":
		a := *d.Alias
		a.Nullable = a.Nullable || t.Nullable
		return sp.check(&a, v, at)
	case "struct":
		return sp.checkStruct(d, v, at, false)
	}
	return sp.checkUnion(d, v, at)
}

// checkStruct validates a struct (through its enumerated subtypes when it
// has them; tagged is true when the caller already consumed the .tag).
func (sp *Spec) checkStruct(d *Def, v any, at string, tagged bool) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want an object for %s.%s, got %T", at, d.NS, d.Name, v)
	}
	if len(d.Subtypes) > 0 && !tagged {
		tag, _ := m[".tag"].(string)
		for _, st := range d.Subtypes {
			if st.Name == tag {
				sd := sp.Defs[st.Type.Name]
				if sd == nil {
					return fmt.Errorf("%s: unknown subtype %s", at, st.Type.Name)
				}
				return sp.checkStruct(sd, v, at, true)
			}
		}
		return fmt.Errorf("%s: .tag %q is not a subtype of %s.%s", at, tag, d.NS, d.Name)
	}
	return sp.checkFields(d, m, at, map[string]bool{".tag": tagged})
}

// checkFields checks the fields of struct d in m; allowed names keys that
// may be present besides the fields.
func (sp *Spec) checkFields(d *Def, m map[string]any, at string, allowed map[string]bool) error {
	known := map[string]bool{}
	for _, f := range sp.fields(d) {
		known[f.Name] = true
		x, present := m[f.Name]
		if !present {
			if !sp.nullable(f.Type) && !f.HasDefault {
				return fmt.Errorf("%s: required field %q of %s.%s missing", at, f.Name, d.NS, d.Name)
			}
			continue
		}
		if err := sp.check(f.Type, x, at+"."+f.Name); err != nil {
			return err
		}
	}
	for k := range m {
		if !known[k] && !allowed[k] {
			return fmt.Errorf("%s: unknown field %q for %s.%s", at, k, d.NS, d.Name)
		}
	}
	return nil
}

// member finds union member tag in d or its ancestors.
func (sp *Spec) member(d *Def, tag string) (Field, bool, bool) {
	for u := d; u != nil; u = sp.Defs[u.Extends] {
		for _, f := range u.Fields {
			if f.Name == tag {
				return f, true, false
			}
		}
		if u.Extends == "" {
			break
		}
	}
	return Field{}, false, !d.Closed
}

func (sp *Spec) checkUnion(d *Def, v any, at string) error {
	var tag string
	m, isObj := v.(map[string]any)
	switch x := v.(type) {
	case string:
		tag = x
	case map[string]any:
		tag, _ = x[".tag"].(string)
	default:
		return fmt.Errorf("%s: want a union (%s.%s), got %T", at, d.NS, d.Name, v)
	}
	f, ok, open := sp.member(d, tag)
	if !ok {
		if open && tag != "" && sp.OpenUnions {
			return nil // an open union may grow members
		}
		return fmt.Errorf("%s: %q is not a member of %s.%s", at, tag, d.NS, d.Name)
	}
	if f.Type == nil {
		if isObj && len(m) > 1 {
			return fmt.Errorf("%s: Void member %q of %s.%s has a value", at, tag, d.NS, d.Name)
		}
		return nil
	}
	if !isObj {
		if sp.nullable(f.Type) {
			return nil
		}
		return fmt.Errorf("%s: member %q of %s.%s needs a value", at, tag, d.NS, d.Name)
	}
	// A struct member is flattened into the object; any other value is
	// under the tag's key. (A struct with enumerated subtypes carries its own .tag, so it goes
	// under the key like any other value.)
	if md := sp.resolve(f.Type); md != nil && md.Kind == "struct" && len(md.Subtypes) == 0 {
		cp := map[string]any{}
		for k, x := range m {
			if k != ".tag" {
				cp[k] = x
			}
		}
		if len(cp) == 0 && sp.nullable(f.Type) {
			return nil
		}
		return sp.checkFields(md, cp, at, nil)
	}
	x, present := m[tag]
	if !present {
		if sp.nullable(f.Type) {
			return nil
		}
		return fmt.Errorf("%s: member %q of %s.%s has no value", at, tag, d.NS, d.Name)
	}
	for k := range m {
		if k != ".tag" && k != tag {
			return fmt.Errorf("%s: unknown key %q in member %q", at, k, tag)
		}
	}
	return sp.check(f.Type, x, at+"."+tag)
}

// resolve follows aliases to a struct or union definition (nil for
// primitives).
func (sp *Spec) resolve(t *Type) *Def {
	for i := 0; i < 10; i++ {
		d := sp.Defs[t.Name]
		if d == nil {
			return nil
		}
		if d.Kind != "alias" {
			return d
		}
		t = d.Alias
	}
	return nil
}

// nullable reports whether t, or an alias it names, is nullable.
func (sp *Spec) nullable(t *Type) bool {
	for i := 0; t != nil && i < 10; i++ {
		if t.Nullable {
			return true
		}
		d := sp.Defs[t.Name]
		if d == nil || d.Kind != "alias" {
			return false
		}
		t = d.Alias
	}
	return false
}
