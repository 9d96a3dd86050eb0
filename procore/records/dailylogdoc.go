package records

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
)

// dlMetaKeys are entry keys printed elsewhere (header, author, time,
// attachments) or not shown to people.
var dlMetaKeys = map[string]bool{
	"id": true, "date": true, "datetime": true, "created_at": true, "updated_at": true, "deleted_at": true,
	"position": true, "permissions": true, "created_by": true, "attachments": true, "daily_log_header_id": true,
	"daily_log_segment_id": true, "created_by_collaborator": true, "line_item_id": true, "time_and_material_entry_id": true,
}

// dlLabels are the labels Procore's web UI gives to columns whose key
// reads poorly.
var dlLabels = map[string]string{
	"num_workers": "Workers", "num_hours": "Hours", "man_hours": "Total Hours", "is_issue_day": "Issue Day",
	"is_weather_delay": "Weather Delay", "subject_from": "From", "subject_to": "To", "delivery_from": "Delivery From",
	"daily_log_segment": "Segment", "cost_code": "Cost Code", "custom_fields": "Custom Fields",
}

// DailyLogDocument is the printed form of one log type's entries on one
// day: the header names the project, "Daily Log", the day and the type;
// one section holds the entries in order, each with its author, time,
// every column a person sees and its attachments' names as stored beside
// the PDF (attName). Generated is the newest updated_at, so the same
// entries always print the same.
func DailyLogDocument(project, date string, t procore.DailyLogType, entries []procore.DailyLogEntry, attName func(procore.Attachment) string) recordpdf.Document {
	doc := recordpdf.Document{Project: project, Tool: "Daily Log", Number: date, Title: t.Name}
	if d, err := procore.ParseLogDate(date); err == nil {
		doc.Dates = []recordpdf.DateField{{Label: "Log Date", Value: d, DateOnly: true}}
	}
	sec := recordpdf.Section{Heading: t.Name}
	var newest time.Time
	for i, e := range entries {
		en := recordpdf.Entry{Heading: fmt.Sprintf("%s %d", t.Name, i+1), At: e.CreatedAt.Time}
		if e.CreatedBy != nil {
			en.Author = e.CreatedBy.Name
		}
		en.Fields = dlFields(e.Raw)
		for _, a := range e.Attachments {
			n := a.FileName()
			if attName != nil {
				if s := attName(a); s != "" {
					n = s
				}
			}
			en.Attachments = append(en.Attachments, n)
			doc.Attachments = append(doc.Attachments, n)
		}
		if e.UpdatedAt.After(newest) {
			newest = e.UpdatedAt.Time
		}
		if e.CreatedAt.After(newest) {
			newest = e.CreatedAt.Time
		}
		sec.Entries = append(sec.Entries, en)
	}
	doc.Sections = []recordpdf.Section{sec}
	doc.Fields = []recordpdf.Field{{Label: "Entries", Value: strconv.Itoa(len(entries))}}
	doc.Generated = newest
	return doc
}

// dlFields prints an entry's columns in key order: "<x>_hour" and
// "<x>_minute" pairs as one "HH:MM" field, objects by their name or value,
// lists joined, empty values left out.
func dlFields(raw map[string]json.RawMessage) []recordpdf.Field {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if !dlMetaKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []recordpdf.Field
	done := map[string]bool{}
	for _, k := range keys {
		if done[k] {
			continue
		}
		if base, ok := strings.CutSuffix(k, "_hour"); ok {
			if m, ok := raw[base+"_minute"]; ok {
				done[base+"_minute"] = true
				h, hm := dlValue(raw[k]), dlValue(m)
				if h == "" && hm == "" {
					continue
				}
				hi, _ := strconv.Atoi(h)
				mi, _ := strconv.Atoi(hm)
				out = append(out, recordpdf.Field{Label: dlLabel(base), Value: fmt.Sprintf("%02d:%02d", hi, mi)})
				continue
			}
		}
		if k == "custom_fields" {
			out = append(out, dlCustomFields(raw[k])...)
			continue
		}
		v := dlValue(raw[k])
		if v == "" {
			continue
		}
		out = append(out, recordpdf.Field{Label: dlLabel(k), Value: v})
	}
	return out
}

func dlLabel(k string) string {
	if l, ok := dlLabels[k]; ok {
		return l
	}
	words := strings.Split(k, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// dlValue prints a JSON value as a person reads it.
func dlValue(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return strings.TrimSpace(string(raw))
	}
	return dlAny(v)
}

func dlAny(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case bool:
		if x {
			return "Yes"
		}
		return "No"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		var parts []string
		for _, it := range x {
			if s := dlAny(it); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		for _, k := range []string{"name", "task_name", "title", "value", "login"} {
			if s := dlAny(x[k]); s != "" {
				return s
			}
		}
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// dlCustomFields prints custom_fields {custom_field_<id>: {data_type,
// value}} as "Custom Field <id>" fields, in key order.
func dlCustomFields(raw json.RawMessage) []recordpdf.Field {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	var out []recordpdf.Field
	for _, k := range keys {
		var f struct {
			Value any `json:"value"`
		}
		if json.Unmarshal(m[k], &f) != nil {
			continue
		}
		if s := dlAny(f.Value); s != "" {
			out = append(out, recordpdf.Field{Label: dlLabel(k), Value: s})
		}
	}
	return out
}
