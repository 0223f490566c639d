package notify

import (
	"strconv"
	"testing"
)

// BenchmarkNotify is one evaluation's call with 1,000 firing alerts in 10 groups, all known:
// what the evaluator pays per evaluation, whatever the receivers do.
func BenchmarkNotify(b *testing.B) {
	d, _ := newDispatcher(b, nil, Options{Hub: &hubRecorder{}})
	cp := addContactPoint(b, d, "apps", &HubSettings{Hub: "ops", Group: "alerts"})
	setPolicy(b, d, Policy{ContactPoint: cp.ID, GroupBy: []string{"alertname"}, GroupWait: "1h", GroupInterval: "1h", RepeatInterval: "1h"})
	alerts := make([]Alert, 1000)
	for i := range alerts {
		alerts[i] = firing("Alert"+strconv.Itoa(i%10), "fp"+strconv.Itoa(i))
	}
	d.Notify(alerts...)
	b.ReportAllocs()
	for b.Loop() {
		d.Notify(alerts...)
	}
}
