package syncengine

// Spread is where a pair's reconciliation falls in the period, for the
// scheduler's external tests.
var Spread = spread
