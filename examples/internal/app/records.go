package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/projects"
)

// RecordTools are the names -tools takes, in the order the pairs are
// added: the one-way record tools exported into
// <root>/<project>/<Tool> (projects.RecordTools).
var RecordTools = func() []string {
	var out []string
	for _, t := range projects.RecordTools {
		out = append(out, string(t))
	}
	return out
}()

// ParseTools reads -tools: "all" (every record tool), "none", or a
// comma-separated list of RecordTools.
func ParseTools(v string) ([]string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "", "all":
		return RecordTools, nil
	case "none":
		return nil, nil
	}
	var out []string
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(RecordTools, t) {
			return nil, fmt.Errorf("-tools: unknown tool %q (known: all, none, %s)", t, strings.Join(RecordTools, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// recordResources are the webhook resources of the record tools chosen,
// to register with the project's hook (procore.RecordResources).
func (s *Sync) recordResources() []string {
	var out []string
	for _, rs := range s.Records {
		wt, ok := rs.Tool().(interface{ WebhookTool() string })
		if !ok {
			continue
		}
		out = append(out, procore.RecordResources[wt.WebhookTool()]...)
	}
	if s.DailyLog != nil {
		out = append(out, procore.RecordResources[s.DailyLog.WebhookTool()]...)
	}
	return out
}
