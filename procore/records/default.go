package records

import "github.com/procoresync/procoresync/procore/recordpdf"

// DefaultRenderer prints a Document with recordpdf.Render and its default
// options (A4, UTC, the embedded Go fonts with the system's fallback fonts
// for scripts they lack). It is deterministic: the same Document gives the
// same bytes on the same machine. New uses it, with
// DefaultRendererVersion, when Options.Renderer is nil.
func DefaultRenderer(doc recordpdf.Document) ([]byte, error) {
	return recordpdf.Render(doc, nil)
}

// DefaultRendererVersion is recordpdf.Version: the version of
// DefaultRenderer's output, which enters every printed file's Version.
const DefaultRendererVersion = recordpdf.Version

// withDefaultRenderer fills in DefaultRenderer and its version when o has
// no Renderer; a Renderer given without a version keeps an empty one.
func withDefaultRenderer(o *Options) {
	if o.Renderer == nil {
		o.Renderer = DefaultRenderer
		if o.RendererVersion == "" {
			o.RendererVersion = DefaultRendererVersion
		}
	}
}
