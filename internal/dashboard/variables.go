package dashboard

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The browser substitutes variables in the same way (web/src/variables.ts) for the history it
// loads, so history and live points of a panel come from the same query.

var variableRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Expand substitutes the dashboard's variables in expr, with their saved values, and the
// step-dependent $__interval and $__rate_interval (Grafana's, for a 10 s scrape interval).
func (d *Dashboard) Expand(expr string, step time.Duration) string {
	values := make(map[string]string, len(d.Variables)+2)
	for _, v := range d.Variables {
		values[v.Name] = v.value()
	}
	values["__interval"] = promDuration(step)
	values["__rate_interval"] = promDuration(max(40*time.Second, step+10*time.Second))
	return variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		if v, ok := values[name]; ok {
			return v
		}
		return ref
	})
}

// value is the text the variable stands for: its single value, or for several an alternation
// for =~ matchers.
func (v Variable) value() string {
	values := v.Current
	if len(values) == 0 {
		if v.Type == "custom" {
			values = strings.Split(v.Query, ",")[:1]
		} else {
			values = []string{v.Query}
		}
	}
	if len(values) == 1 {
		return strings.TrimSpace(values[0])
	}
	quoted := make([]string, len(values))
	for i, x := range values {
		quoted[i] = regexp.QuoteMeta(strings.TrimSpace(x))
	}
	return "(" + strings.Join(quoted, "|") + ")"
}

// RefreshInterval is how often the dashboard's panels update; 0 means never.
func (d *Dashboard) RefreshInterval() time.Duration {
	r, err := parseDuration(d.Refresh)
	if err != nil {
		return 0
	}
	return r
}

// promDuration writes d in the largest unit that divides it, as PromQL reads durations.
func promDuration(d time.Duration) string {
	for _, u := range []struct {
		unit string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if d >= u.size && d%u.size == 0 {
			return fmt.Sprintf("%d%s", d/u.size, u.unit)
		}
	}
	return fmt.Sprintf("%ds", (d+time.Second/2)/time.Second)
}
