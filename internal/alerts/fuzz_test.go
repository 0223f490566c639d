package alerts_test

import (
	"testing"

	"github.com/huddle-dev/huddle/internal/alerts"
)

// FuzzGroupBody feeds rule group bodies, YAML and JSON, to what PUT /api/alerting/rules reads:
// anything may be refused, nothing may panic, and an accepted group stays accepted.
func FuzzGroupBody(f *testing.F) {
	for _, seed := range []string{
		"name: g\ninterval: 1m\nrules:\n- alert: A\n  expr: up == 0\n  for: 5m\n  severity: 2\n  annotations: {s: '{{ $value }}'}\n",
		"name: g\nrules:\n- record: r\n  expr: sum(rate(x[5m]))\n  labels: {a: b}\n",
		`{"name":"g","rules":[{"alert":"A","expr":"up","noDataState":"alerting","keepFiringFor":"1m"}]}`,
		"name: g\nrules:\n- alert: A\n  expr: 'up =='\n",
		"rules: [{alert: '{{', expr: 'vector(1)', annotations: {a: '{{ range }}'}}]",
	} {
		f.Add([]byte(seed), seed[0] != '{')
	}
	f.Fuzz(func(t *testing.T, body []byte, isYAML bool) {
		g, err := alerts.DecodeGroup(body, isYAML)
		if err != nil {
			return
		}
		if g.Normalize() != nil {
			return
		}
		if err := g.Normalize(); err != nil {
			t.Fatalf("a normalized group is refused the second time: %v", err)
		}
	})
}
