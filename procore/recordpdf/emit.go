package recordpdf

import (
	"fmt"

	"codeberg.org/go-pdf/fpdf"
)

// emit draws the laid-out pages into pdf.
func emit(pdf *fpdf.Fpdf, fs *fontSet, pages [][]op) error {
	pdf.SetLineWidth(0.2)
	pdf.SetDrawColor(170, 170, 170)
	for _, ops := range pages {
		pdf.AddPage()
		for _, o := range ops {
			if o.rule {
				pdf.Line(o.x, o.y, o.x2, o.y)
				continue
			}
			pdf.SetFont(fs.faces[o.face].family, fs.style(o.face, o.st.bold), o.st.size)
			pdf.SetTextColor(o.st.gray, o.st.gray, o.st.gray)
			if o.actual != "" {
				// The replacement characters stand for text no font
				// has; ActualText keeps that text for extraction.
				pdf.RawWriteStr("/Span <</ActualText " + utf16Hex(o.actual) + ">> BDC")
			}
			pdf.Text(o.x, o.y, o.text)
			if o.actual != "" {
				pdf.RawWriteStr("EMC")
			}
		}
		if pdf.Err() {
			return fmt.Errorf("%w: %v", ErrRender, pdf.Error())
		}
	}
	return nil
}
