package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	sent := time.Date(2026, 11, 23, 1, 2, 3, 456789012, time.UTC).UnixNano()
	tests := []struct {
		name string
		h    header
		size int
	}{
		{"measured 1 KiB", header{kind: kindMeasured, worker: 3, group: 12, seq: 987654, sent: sent}, 1024},
		{"warm-up", header{kind: kindWarmup, group: 1, sent: sent}, 100},
		{"smaller than the header", header{kind: kindMeasured, worker: 1 << 20, group: 99, seq: 1 << 62, sent: sent}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := appendPayload(nil, tt.h, tt.size)
			if len(p) < tt.size {
				t.Errorf("payload is %d bytes, want at least %d", len(p), tt.size)
			}
			if tt.size >= 100 && len(p) != tt.size {
				t.Errorf("payload is %d bytes, want exactly %d", len(p), tt.size)
			}
			// The payload arrives inside a JSON string, encoded by the server; it must come out
			// unchanged and be found in the frame.
			quoted, _ := json.Marshal(string(p))
			if string(quoted) != `"`+string(p)+`"` {
				t.Fatalf("payload needs JSON escaping: %s", quoted)
			}
			frame := `{"type":"message","from":"group","group":"bench-1","dataType":"text","data":` + string(quoted) + `,"sequenceId":7}`
			var got []header
			scanPayloads([]byte(frame), func(h header) { got = append(got, h) })
			if len(got) != 1 || got[0] != tt.h {
				t.Errorf("scanned %+v, want [%+v]", got, tt.h)
			}
		})
	}
}

func TestScanPayloads(t *testing.T) {
	a := header{kind: kindMeasured, worker: 0, group: 0, seq: 1, sent: 100}
	b := header{kind: kindMeasured, worker: 1, group: 0, seq: 2, sent: 200}
	tests := []struct {
		name  string
		frame string
		want  []header
	}{
		{"batched frame", `{"pub":"` + string(appendPayload(nil, a, 90)) + `"}` + "\n" + `{"pub":"` + string(appendPayload(nil, b, 90)) + `"}`, []header{a, b}},
		{"no payload", `{"type":"system","event":"connected"}`, nil},
		{"truncated header", `"~hb1 m 1 2 3"`, nil},
		{"unknown kind", `"~hb1 z 1 2 3 4~"`, nil},
		{"overlong number", `"~hb1 m 1 2 3 123456789012345678901234~"`, nil},
		{"bad one then good one", `~hb1 m 1 x ` + string(appendPayload(nil, a, 0)), []header{a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []header
			scanPayloads([]byte(tt.frame), func(h header) { got = append(got, h) })
			if len(got) != len(tt.want) {
				t.Fatalf("scanned %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("header %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func FuzzScanPayloads(f *testing.F) {
	f.Add(string(appendPayload(nil, header{kind: kindMeasured, worker: 1, group: 2, seq: 3, sent: 4}, 64)))
	f.Add(`~hb1 w 0 0 0 0~`)
	f.Fuzz(func(t *testing.T, s string) {
		scanPayloads([]byte(s), func(h header) {
			if h.kind != kindMeasured && h.kind != kindWarmup {
				t.Errorf("kind %q", h.kind)
			}
			if !strings.Contains(s, payloadMagic) {
				t.Errorf("header found in %q without the magic", s)
			}
		})
	})
}
