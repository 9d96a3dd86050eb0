package main

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// web holds the templates and the static files (CSS, the small script),
// served by the program itself: no build step.
//
//go:embed web/templates/*.html web/static/*
var web embed.FS

// pageNames are the templates that render a whole page in the layout.
var pageNames = []string{"login", "dashboard", "projects", "project", "files", "held", "audit", "exports",
	"connections", "accounts", "error"}

var funcs = template.FuncMap{
	"bytes": humanBytes,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"join": strings.Join,
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout").Funcs(funcs).ParseFS(web, "web/templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(layout.Clone()).ParseFS(web, "web/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// staticHandler serves web/static under /static/.
func staticHandler() http.Handler {
	sub, err := fs.Sub(web, "web/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// page is what every template receives.
type page struct {
	Title, Nav string
	User       *viewer
	CSRF       string
	Flash      string
	Error      string
	// What the signed-in account may do.
	CanAdmin, CanConfigure, CanApprove, CanExport bool
	Data                                          any
}

// viewer is the signed-in account as the pages show it.
type viewer struct {
	Email, Role string
}

// render writes page name with status; a template error is logged and
// answered with a plain 500 (the page is rendered to a buffer first, so
// that nothing half-written reaches the browser).
func render(w http.ResponseWriter, log *slog.Logger, pages map[string]*template.Template, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		log.Error("portal: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func humanBytes(n any) string {
	var v float64
	switch x := n.(type) {
	case int64:
		v = float64(x)
	case int:
		v = float64(x)
	case float64:
		v = x
	case uint64:
		v = float64(x)
	}
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.1f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// securityHeaders sets the headers every portal response carries: no
// framing, no sniffing, a content security policy that allows only the
// portal's own script and style sheet.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' http: https:")
		next.ServeHTTP(w, r)
	})
}
