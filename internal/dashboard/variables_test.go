package dashboard

import (
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	d := Dashboard{Variables: []Variable{
		{Name: "host", Type: "custom", Query: "a,b", Current: []string{"web-1"}},
		{Name: "dev", Type: "custom", Query: "eth0, lo", Multi: true, Current: []string{"eth0", "lo.1"}},
		{Name: "env", Type: "custom", Query: "prod, dev"},
		{Name: "job", Type: "constant", Query: "node"},
	}}
	for _, tc := range []struct {
		expr string
		step time.Duration
		want string
	}{
		{`up{instance="$host"}`, 10 * time.Second, `up{instance="web-1"}`},
		{`x{device=~"${dev}"}`, 10 * time.Second, `x{device=~"(eth0|lo\.1)"}`},
		{`x{env="$env",job="$job"}`, 10 * time.Second, `x{env="prod",job="node"}`},
		{`rate(x[$__rate_interval])`, 10 * time.Second, `rate(x[40s])`},
		{`rate(x[$__rate_interval])`, time.Minute, `rate(x[70s])`},
		{`avg_over_time(x[$__interval])`, time.Hour, `avg_over_time(x[1h])`},
		{`x{a="$unknown"} $`, time.Second, `x{a="$unknown"} $`},
	} {
		if got := d.Expand(tc.expr, tc.step); got != tc.want {
			t.Errorf("Expand(%q, %v) = %q, want %q", tc.expr, tc.step, got, tc.want)
		}
	}
	if r := (&Dashboard{Refresh: "30s"}).RefreshInterval(); r != 30*time.Second {
		t.Errorf("RefreshInterval = %v", r)
	}
	if r := (&Dashboard{}).RefreshInterval(); r != 0 {
		t.Errorf("no refresh: %v", r)
	}
}
