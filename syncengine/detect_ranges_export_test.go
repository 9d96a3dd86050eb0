package syncengine

// SetScanRanges makes Detect read every baseline of at least n items in n
// ranges of keys at once where the store is a BaselineRangeScanner (see
// scanRanges), whatever its size and the number of cores, until restore
// is called.
func SetScanRanges(n int) (restore func()) {
	old := scanRangesFor
	scanRangesFor = func(size int) int { return min(n, size) }
	return func() { scanRangesFor = old }
}

// SetCachedIndexMin makes Detect keep the compact index of every baseline
// of at least n items in a store that is a BaselineIndexCache, until
// restore is called.
func SetCachedIndexMin(n int) (restore func()) {
	old := cachedIndexMin.Swap(int64(n))
	return func() { cachedIndexMin.Store(old) }
}

// OccupiedHash is occupiedHash (the value planInput.Occupied holds for a
// path).
var OccupiedHash = occupiedHash
