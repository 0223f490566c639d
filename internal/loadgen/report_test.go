package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
)

func sampleReport() *Report {
	r := &Report{
		Setup:               "10000 subscribers in 1 group(s), 1 rest publisher(s) at 60 msg/s, 1024-byte messages, json.webpubsub.azure.v1",
		URL:                 "http://127.0.0.1:8080",
		Protocol:            ProtocolJSON,
		Subscribers:         10000,
		Connected:           10000,
		ConnectSeconds:      5.0123,
		Published:           600,
		PublishSeconds:      10,
		PublishRate:         60,
		Expected:            6_000_000,
		Delivered:           5_999_990,
		Lost:                10,
		Duplicates:          2,
		DeliverySeconds:     10.05,
		DeliveriesPerSecond: 597_014.925,
		Latency:             Latency{P50: 0.25, P99: 3.456, P999: 7.1, Max: 12.5, Mean: 0.6},
		Memory:              Memory{RSSBefore: 20 << 20, RSSAfter: 20<<20 + 10000*9*1024, HeapBefore: 4 << 20, HeapAfter: 4<<20 + 10000*6*1024},
	}
	r.Memory.perConnection(r.Connected)
	return r
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `10000 subscribers in 1 group(s), 1 rest publisher(s) at 60 msg/s, 1024-byte messages, json.webpubsub.azure.v1
server          http://127.0.0.1:8080
connections     10000 of 10000 connected, 0 failed, in 5.01 s
published       600 messages in 10.00 s (60.0/s), 0 errors
deliveries      5999990 of 6000000 expected: 10 lost, 2 duplicate, 0 misrouted; 0 subscribers dropped
throughput      597,015 deliveries/s over 10.05 s
latency         p50 250 µs  p99 3.46 ms  p99.9 7.10 ms  max 12.50 ms  mean 600 µs
server memory   RSS 20.0 MiB → 107.9 MiB, 9.0 KiB per connection; Go heap in use 6.0 KiB per connection
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTableIdle(t *testing.T) {
	r := sampleReport()
	r.Idle = true
	r.Memory = Memory{Error: "read server metrics: 404 Not Found"}
	r.FirstError = "subscriber 7: dial tcp: connection refused"
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, absent := range []string{"published", "latency", "throughput"} {
		if strings.Contains(got, absent) {
			t.Errorf("idle report mentions %q:\n%s", absent, got)
		}
	}
	for _, present := range []string{"server memory   unknown: read server metrics: 404 Not Found", "first error     subscriber 7: dial tcp"} {
		if !strings.Contains(got, present) {
			t.Errorf("idle report lacks %q:\n%s", present, got)
		}
	}
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// Scripts that compare runs read these names; renaming one breaks them.
	for _, path := range [][]string{
		{"deliveries_per_second"}, {"lost"}, {"duplicates"}, {"latency_ms", "p50"}, {"latency_ms", "p99"},
		{"latency_ms", "p999"}, {"server_memory", "rss_per_connection_bytes"}, {"connected"},
	} {
		var v any = m
		for _, k := range path {
			v = v.(map[string]any)[k]
		}
		if v == nil {
			t.Errorf("JSON report lacks %s: %s", strings.Join(path, "."), b)
		}
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{thousands(0), "0"},
		{thousands(999.6), "1,000"},
		{thousands(1234567), "1,234,567"},
		{thousands(-123456), "-123,456"},
		{bytesIEC(512), "512 B"},
		{bytesIEC(9.5 * 1024), "9.5 KiB"},
		{bytesIEC(-2048), "-2.0 KiB"},
		{bytesIEC(3 << 30), "3.00 GiB"},
		{millis(0.0123), "12 µs"},
		{millis(1.5), "1.50 ms"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
