package signalr

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// The golden frames below are the shapes of ASP.NET Core's JSON and MessagePack hub protocols as
// the official client parses them (dotnet/aspnetcore src/SignalR/docs/specs/HubProtocol.md;
// @microsoft/signalr JsonHubProtocol.js, @microsoft/signalr-protocol-msgpack
// MessagePackHubProtocol.js and BinaryMessageFormat.js).

func TestJSONFrames(t *testing.T) {
	inv := pubsub.NewInvocation(pubsub.Selector{}, "newMessage", []byte(`["hi",{"n":1}]`))
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"invocation", jsonProtocol.Encode(inv).Payload, `{"type":1,"target":"newMessage","arguments":["hi",{"n":1}]}` + "\x1e"},
		{"invocation target escaped", jsonProtocol.Encode(pubsub.NewInvocation(pubsub.Selector{}, `a"b`, []byte(`[]`))).Payload,
			`{"type":1,"target":"a\"b","arguments":[]}` + "\x1e"},
		{"ping", jsonProtocol.ping(), `{"type":6}` + "\x1e"},
		{"close going away", jsonProtocol.GoodbyeFor(pubsub.CloseGoingAway, "the server is shutting down"),
			`{"type":7,"error":"the server is shutting down","allowReconnect":true}` + "\x1e"},
		{"close for good", jsonProtocol.Goodbye("kicked"), `{"type":7,"error":"kicked"}` + "\x1e"},
		{"close without reason", jsonProtocol.GoodbyeFor(pubsub.ClosePolicyViolation, ""), `{"type":7}` + "\x1e"},
		{"completion error", jsonProtocol.completion("7", "no"), `{"type":3,"invocationId":"7","error":"no"}` + "\x1e"},
		{"completion", jsonProtocol.completion("7", ""), `{"type":3,"invocationId":"7"}` + "\x1e"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if f := jsonProtocol.Encode(inv); f.Binary {
		t.Error("JSON hub protocol frame marked binary")
	}
}

func TestMessagePackFrames(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string // hex: varint length, then the MessagePack array
	}{
		// [1, {}, nil, "m", [1, "a"]]
		{"invocation", messagePackProtocol.Encode(pubsub.NewInvocation(pubsub.Selector{}, "m", []byte(`[1,"a"]`))).Payload, "0a950180c0a16d9201a161"},
		// [1, {}, nil, "m", [1.5, {"k": true}, null]]
		{"invocation floats maps nulls", messagePackProtocol.Encode(pubsub.NewInvocation(pubsub.Selector{}, "m", []byte(`[1.5,{"k":true},null]`))).Payload,
			"15950180c0a16d93cb3ff800000000000081a16bc3c0"},
		// [6], the client's own SERIALIZED_PING_MESSAGE
		{"ping", messagePackProtocol.ping(), "029106"},
		// [7, "bye", true]
		{"close going away", messagePackProtocol.GoodbyeFor(pubsub.CloseGoingAway, "bye"), "079307a3627965c3"},
		// [7, nil, false]
		{"close without reason", messagePackProtocol.GoodbyeFor(pubsub.ClosePolicyViolation, ""), "049307c0c2"},
		// [3, {}, "1", 1 (error result), "e"]
		{"completion error", messagePackProtocol.completion("1", "e"), "08950380a13101a165"},
		// [3, {}, "1", 2]: the void result kind (MessagePackHubProtocolWorker.WriteCompletionMessage).
		{"completion", messagePackProtocol.completion("1", ""), "06940380a13102"},
	} {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, got, tc.want)
		}
	}
	if f := messagePackProtocol.Encode(pubsub.NewInvocation(pubsub.Selector{}, "m", []byte(`[]`))); !f.Binary {
		t.Error("MessagePack frame not marked binary")
	}
}

// A Web PubSub payload has no hub protocol form: both codecs skip it.
func TestPayloadWithoutTargetSkipped(t *testing.T) {
	m := pubsub.NewMessage(pubsub.JSON, []byte(`{"a":1}`))
	for _, p := range []protocol{jsonProtocol, messagePackProtocol} {
		if f := p.Encode(m); f.Payload != nil {
			t.Errorf("%s rendered a message without target: %q", p.Name(), f.Payload)
		}
	}
}

func TestParseJSON(t *testing.T) {
	msgs, err := jsonProtocol.parse([]byte("{\"type\":6}\x1e{\"type\":1,\"invocationId\":\"3\",\"target\":\"x\",\"arguments\":[]}\x1e{\"type\":1,\"target\":\"y\",\"arguments\":[]}\x1e"))
	if err != nil {
		t.Fatal(err)
	}
	want := []clientMessage{
		{Type: 6, Raw: []byte(`{"type":6}`)},
		{Type: 1, InvocationID: "3", Target: "x", Raw: []byte(`{"type":1,"invocationId":"3","target":"x","arguments":[]}`)},
		{Type: 1, Target: "y", Raw: []byte(`{"type":1,"target":"y","arguments":[]}`)},
	}
	checkParsed(t, msgs, want)
	for _, bad := range []string{"", "{\"type\":6}", "not json\x1e", "{}\x1e", "{\"type\":1,\"invocationId\":5}\x1e", "[1]\x1e"} {
		if _, err := jsonProtocol.parse([]byte(bad)); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}

func TestParseMessagePack(t *testing.T) {
	// The client's ping, then its invocation [1, {}, "4", "x", []] and a send without id.
	in := concatHex(t, "029106", "08950180a134a17890", "07950180c0a17890")
	msgs, err := messagePackProtocol.parse(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []clientMessage{
		{Type: 6, Raw: concatHex(t, "9106")},
		{Type: 1, InvocationID: "4", Target: "x", Raw: concatHex(t, "950180a134a17890")},
		{Type: 1, Target: "x", Raw: concatHex(t, "950180c0a17890")},
	}
	checkParsed(t, msgs, want)
	// The last: an invocation whose target is a number.
	for _, bad := range []string{"05", "ffffffffff01", "0106", "00", "029105", "03930180", "07950180c0019090"} {
		if _, err := messagePackProtocol.parse(concatHex(t, bad)); err == nil {
			t.Errorf("parse(%s) succeeded", bad)
		}
	}
}

func checkParsed(t *testing.T, msgs, want []clientMessage) {
	t.Helper()
	if len(msgs) != len(want) {
		t.Fatalf("parsed %v, want %v", msgs, want)
	}
	for i := range want {
		if !reflect.DeepEqual(msgs[i], want[i]) {
			t.Errorf("message %d = %+v, want %+v", i, msgs[i], want[i])
		}
	}
}

// A peer's MessagePack is refused, not decoded, when a container claims more elements than the
// bytes hold or nesting goes past maxNesting; either would otherwise cost memory out of
// proportion to the message.
func TestParseMessagePackBounded(t *testing.T) {
	deep := []byte{0x95, 0x01}
	for range maxNesting + 1 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0, 0xc0, 0xa1, 'x', 0x90)
	for name, rec := range map[string][]byte{
		// [1, {}, <array of 0xdddddddd elements>…]
		"huge id array": concatHex(t, "0a950180dddddddddd5dc0a178"),
		"deep headers":  deep,
	} {
		msg := append(binaryVarint(len(rec)), rec...)
		if _, err := messagePackProtocol.parse(msg); err == nil {
			t.Errorf("%s: parse succeeded", name)
		}
		body, err := msgpack.Marshal(map[string][]byte{"messagepack": msg})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := binaryInvocation(body); err == nil {
			t.Errorf("%s: binaryInvocation succeeded", name)
		}
	}
}

func concatHex(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHandshake(t *testing.T) {
	for _, tc := range []struct {
		in, protocol, rest, problem string
		version                     int
	}{
		{"{\"protocol\":\"json\",\"version\":1}\x1e", "json", "", "", 1},
		{"{\"protocol\":\"messagepack\",\"version\":1}\x1e", "messagepack", "", "", 1},
		{"{\"protocol\":\"json\",\"version\":1}\x1e{\"type\":6}\x1e", "json", "{\"type\":6}\x1e", "", 1},
		{"{\"protocol\":\"json\",\"version\":2}\x1e", "json", "", "", 2},
		{"{\"protocol\":\"messagepack\",\"version\":2}\x1e", "messagepack", "", "", 2},
		{"{\"protocol\":\"xml\",\"version\":1}\x1e", "", "", "The protocol 'xml' is not supported.", 0},
		{"{\"protocol\":\"json\",\"version\":3}\x1e", "", "", "The server does not support version 3 of the 'json' protocol.", 0},
		{"{\"protocol\":\"json\",\"version\":1}", "", "", "Handshake request is incomplete", 0},
		{"{\"protocol\":\"json\"}\x1e", "", "", "Handshake request is invalid", 0},
		{"nope\x1e", "", "", "Handshake request is invalid", 0},
	} {
		p, version, rest, problem := parseHandshake([]byte(tc.in))
		if tc.problem != "" {
			if !strings.HasPrefix(problem, tc.problem) {
				t.Errorf("parseHandshake(%q) problem %q, want %q", tc.in, problem, tc.problem)
			}
			continue
		}
		if problem != "" || p.Name() != tc.protocol || version != tc.version || string(rest) != tc.rest {
			t.Errorf("parseHandshake(%q) = %v %d %q %q", tc.in, p, version, rest, problem)
		}
	}
}

// FuzzParse feeds a client's WebSocket message to both framings (JSON records ended by 0x1E,
// MessagePack arrays after a varint length) and to the handshake reader: none may panic, and a
// handshake that is accepted names a protocol and leaves only what followed its record.
func FuzzParse(f *testing.F) {
	f.Add([]byte("{\"type\":6}\x1e"))
	f.Add([]byte("{\"type\":1,\"invocationId\":\"3\",\"target\":\"x\",\"arguments\":[]}\x1e{\"type\":7}\x1e"))
	f.Add([]byte{0x02, 0x91, 0x06})
	f.Add(concatHex(f, "029106", "08950180a134a17890", "07950180c0a17890"))
	f.Add([]byte("{\"protocol\":\"json\",\"version\":1}\x1e{\"type\":6}\x1e"))
	f.Add([]byte("{\"protocol\":\"messagepack\",\"version\":1}\x1e\x02\x91\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = jsonProtocol.parse(data)
		_, _ = messagePackProtocol.parse(data)
		p, _, rest, problem := parseHandshake(data)
		if problem == "" && (p == nil || !bytes.HasSuffix(data, rest) || len(rest) >= len(data)) {
			t.Fatalf("parseHandshake(%q) accepted with protocol %v and rest %q", data, p, rest)
		}
	})
}
