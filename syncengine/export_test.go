package syncengine

// The detect and plan stages are internal to the engine; the package's
// external tests reach them under these names.
type (
	DetectOptions = detectOptions
	PlanInput     = planInput
)

var (
	Detect    = detect
	BuildPlan = buildPlan
)
