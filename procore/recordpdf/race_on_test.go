//go:build race

package recordpdf

// raceEnabled: the race detector slows rendering about tenfold, so the
// hostile-input tests use smaller sizes under it (the plain run covers the
// full sizes).
const raceEnabled = true
