package collect

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/metadata"
)

// TestHostJob collects this host into a real store and queries it the way
// node_exporter dashboards do.
func TestHostJob(t *testing.T) {
	s := openStore(t)
	c, err := New(Options{Appendable: s, Logger: discard, Host: HostJob{Instance: "box"}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	c.jobs[0].collect(context.Background())
	at := t0.Add(time.Second)

	if v := query(t, s, `node_scrape_collector_success == 0`, at); len(v) > 0 {
		t.Errorf("failing host collectors: %v", v)
	}
	if v := only(t, s, `up{job="node",instance="box"}`, at); v != 1 {
		t.Errorf("up = %v, want 1", v)
	}
	for _, expr := range []string{
		`node_cpu_seconds_total{job="node",instance="box",mode="idle",cpu="0"}`,
		`node_memory_MemTotal_bytes > 0`,
		`node_memory_MemAvailable_bytes <= on() node_memory_MemTotal_bytes`,
		`node_load1 >= 0`,
		`node_filesystem_size_bytes{mountpoint="/"} > 0`,
		`node_network_receive_bytes_total{device="lo"}`,
		`node_boot_time_seconds > 0`,
	} {
		if v := query(t, s, expr, at); len(v) == 0 {
			t.Errorf("%s: no series", expr)
		}
	}
	if v := query(t, s, `node_filesystem_size_bytes{fstype=~"proc|sysfs|devtmpfs|cgroup2?"}`, at); len(v) > 0 {
		t.Errorf("pseudo filesystems collected: %v", v)
	}
	if m := metadataOf(t, s, "node_cpu_seconds_total"); m != (metadata.Metadata{Type: "counter", Help: "Seconds the CPUs spent in each mode."}) {
		t.Errorf("metadata of node_cpu_seconds_total = %+v", m)
	}
}
