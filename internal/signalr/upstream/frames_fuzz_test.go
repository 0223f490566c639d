package upstream

import (
	"bytes"
	"testing"
)

// FuzzCheckFrames feeds arbitrary upstream answers to the frame check: it must never panic,
// and what it accepts as JSON must end with a record separator.
func FuzzCheckFrames(f *testing.F) {
	f.Add([]byte("{\"type\":3,\"invocationId\":\"1\",\"result\":1}\x1e"), true)
	f.Add([]byte{0x06, 0x95, 0x03, 0x80, 0xa1, 0x31, 0x02}, false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, false)
	f.Fuzz(func(t *testing.T, b []byte, json bool) {
		protocol := ProtocolMessagePack
		if json {
			protocol = ProtocolJSON
		}
		if checkFrames(protocol, b) == nil && json && !bytes.HasSuffix(b, []byte{recordSeparator}) {
			t.Errorf("accepted %q", b)
		}
	})
}
