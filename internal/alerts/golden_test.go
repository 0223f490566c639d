package alerts_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/alerts"
	"github.com/huddle-dev/huddle/internal/store/storetest"
	"github.com/huddle-dev/huddle/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files of web/src/golden")

// The messages of the alerts group, as the incidents announce them, are the golden files that
// the web UI's tests read with its parser (web/src/messages.test.ts): an incident, a timeline
// entry and the rules' change. An incident opens when its rule fires and is taken by a person.
func TestAlertMessagesGolden(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.samples(`up{instance="b"}`, t0.Add(-time.Minute), t0.Add(5*time.Minute), 0)
	e.put("name: g\nrules:\n- alert: Down\n  expr: up == 0\n  severity: 1\n  annotations: {summary: \"{{ $labels.instance }} is down\"}\n")
	e.at(0)
	list := e.list("open")
	if len(list) != 1 {
		t.Fatalf("open incidents %+v", list)
	}
	e.clock.Set(t0.Add(time.Minute))
	if _, err := e.incidents.Take(context.Background(), list[0].ID, alerts.Person{Login: "ada", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	e.incidents.AnnounceRules(context.Background())

	stable := stabilizer(t, list[0].ID)
	names := map[string]string{"incident": "alert-incident.json", "timeline": "alert-timeline.json", "rules": "alert-rules.json"}
	e.news.mu.Lock()
	raw := e.news.raw
	e.news.mu.Unlock()
	// The last of each kind: the incident as taken, the take's entry.
	last := map[string][]byte{}
	for _, data := range raw {
		var m struct{ Type string }
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		last[m.Type] = data
	}
	for kind, name := range names {
		data, ok := last[kind]
		if !ok {
			t.Fatalf("no %s message among %d", kind, len(raw))
		}
		testkit.WebGolden(t, name, stable(data), *update)
	}
}

// stabilizer rewrites what changes from run to run (ids, and times, which follow the wall
// clock since the metrics store takes only recent samples) to the same values at every run.
func stabilizer(t *testing.T, incident string) func([]byte) []byte {
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	stamp := regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]+"`)
	entry := regexp.MustCompile(`"id":"[^"]+"`)
	return func(data []byte) []byte {
		out := stamp.ReplaceAllFunc(data, func(b []byte) []byte {
			at, err := time.Parse(time.RFC3339Nano, strings.Trim(string(b), `"`))
			if err != nil {
				t.Fatalf("time %s: %v", b, err)
			}
			return fmt.Appendf(nil, "%q", base.Add(at.Sub(t0)).Format(time.RFC3339Nano))
		})
		out = []byte(strings.ReplaceAll(string(out), incident, "inc_1"))
		return entry.ReplaceAllFunc(out, func(b []byte) []byte {
			if strings.Contains(string(b), "inc_1") {
				return b
			}
			return []byte(`"id":"entry_1"`)
		})
	}
}
