package upstream

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

func FuzzParseConnectAnswer(f *testing.F) {
	f.Add([]byte(`{"userId":"u","groups":["g"],"roles":["r"],"subprotocol":"p"}`))
	f.Add([]byte(`{"subprotocol":"q"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"userId":1}`))
	offered := []string{"p"}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := parseConnectAnswer(body, offered)
		if err != nil {
			return
		}
		if res.Subprotocol != "" && !slices.Contains(offered, res.Subprotocol) {
			t.Fatalf("subprotocol %q was not offered", res.Subprotocol)
		}
	})
}

func FuzzParseReply(f *testing.F) {
	f.Add("application/json; charset=utf-8", []byte(`{"a":1}`))
	f.Add("text/plain", []byte("hi"))
	f.Add("", []byte{0xff})
	f.Add("application/json", []byte(`{`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, err := parseReply(contentType, body)
		if err != nil || r == nil {
			if len(body) == 0 && (err != nil || r != nil) {
				t.Fatalf("empty body: reply %v, err %v", r, err)
			}
			return
		}
		if r.DataType != pubsub.Binary && !utf8.Valid(r.Data) {
			t.Fatalf("%v reply %q is not UTF-8", r.DataType, r.Data)
		}
		if r.DataType == pubsub.JSON && !json.Valid(r.Data) {
			t.Fatalf("JSON reply %q is not valid JSON", r.Data)
		}
	})
}
