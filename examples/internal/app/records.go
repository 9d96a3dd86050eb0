package app

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// RecordTools are the names -tools takes, in the order the pairs are
// added: the one-way record tools exported into
// <root>/<project>/<Tool>.
var RecordTools = []string{"rfis", "submittals", "drawings", "forms", "observations", "inspections",
	"incidents", "commitments", "daily-log"}

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

// recordPair is a one-way record tool's pair before it is added.
type recordPair struct {
	tool string // one of RecordTools
	a    storage.Storage
}

// recordStorages makes the read-only storages of the tools chosen with
// -tools over conn's project, printing with recordpdf (the records
// package's default renderer).
func recordStorages(c *Config, conn *Conn) ([]recordPair, error) {
	tools, err := ParseTools(c.Tools)
	if err != nil {
		return nil, err
	}
	pc := conn.Procore
	p := records.Project{ID: c.ProcoreProjectID, Name: conn.ProjectName}
	var out []recordPair
	for _, t := range tools {
		var tool records.Tool
		switch t {
		case "rfis":
			tool = records.NewRFIs(pc, p, nil)
		case "submittals":
			tool = records.NewSubmittals(pc, p, nil)
		case "drawings":
			tool = records.NewDrawings(pc, p.ID, nil)
		case "forms":
			tool = records.NewForms(pc, p, nil)
		case "observations":
			tool = records.NewObservations(pc, p, nil)
		case "inspections":
			tool = records.NewInspections(pc, p, nil)
		case "incidents":
			tool = records.NewIncidents(pc, p, nil)
		case "commitments":
			tool = records.NewCommitments(pc, p, nil)
		case "daily-log":
			// Between full re-reads every quarter of an hour, a check costs
			// two calls (counts by type, day photos).
			o := &records.DailyLogOptions{Project: p.Name, Renderer: records.DefaultRenderer, RendererVersion: records.DefaultRendererVersion,
				EditCheckInterval: 15 * time.Minute}
			if c.DailyLogDays > 0 {
				o.Start = time.Now().UTC().AddDate(0, 0, 1-c.DailyLogDays).Format("2006-01-02")
			}
			out = append(out, recordPair{t, records.NewDailyLog(pc, p.ID, o)})
			continue
		}
		s, err := records.New(pc, tool, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, recordPair{t, s})
	}
	return out, nil
}

// toolFolder is the target folder name of a record tool's storage.
func toolFolder(a storage.Storage) string {
	switch a := a.(type) {
	case *records.Storage:
		return a.Tool().Name()
	case *records.DailyLog:
		return "Daily Log"
	}
	return "Records"
}

// addRecordPairs adds a one-way pair (Procore → target, deletions
// propagated under the delete limit) for every record tool chosen with
// -tools, into <root>/<project>/<Tool>.
func (s *Sync) addRecordPairs(ctx context.Context, c *Config, project string) error {
	rps, err := recordStorages(c, s.Conn)
	if err != nil {
		return err
	}
	for _, rp := range rps {
		folder := toolFolder(rp.a)
		id := fmt.Sprintf("%d/%s", c.ProcoreProjectID, rp.tool)
		b, err := openFolder(ctx, c, s.Conn, path.Join(c.Root, project, folder))
		if err != nil {
			return err
		}
		s.Targets[id] = b
		pair := syncengine.Pair{
			ID: id, Name: s.Conn.ProjectName + " / " + folder, A: rp.a, B: b, AName: "Procore", BName: string(c.Target),
			Direction: syncengine.DirectionOneWayAB, NameMapping: true, DeleteLimit: c.DeleteLimit, Deletes: syncengine.DeletePropagate,
			Interval: c.Interval,
		}
		if pair.Initial, err = resumeMode(ctx, s.Store, id); err != nil {
			return err
		}
		if err := s.Engine.AddPair(pair); err != nil {
			return err
		}
		s.Pairs = append(s.Pairs, id)
		switch a := rp.a.(type) {
		case *records.Storage:
			s.Records = append(s.Records, a)
		case *records.DailyLog:
			s.DailyLog = a
		}
	}
	return nil
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
