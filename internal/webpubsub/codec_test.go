package webpubsub

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/codec from the current output")

// leftOut in a frame's wanted fields says the field must not be there at all.
type leftOut struct{}

func groupMessage(dt pubsub.DataType, data, group, user string) *pubsub.Message {
	return pubsub.NewGroupMessage(group, user, dt, []byte(data))
}

func ephemeralMessage(data, group, user string) *pubsub.Message {
	m := groupMessage(pubsub.JSON, data, group, user)
	m.Ephemeral = true
	return m
}

func serverMessage(dt pubsub.DataType, data string) *pubsub.Message {
	return pubsub.NewMessage(dt, []byte(data))
}

// reliableFrame renders m as one reliable connection receives it: the shared rendering and that
// connection's sequence id.
func reliableFrame(m *pubsub.Message, seq uint64) []byte {
	f := reliableJSONCodec.Encode(m)
	return reliableJSONCodec.AppendSequence(append([]byte(nil), f.Payload...), seq)
}

func encodeJSON(m *pubsub.Message) []byte { return jsonCodec.Encode(m).Payload }

// downstreamFrames are every kind of frame a JSON subprotocol client hears (protocol §6.2, §7).
// Each is checked against testdata/codec/<name>.json; run `go test -run TestDownstreamGolden
// -update` after an intended change and review the diff.
var downstreamFrames = []struct {
	name  string
	frame func() []byte
	// want holds fields the decoded frame must have (or, as leftOut{}, must not), so that a
	// golden file cannot silently capture a wrong shape.
	want map[string]any
}{
	{"connected", func() []byte { return connectedMessage("u1", "conn-1", "") },
		map[string]any{"type": "system", "event": "connected", "userId": "u1", "connectionId": "conn-1"}},
	{"connected_anonymous", func() []byte { return connectedMessage("", "conn-1", "") },
		map[string]any{"type": "system", "event": "connected", "userId": nil, "connectionId": "conn-1"}},
	{"connected_reliable", func() []byte { return connectedMessage("u1", "conn-1", "rt-1.abc_DEF") },
		map[string]any{"type": "system", "event": "connected", "userId": "u1", "connectionId": "conn-1", "reconnectionToken": "rt-1.abc_DEF"}},
	{"disconnected", func() []byte { return jsonCodec.Goodbye("the server is shutting down") },
		map[string]any{"type": "system", "event": "disconnected", "message": "the server is shutting down"}},
	{"disconnected_escaped", func() []byte { return reliableJSONCodec.Goodbye("say \"bye\" \\ <b>&</b>\n\tgrüß") },
		map[string]any{"type": "system", "event": "disconnected", "message": "say \"bye\" \\ <b>&</b>\n\tgrüß"}},
	{"ack_success", func() []byte { return ackMessage(1, "", "") },
		map[string]any{"type": "ack", "ackId": 1.0, "success": true}},
	{"ack_success_max_id", func() []byte { return ackMessage(math.MaxUint64, "", "") },
		map[string]any{"type": "ack", "success": true}},
	{"ack_forbidden", func() []byte { return ackMessage(2, ackForbidden, `no permission to send to group "g1"`) },
		map[string]any{"type": "ack", "ackId": 2.0, "success": false,
			"error": map[string]any{"name": "Forbidden", "message": `no permission to send to group "g1"`}}},
	{"ack_duplicate", func() []byte { return ackMessage(3, ackDuplicate, "Message with ack-id: 3 has been processed") },
		map[string]any{"type": "ack", "ackId": 3.0, "success": false,
			"error": map[string]any{"name": "Duplicate", "message": "Message with ack-id: 3 has been processed"}}},
	{"ack_bad_request", func() []byte { return ackMessage(4, ackBadRequest, "ttlSeconds must be between 0 and 300") },
		map[string]any{"type": "ack", "ackId": 4.0, "success": false,
			"error": map[string]any{"name": "BadRequest", "message": "ttlSeconds must be between 0 and 300"}}},
	{"ack_internal_error", func() []byte { return ackMessage(5, ackInternalError, "the event handler failed") },
		map[string]any{"type": "ack", "ackId": 5.0, "success": false,
			"error": map[string]any{"name": "InternalServerError", "message": "the event handler failed"}}},
	{"pong", func() []byte { return pongMessage }, map[string]any{"type": "pong"}},

	{"group_json", func() []byte { return encodeJSON(groupMessage(pubsub.JSON, `{"a":1,"b":[true,null]}`, "g1", "u1")) },
		map[string]any{"type": "message", "from": "group", "group": "g1", "fromUserId": "u1", "dataType": "json",
			"data": map[string]any{"a": 1.0, "b": []any{true, nil}}}},
	{"group_json_anonymous", func() []byte { return encodeJSON(groupMessage(pubsub.JSON, `"just a string"`, "g1", "")) },
		map[string]any{"type": "message", "from": "group", "group": "g1", "fromUserId": leftOut{}, "dataType": "json", "data": "just a string"}},
	{"group_from_server", func() []byte {
		to := pubsub.Selector{Kind: pubsub.ToGroup, Name: "dash.1.metrics"}
		return reliableFrame(pubsub.NewServerMessage(to, pubsub.JSON, []byte(`{"type":"points"}`)), 3)
	},
		map[string]any{"type": "message", "from": "group", "group": "dash.1.metrics", "fromUserId": leftOut{}, "dataType": "json",
			"data": map[string]any{"type": "points"}, "sequenceId": 3.0}},
	{"group_json_null", func() []byte { return encodeJSON(groupMessage(pubsub.JSON, `null`, "dash.1.metrics", "u1")) },
		map[string]any{"type": "message", "from": "group", "group": "dash.1.metrics", "dataType": "json", "data": nil}},
	{"group_text", func() []byte { return encodeJSON(groupMessage(pubsub.Text, "fire", "g1", "u1")) },
		map[string]any{"type": "message", "from": "group", "group": "g1", "fromUserId": "u1", "dataType": "text", "data": "fire"}},
	{"group_text_escaped", func() []byte {
		return encodeJSON(groupMessage(pubsub.Text, "line1\nline2 \"q\" \\ \u2028 <x>", "g \"1\"", "u\"1"))
	},
		map[string]any{"type": "message", "from": "group", "group": "g \"1\"", "fromUserId": "u\"1", "dataType": "text",
			"data": "line1\nline2 \"q\" \\ \u2028 <x>"}},
	{"group_binary", func() []byte { return encodeJSON(groupMessage(pubsub.Binary, "hi", "g1", "u1")) },
		map[string]any{"type": "message", "from": "group", "group": "g1", "fromUserId": "u1", "dataType": "binary", "data": "aGk="}},
	{"group_binary_empty", func() []byte { return encodeJSON(groupMessage(pubsub.Binary, "", "g1", "u1")) },
		map[string]any{"dataType": "binary", "data": ""}},
	{"server_json", func() []byte { return encodeJSON(serverMessage(pubsub.JSON, `{"hello":"world"}`)) },
		map[string]any{"type": "message", "from": "server", "dataType": "json", "data": map[string]any{"hello": "world"}}},
	// An app server's invocation of a client method (SignalR-style send on a shared hub): a Web
	// PubSub client gets the target with the arguments.
	{"server_invocation", func() []byte {
		return encodeJSON(pubsub.NewInvocation(pubsub.Selector{}, "newMessage", []byte(`["hi",1]`)))
	}, map[string]any{"type": "message", "from": "server", "dataType": "json", "data": map[string]any{"target": "newMessage", "arguments": []any{"hi", 1}}}},
	{"group_invocation", func() []byte {
		return encodeJSON(pubsub.NewInvocation(pubsub.Selector{Kind: pubsub.ToGroup, Name: "g"}, "m", []byte(`[]`)))
	}, map[string]any{"type": "message", "from": "group", "group": "g", "fromUserId": leftOut{}, "dataType": "json", "data": map[string]any{"target": "m", "arguments": []any{}}}},
	{"server_json_number", func() []byte { return encodeJSON(serverMessage(pubsub.JSON, `42`)) },
		map[string]any{"type": "message", "from": "server", "dataType": "json", "data": 42.0}},
	{"server_text", func() []byte { return encodeJSON(serverMessage(pubsub.Text, "hi")) },
		map[string]any{"type": "message", "from": "server", "dataType": "text", "data": "hi"}},
	{"server_binary", func() []byte { return encodeJSON(serverMessage(pubsub.Binary, "\x00\x01\xfe\xff")) },
		map[string]any{"type": "message", "from": "server", "dataType": "binary", "data": "AAH+/w=="}},

	{"reliable_group_json", func() []byte { return reliableFrame(groupMessage(pubsub.JSON, `{"a":1}`, "g1", "u1"), 1) },
		map[string]any{"type": "message", "from": "group", "group": "g1", "fromUserId": "u1", "dataType": "json",
			"data": map[string]any{"a": 1.0}, "sequenceId": 1.0}},
	{"reliable_server_text", func() []byte { return reliableFrame(serverMessage(pubsub.Text, "hi"), 2) },
		map[string]any{"type": "message", "from": "server", "dataType": "text", "data": "hi", "sequenceId": 2.0}},
	{"reliable_server_binary", func() []byte { return reliableFrame(serverMessage(pubsub.Binary, "hi"), 1000) },
		map[string]any{"type": "message", "from": "server", "dataType": "binary", "data": "aGk=", "sequenceId": 1000.0}},
	{"reliable_max_sequence", func() []byte { return reliableFrame(serverMessage(pubsub.Text, "x"), math.MaxUint64) },
		map[string]any{"type": "message", "from": "server", "dataType": "text", "data": "x"}},
	{"reliable_group_ephemeral", func() []byte {
		return reliableJSONCodec.Encode(ephemeralMessage(`{"x":0.5}`, "dash.1.collab", "u1")).Payload
	},
		map[string]any{"type": "message", "from": "group", "group": "dash.1.collab", "fromUserId": "u1", "dataType": "json",
			"data": map[string]any{"x": 0.5}}},

	// Group streams: the stream object as the official client parses it (parseStreamInfo in
	// @azure/web-pubsub-client 1.1.0 dist/esm/protocols/jsonProtocolBase.js), before the sequence id.
	{"stream_fragment", func() []byte {
		return encodeJSON(streamMessage(pubsub.Text, "tok", &pubsub.StreamPosition{ID: "s-1", Seq: 2}))
	},
		map[string]any{"type": "message", "from": "group", "group": "g1", "fromUserId": "u1", "dataType": "text", "data": "tok",
			"stream": map[string]any{"streamId": "s-1", "streamSequenceId": 2.0, "endOfStream": false}}},
	{"reliable_stream_end", func() []byte {
		return reliableFrame(streamMessage(pubsub.Text, "", &pubsub.StreamPosition{ID: "s-1", Seq: 3, End: true}), 9)
	},
		map[string]any{"type": "message", "dataType": "text", "data": "", "sequenceId": 9.0,
			"stream": map[string]any{"streamId": "s-1", "streamSequenceId": 3.0, "endOfStream": true}}},
	{"stream_end_user_error", func() []byte {
		err := &pubsub.StreamError{Name: streamUserError, Message: `model "x" failed`, UserCode: "E42"}
		return encodeJSON(streamMessage(pubsub.Text, "", &pubsub.StreamPosition{ID: "s-1", Seq: 1, End: true, Err: err}))
	},
		map[string]any{"type": "message", "dataType": "text", "data": "",
			"stream": map[string]any{"streamId": "s-1", "streamSequenceId": 1.0, "endOfStream": true,
				"error": map[string]any{"name": "UserError", "message": `model "x" failed`, "userErrorCode": "E42"}}}},
	{"stream_end_idle_timeout", func() []byte {
		err := &pubsub.StreamError{Name: streamIdleTimeout, Message: "no stream data within 300 ms"}
		return encodeJSON(streamMessage(pubsub.Text, "", &pubsub.StreamPosition{ID: "s-1", Seq: 4, End: true, Err: err}))
	},
		map[string]any{"stream": map[string]any{"streamId": "s-1", "streamSequenceId": 4.0, "endOfStream": true,
			"error": map[string]any{"name": "IdleTimeout", "message": "no stream data within 300 ms"}}}},
	{"stream_ack", func() []byte { return streamAckMessage("s-1", 1) },
		map[string]any{"type": "streamAck", "streamId": "s-1", "expectedSequenceId": 1.0}},
	{"stream_nack", func() []byte {
		return streamNackMessage("s-1", streamInvalidSequenceID, "expected streamSequenceId 2", 2)
	},
		map[string]any{"type": "streamNack", "streamId": "s-1", "name": "InvalidSequenceId",
			"message": "expected streamSequenceId 2", "expectedSequenceId": 2.0}},
	{"stream_closed", func() []byte { return streamClosedMessage("s-1", "", "") },
		map[string]any{"type": "streamClosed", "streamId": "s-1"}},
	{"stream_closed_not_found", func() []byte { return streamClosedMessage("s-1", streamNotFound, "the stream is not open") },
		map[string]any{"type": "streamClosed", "streamId": "s-1",
			"error": map[string]any{"name": "StreamNotFound", "message": "the stream is not open"}}},
}

func streamMessage(dt pubsub.DataType, data string, at *pubsub.StreamPosition) *pubsub.Message {
	m := groupMessage(dt, data, "g1", "u1")
	m.Stream = at
	return m
}

func TestDownstreamGolden(t *testing.T) {
	for _, tt := range downstreamFrames {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.frame()
			if !json.Valid(got) || !utf8.Valid(got) {
				t.Fatalf("not a valid JSON text frame: %s", got)
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				v, ok := m[k]
				if _, unwanted := want.(leftOut); unwanted {
					if ok {
						t.Errorf("field %q = %#v, want it left out", k, v)
					}
					continue
				}
				if !ok {
					t.Errorf("field %q missing from %s", k, got)
					continue
				}
				if !jsonEqual(v, want) {
					t.Errorf("field %q = %#v, want %#v", k, v, want)
				}
			}
			path := filepath.Join("testdata", "codec", tt.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("frame differs from %s:\n got %s\nwant %s", path, got, want)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// The parts of a reliable frame must add up to exactly what a plain connection gets plus the
// sequence id, so that one shared rendering serves every reliable connection.
func TestReliableRenderingIsSharedPrefix(t *testing.T) {
	for _, m := range []*pubsub.Message{
		groupMessage(pubsub.JSON, `{"a":1}`, "g", "u"),
		serverMessage(pubsub.Text, "t"),
		serverMessage(pubsub.Binary, "b"),
	} {
		plain := jsonCodec.Encode(m).Payload
		shared := reliableJSONCodec.Encode(m).Payload
		if !bytes.Equal(shared, plain[:len(plain)-1]) {
			t.Errorf("reliable rendering %s is not the plain one %s without its closing brace", shared, plain)
		}
		for _, seq := range []uint64{1, 7, 1 << 40} {
			f := reliableJSONCodec.AppendSequence(append([]byte(nil), shared...), seq)
			var v struct {
				SequenceID uint64 `json:"sequenceId"`
			}
			if err := json.Unmarshal(f, &v); err != nil || v.SequenceID != seq {
				t.Errorf("frame %s: sequenceId %d, %v; want %d", f, v.SequenceID, err, seq)
			}
		}
	}
	if got := string(reliableJSONCodec.AppendSequence([]byte("x"), 12)); got != `x,"sequenceId":12}` {
		t.Errorf("AppendSequence = %s", got)
	}
	// An ephemeral message gets no sequence id, so reliable connections get the plain frame.
	m := ephemeralMessage(`{"a":1}`, "g", "u")
	if plain, shared := jsonCodec.Encode(m).Payload, reliableJSONCodec.Encode(m).Payload; !bytes.Equal(shared, plain) {
		t.Errorf("reliable rendering of an ephemeral message %s is not the plain one %s", shared, plain)
	}
}

func TestCodecFormats(t *testing.T) {
	formats := map[pubsub.Format]string{}
	for name, c := range map[string]pubsub.Codec{"raw": rawCodec, "json": jsonCodec, "reliable": reliableJSONCodec} {
		if other, dup := formats[c.Format()]; dup {
			t.Errorf("codecs %s and %s share format %d", name, other, c.Format())
		}
		formats[c.Format()] = name
	}
}

func TestRawCodec(t *testing.T) {
	tests := []struct {
		name   string
		m      *pubsub.Message
		want   string
		binary bool
	}{
		{"text", serverMessage(pubsub.Text, "hello"), "hello", false},
		{"json as it is", groupMessage(pubsub.JSON, `{"a":1}`, "g", "u"), `{"a":1}`, false},
		{"binary", serverMessage(pubsub.Binary, "\x00\xff"), "\x00\xff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := rawCodec.Encode(tt.m)
			if string(f.Payload) != tt.want || f.Binary != tt.binary {
				t.Errorf("Encode = %q binary=%v, want %q binary=%v", f.Payload, f.Binary, tt.want, tt.binary)
			}
		})
	}
	if g := rawCodec.Goodbye("x"); g != nil {
		t.Errorf("a simple client got a goodbye message %q", g)
	}
	if got := rawCodec.AppendSequence([]byte("p"), 5); string(got) != "p" {
		t.Errorf("raw AppendSequence = %q", got)
	}
	// JSON-codec frames are always text.
	if jsonCodec.Encode(serverMessage(pubsub.Binary, "x")).Binary {
		t.Error("the JSON codec asked for a binary frame")
	}
}

// 1 KiB payloads, the size the fan-out target is quoted at.
var (
	kibJSON = `{"v":"` + strings.Repeat("x", 1024-8) + `"}`
	kibText = strings.Repeat("t", 1024)
)

func BenchmarkEncodeJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		m    *pubsub.Message
	}{
		{"group/json", groupMessage(pubsub.JSON, kibJSON, "dash.1.metrics", "u1")},
		{"group/text", groupMessage(pubsub.Text, kibText, "dash.1.metrics", "u1")},
		{"server/binary", serverMessage(pubsub.Binary, kibText)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.m.Data)))
			for b.Loop() {
				_ = jsonCodec.Encode(bc.m)
			}
		})
	}
}

func BenchmarkAppendSequence(b *testing.B) {
	var buf [32]byte
	b.ReportAllocs()
	seq := uint64(1)
	for b.Loop() {
		_ = reliableJSONCodec.AppendSequence(buf[:0], seq)
		seq++
	}
}

func BenchmarkDecodeInbound(b *testing.B) {
	for _, bc := range []struct{ name, frame string }{
		{"sendToGroup/json", `{"type":"sendToGroup","group":"dash.1.collab","ackId":2,"noEcho":true,"dataType":"json","data":` + kibJSON + `}`},
		{"sendToGroup/text", `{"type":"sendToGroup","group":"g1","noEcho":false,"dataType":"text","data":"` + kibText + `"}`},
		{"sequenceAck", `{"type":"sequenceAck","sequenceId":6}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.frame)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var m inbound
				if err := json.Unmarshal(data, &m); err != nil {
					b.Fatal(err)
				}
				if m.Type == "sendToGroup" {
					if _, _, rerr := decodeData(m.DataType, m.Data); rerr != nil {
						b.Fatal(rerr.msg)
					}
				}
			}
		})
	}
}
