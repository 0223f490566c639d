package notify

import (
	"bytes"
	"testing"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// FuzzContactPoint: whatever body a client sends, reading, validating and masking a contact
// point never panics, and a valid one masks to something that is valid to send back.
func FuzzContactPoint(f *testing.F) {
	f.Add([]byte(`{"name":"a","kind":"webhook","settings":{"url":"http://x","secret":"s","headers":{"A":"b"}}}`))
	f.Add([]byte(`{"name":"a","kind":"email","settings":{"host":"h","from":"a@b.c","to":["d@e.f"],"password":"p","username":"u"}}`))
	f.Add([]byte(`{"name":"a","kind":"alertmanager","timeout":"1m","attempts":2,"settings":{"urls":["http://x"],"bearerToken":"t"}}`))
	f.Add([]byte(`{"name":"a","kind":"hub","settings":{"hub":"h","group":"g"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var cp ContactPoint
		if cp.UnmarshalJSON(b) != nil {
			return
		}
		if cp.normalize(&hubRecorder{}) != nil {
			return
		}
		m := cp.masked()
		m.Settings.keep(cp.Settings)
		if err := m.normalize(&hubRecorder{}); err != nil {
			t.Errorf("a valid contact point, masked and kept, is refused: %v", err)
		}
	})
}

// FuzzPolicy: any policy body is compiled or refused with a client error, never a panic.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte(`{"contactPoint":"a","groupBy":["..."],"routes":[{"matchers":["severity=~\"0|1\""],"continue":true}]}`))
	f.Add([]byte(`{"contactPoint":"a","groupWait":"1d","routes":[{"matchers":["a!~\"(x\""],"groupInterval":"0s"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Policy
		if httpapi.DecodeJSONFrom(bytes.NewReader(b), &p) != nil {
			return
		}
		if _, err := p.compile(func(id string) bool { return id == "a" }); err != nil {
			if _, ok := err.(*httpapi.Error); !ok {
				t.Errorf("not a client error: %T %v", err, err)
			}
		}
	})
}
