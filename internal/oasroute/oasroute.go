// Package oasroute matches request paths to the operations of an OpenAPI
// description, for the contract tests that validate every request a client
// sends and every response a fake returns against a vendor's description.
package oasroute

import (
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// Router finds the path item and operation of a request.
type Router struct {
	doc    *openapi3.T
	routes []route
}

type route struct {
	re      *regexp.Regexp
	names   []string
	path    string
	item    *openapi3.PathItem
	literal int // characters outside parameters: more specific paths first
}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

// New builds a Router over doc's paths, leaving out those skip reports
// (nil: none). param returns the regular expression a path parameter of
// that name matches (nil: one path segment, "([^/]+)").
func New(doc *openapi3.T, skip func(path string) bool, param func(name string) string) *Router {
	if param == nil {
		param = func(string) string { return "([^/]+)" }
	}
	r := &Router{doc: doc}
	for p, item := range doc.Paths.Map() {
		if skip != nil && skip(p) {
			continue
		}
		var re strings.Builder
		re.WriteString("^")
		last, literal := 0, 0
		var names []string
		for _, m := range paramRE.FindAllStringIndex(p, -1) {
			re.WriteString(regexp.QuoteMeta(p[last:m[0]]))
			literal += m[0] - last
			name := p[m[0]+1 : m[1]-1]
			names = append(names, name)
			re.WriteString(param(name))
			last = m[1]
		}
		re.WriteString(regexp.QuoteMeta(p[last:]) + "$")
		literal += len(p) - last
		r.routes = append(r.routes, route{re: regexp.MustCompile(re.String()), names: names, path: p, item: item, literal: literal})
	}
	sort.Slice(r.routes, func(i, j int) bool { return r.routes[i].literal > r.routes[j].literal })
	return r
}

// Find returns the route of method on path (as sent, escaped) with its
// path parameters, or nil when the description has no such operation.
func (r *Router) Find(method, path string) (*routers.Route, map[string]string) {
	for _, rt := range r.routes {
		m := rt.re.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		op := rt.item.GetOperation(method)
		if op == nil {
			continue
		}
		params := map[string]string{}
		for i, n := range rt.names {
			params[n] = m[i+1]
		}
		return &routers.Route{Spec: r.doc, Path: rt.path, PathItem: rt.item, Method: method, Operation: op}, params
	}
	return nil, nil
}
