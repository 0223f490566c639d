package dashboard

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

func TestNormalizeRefuses(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name   string
		mutate func(d *Dashboard)
		field  string
	}{
		{"too many panels", func(d *Dashboard) { d.Panels = make([]Panel, MaxPanels+1) }, "panels"},
		{"too many queries", func(d *Dashboard) { d.Panels[0].Targets = make([]Target, MaxTargets+1) }, "panels[0].targets"},
		{"empty query", func(d *Dashboard) { d.Panels[0].Targets[0].Expr = " " }, "panels[0].targets[0].expr"},
		{"duplicate refId", func(d *Dashboard) {
			d.Panels[0].Targets = []Target{{RefID: "A", Expr: "up"}, {RefID: "A", Expr: "up"}}
		}, "panels[0].targets[1].refId"},
		{"duplicate panel id", func(d *Dashboard) { d.Panels[0].ID, d.Panels[1].ID = 3, 3 }, "panels[1].id"},
		{"negative panel id", func(d *Dashboard) { d.Panels[0].ID = -1 }, "panels[0].id"},
		{"zero width", func(d *Dashboard) { d.Panels[0].GridPos.W = 0 }, "panels[0].gridPos.w"},
		{"negative x", func(d *Dashboard) { d.Panels[0].GridPos.X = -1 }, "panels[0].gridPos.x"},
		{"too tall", func(d *Dashboard) { d.Panels[0].GridPos.H = maxPanelHeight + 1 }, "panels[0].gridPos.h"},
		{"bad unit", func(d *Dashboard) { d.Panels[0].Unit = "<b>" }, "panels[0].unit"},
		{"min above max", func(d *Dashboard) { d.Panels[0].Min, d.Panels[0].Max = f(2), f(1) }, "panels[0].max"},
		{"soft min at soft max", func(d *Dashboard) { d.Panels[0].SoftMin, d.Panels[0].SoftMax = f(1), f(1) }, "panels[0].softMax"},
		{"line too wide", func(d *Dashboard) { w := MaxLineWidth + 1; d.Panels[0].LineWidth = &w }, "panels[0].lineWidth"},
		{"negative line width", func(d *Dashboard) { w := -1; d.Panels[0].LineWidth = &w }, "panels[0].lineWidth"},
		{"base threshold with a value", func(d *Dashboard) { d.Panels[0].Thresholds = []Threshold{{Value: f(1), Color: "green"}} }, "panels[0].thresholds[0].value"},
		{"decreasing thresholds", func(d *Dashboard) {
			d.Panels[0].Thresholds = []Threshold{{Color: "green"}, {Value: f(9), Color: "red"}, {Value: f(5), Color: "red"}}
		}, "panels[0].thresholds[2].value"},
		{"bad color", func(d *Dashboard) { d.Panels[0].Thresholds = []Threshold{{Color: "url(x)"}} }, "panels[0].thresholds[0].color"},
		{"bad variable name", func(d *Dashboard) { d.Variables = []Variable{{Name: "1x", Type: "custom"}} }, "variables[0].name"},
		{"unknown variable type", func(d *Dashboard) { d.Variables = []Variable{{Name: "x", Type: "adhoc"}} }, "variables[0].type"},
		{"duplicate variable", func(d *Dashboard) {
			d.Variables = []Variable{{Name: "x", Type: "custom"}, {Name: "x", Type: "custom"}}
		}, "variables[1].name"},
		{"too many tags", func(d *Dashboard) { d.Tags = strings.Fields(strings.Repeat("t ", maxTags+1)) }, "tags"},
		{"empty tag", func(d *Dashboard) { d.Tags = []string{" "} }, "tags[0]"},
		{"absolute range backwards", func(d *Dashboard) { d.Time = TimeRange{From: "2026-01-02T00:00:00Z", To: "2026-01-01T00:00:00Z"} }, "time.from"},
		{"one end missing", func(d *Dashboard) { d.Time = TimeRange{From: "now-1h"} }, "time.to"},
		{"title with a control character", func(d *Dashboard) { d.Title = "a\x1bb" }, "title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sample("x")
			tc.mutate(&d)
			err := d.normalize()
			var e *httpapi.Error
			if !errors.As(err, &e) || e.Code != httpapi.CodeBadRequest || e.Field != tc.field {
				t.Errorf("got %v (field %q), want a bad request naming %s", err, fieldOf(err), tc.field)
			}
		})
	}
}

func fieldOf(err error) string {
	var e *httpapi.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

func TestNormalizeAccepts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	d := sample("x")
	d.Panels[1].ID = 7
	d.Panels = append(d.Panels, Panel{Type: PanelGauge, GridPos: GridPos{X: 0, Y: 8, W: 24, H: 4}, Min: f(0), Max: f(1),
		Thresholds: []Threshold{{Color: "green"}, {Value: f(0.5), Color: "#ff000080"}}})
	d.Variables = []Variable{{Name: "instance", Type: "query", Query: "label_values(up, instance)", Multi: true}}
	d.Time = TimeRange{From: "now-7d/d", To: "now/d"}
	d.Refresh = "1m"
	if err := d.normalize(); err != nil {
		t.Fatal(err)
	}
	// Free ids go after the highest one given.
	if ids := []int64{d.Panels[0].ID, d.Panels[1].ID, d.Panels[2].ID}; !reflect.DeepEqual(ids, []int64{8, 7, 9}) {
		t.Errorf("panel ids %v", ids)
	}
	if d.Panels[2].Targets == nil {
		t.Error("a panel without targets stores null")
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"now", "now-6h", "now-1d/d", "now/w", "now-7d+1h", "1767000000000", "2026-01-02T03:04:05Z"} {
		if _, err := parseTime(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "today", "now-", "now-6x", "now/", "-5", "2026-01-02", "now-6h ", "NOW"} {
		if _, err := parseTime(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"1s": time.Second, "10s": 10 * time.Second, "5m": 5 * time.Minute,
		"1h": time.Hour, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour, "0s": 0} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "s", "10", "1.5s", "-1s", "+1s", "1ms", "1y", " 1s"} {
		if _, err := parseDuration(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// FuzzNormalize: whatever JSON decodes, normalize never panics, and what it accepts is stable:
// normalizing the stored form again changes nothing.
func FuzzNormalize(f *testing.F) {
	seed, _ := json.Marshal(ThisHost())
	f.Add(seed)
	f.Add([]byte(`{"uid":"x","title":"t","refresh":"1s","time":{"from":"now-1h","to":"now"},"panels":[{"type":"stat","gridPos":{"w":1,"h":1},"targets":[{"expr":"up"}],"thresholds":[{"value":null,"color":"red"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Dashboard
		if json.Unmarshal(data, &d) != nil || d.normalize() != nil {
			return
		}
		once, _ := json.Marshal(d)
		if err := d.normalize(); err != nil {
			t.Fatalf("stored form refused: %v", err)
		}
		twice, _ := json.Marshal(d)
		if string(once) != string(twice) {
			t.Fatalf("normalize is not stable:\n%s\n%s", once, twice)
		}
	})
}
