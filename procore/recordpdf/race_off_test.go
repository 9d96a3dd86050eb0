//go:build !race

package recordpdf

const raceEnabled = false
