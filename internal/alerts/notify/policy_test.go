package notify

import (
	"slices"
	"testing"
)

// TestRouting: routes are tried in order; the first match takes the alert unless it says
// continue; the default policy takes what no route takes; severity is matched as a label.
func TestRouting(t *testing.T) {
	t.Parallel()
	p := Policy{ContactPoint: "default", GroupBy: []string{"alertname"}, Routes: []Route{
		{Matchers: []string{`severity=~"0|1"`}, ContactPoint: "pager", Continue: true},
		{Matchers: []string{`team="db"`, `env!="dev"`}, ContactPoint: "db"},
		{Matchers: []string{`team=~"db|web"`}, ContactPoint: "teams", GroupBy: []string{"..."}},
	}}
	c, err := p.compile(func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		a    Alert
		want []string
	}{
		{"critical db", Alert{Severity: 0, Labels: map[string]string{"team": "db"}}, []string{"pager", "db"}},
		{"critical elsewhere", Alert{Severity: 1, Labels: map[string]string{"team": "ops"}}, []string{"pager"}},
		{"warning db in dev", Alert{Severity: 2, Labels: map[string]string{"team": "db", "env": "dev"}}, []string{"teams"}},
		{"warning web", Alert{Severity: 2, Labels: map[string]string{"team": "web"}}, []string{"teams"}},
		{"nobody's", Alert{Severity: 3, Labels: map[string]string{}}, []string{"default"}},
		{"a severity label wins", Alert{Severity: 0, Labels: map[string]string{"severity": "page"}}, []string{"default"}},
	}
	for _, tc := range cases {
		var got []string
		for _, r := range c.match(toLabelSet(tc.a.matchLabels())) {
			got = append(got, r.contactPoint)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	ls := map[string]string{"alertname": "A", "team": "db", "instance": "x"}
	_, k1 := c.routes[1].groupLabels(ls)
	_, k2 := c.routes[1].groupLabels(map[string]string{"alertname": "A", "team": "db", "instance": "y"})
	_, k3 := c.routes[2].groupLabels(ls)
	_, k4 := c.routes[2].groupLabels(map[string]string{"alertname": "A", "team": "db", "instance": "y"})
	if k1 != k2 || k3 == k4 || k1 == k3 {
		t.Errorf("group keys: by alertname %q %q, by every label %q %q", k1, k2, k3, k4)
	}

	// A policy saved again unchanged keeps its routes' ids, so their groups go on.
	again, _ := p.compile(func(string) bool { return true })
	for i := range c.routes {
		if c.routes[i].id != again.routes[i].id {
			t.Errorf("route %d: id %s, then %s", i, c.routes[i].id, again.routes[i].id)
		}
	}
}
