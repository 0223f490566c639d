package webpubsub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// sdkFrames are the exact frames @azure/web-pubsub-client sends (protocol §6.1).
var sdkFrames = []string{
	`{"type":"joinGroup","group":"g1","ackId":1}`,
	`{"type":"sendToGroup","group":"g1","ackId":2,"noEcho":true,"dataType":"json","data":{"a":1}}`,
	`{"type":"sendToGroup","group":"g1","noEcho":false,"dataType":"text","data":"fire"}`,
	`{"type":"event","event":"myevent","ackId":3,"dataType":"binary","data":"aGk="}`,
	`{"type":"sequenceAck","sequenceId":6}`,
	`{"type":"ping"}`,
}

// inboundResult is what serving one client frame would send on: a message, or the error ack.
type inboundResult struct {
	m    inbound
	dt   pubsub.DataType
	data []byte
	rerr *requestError
}

// decodeInbound runs the decode steps of handleJSON and sendToGroup/userEvent: the message, then
// its data. ok is false when the frame is not JSON at all (the connection is closed with 1007).
func decodeInbound(frame []byte) (r inboundResult, ok bool) {
	if err := json.Unmarshal(frame, &r.m); err != nil {
		return r, false
	}
	r.dt, r.data, r.rerr = decodeData(r.m.DataType, r.m.Data)
	return r, true
}

func FuzzDecodeInbound(f *testing.F) {
	for _, s := range sdkFrames {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"type":"sendToGroup","group":"g1","data":null}`,
		`{"type":"sendToGroup","group":"g1"}`,
		`{"type":"sendToGroup","group":"g \"1\"","dataType":"text","data":"line\nbreak \u2028 \ud83d\ude00"}`,
		`{"type":"sendToGroup","group":"g1","dataType":"binary","data":""}`,
		`{"type":"sendToGroup","group":"g1","dataType":"protobuf","data":"AAEC"}`,
		`{"type":"sendToGroup","group":"g1","dataType":"json","data": [1, 2.5e3, "x", {"y": [true, false, null]}] }`,
		`{"type":"sendToGroup","group":"g1","dataType":"xml","data":"<a/>"}`,
		`{"type":"sendToGroup","group":"g1","dataType":"binary","data":"not base64!"}`,
		`{"type":"sendToGroup","group":"g1","dataType":"text","data":42}`,
		`{"type":"sendToGroup","group":"g1","ackId":18446744073709551615,"ttlSeconds":300,"data":1}`,
		`{"type":"sequenceAck","sequenceId":18446744073709551615}`,
		`{"type":"joinGroup","group":"g1","ackId":-1}`,
		`{"type":"event","event":"e","data":"\u0000"}`,
		`{"type":"sendToGroup","TYPE":"x","Group":"G","data":{}}`,
		// Group streams, as the SDK sends them (protocols/jsonProtocolBase.js writeMessage).
		`{"type":"sendToGroup","group":"g1","noEcho":false,"stream":{"streamId":"8f1c"}}`,
		`{"type":"sendToGroup","group":"g1","noEcho":true,"stream":{"streamId":"s","idleTimeoutMs":300}}`,
		`{"type":"streamData","streamId":"s","streamSequenceId":1,"dataType":"text","data":"hi"}`,
		`{"type":"streamData","streamId":"s","streamSequenceId":18446744073709551615,"dataType":"binary","data":"AAEC"}`,
		`{"type":"streamData","streamId":"s"}`,
		`{"type":"streamEnd","streamId":"s"}`,
		`{"type":"streamEnd","streamId":"s \"\u2028","error":{"message":"boom\n","userErrorCode":"E\ud83d\ude00"}}`,
		`{"type":"streamData","streamId":7}`,
		`{"type":"sendToGroup","group":"g1","stream":{"streamId":"s","idleTimeoutMs":-1}}`,
		`[]`, `null`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, ok := decodeInbound(frame)
		if !ok {
			return
		}
		if r.rerr != nil {
			if r.rerr.name != ackBadRequest || r.rerr.msg == "" {
				t.Fatalf("data error %+v: want a BadRequest with a message", r.rerr)
			}
			// The error ack quotes client input; it must still be valid JSON.
			checkFrame(t, "error ack", ackMessage(7, r.rerr.name, r.rerr.msg), true)
			return
		}
		user := r.m.Event // any client-controlled string will do as a user id
		fromGroup := groupMessage(r.dt, string(r.data), r.m.Group, user)
		fromServer := serverMessage(r.dt, string(r.data))
		for _, m := range []*pubsub.Message{fromGroup, fromServer} {
			plain := jsonCodec.Encode(m).Payload
			checkFrame(t, "message", plain, true)
			checkRoundTrip(t, plain, m)
			reliable := reliableFrame(m, 1<<33+5)
			checkFrame(t, "reliable message", reliable, true)
			checkRoundTrip(t, reliable, m)
		}
		// Stream ids and a publisher's error are client input that reaches the publisher and every
		// receiver.
		end := &pubsub.StreamError{Name: streamUserError}
		if r.m.Error != nil {
			end.Message, end.UserCode = r.m.Error.Message, r.m.Error.UserErrorCode
		}
		streamed := groupMessage(r.dt, string(r.data), r.m.Group, user)
		streamed.Stream = &pubsub.StreamPosition{ID: r.m.StreamID, Seq: 1<<63 + 1, End: true, Err: end}
		sframe := reliableFrame(streamed, 3)
		checkFrame(t, "stream message", sframe, true)
		checkRoundTrip(t, sframe, streamed)
		var got struct {
			Stream struct {
				StreamID string `json:"streamId"`
				Seq      uint64 `json:"streamSequenceId"`
				End      bool   `json:"endOfStream"`
				Error    struct {
					Message  string `json:"message"`
					UserCode string `json:"userErrorCode"`
				} `json:"error"`
			} `json:"stream"`
		}
		if err := json.Unmarshal(sframe, &got); err != nil || got.Stream.StreamID != r.m.StreamID || got.Stream.Seq != 1<<63+1 ||
			!got.Stream.End || got.Stream.Error.Message != end.Message || got.Stream.Error.UserCode != end.UserCode {
			t.Fatalf("stream object %+v (%v) in %q, want %+v", got.Stream, err, sframe, streamed.Stream)
		}
		checkFrame(t, "streamAck", streamAckMessage(r.m.StreamID, 1<<40), true)
		checkFrame(t, "streamNack", streamNackMessage(r.m.StreamID, streamInvalidSequenceID, r.m.Group, 2), true)
		checkFrame(t, "streamClosed", streamClosedMessage(r.m.StreamID, ackBadRequest, r.m.Group), true)
		if r.m.AckID != nil {
			checkFrame(t, "ack", ackMessage(*r.m.AckID, "", ""), true)
			checkFrame(t, "duplicate ack", ackMessage(*r.m.AckID, ackDuplicate, r.m.Group), true)
		}
		checkFrame(t, "goodbye", jsonCodec.Goodbye(r.m.Group), true)
		checkFrame(t, "connected", connectedMessage(r.m.Group, r.m.Event, r.m.Type), true)
	})
}

// checkFrame fails unless b is one JSON object that a client can read from a text frame.
func checkFrame(t *testing.T, what string, b []byte, object bool) {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("%s is not valid JSON: %q", what, b)
	}
	if !utf8.Valid(b) {
		t.Fatalf("%s is not valid UTF-8, so not a valid text frame: %q", what, b)
	}
	if object {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s is not a JSON object: %v: %q", what, err, b)
		}
	}
}

// checkRoundTrip decodes a message frame as the SDK would and compares it with what was sent.
func checkRoundTrip(t *testing.T, frame []byte, m *pubsub.Message) {
	t.Helper()
	var got struct {
		Type       string          `json:"type"`
		From       string          `json:"from"`
		Group      *string         `json:"group"`
		FromUserID *string         `json:"fromUserId"`
		DataType   string          `json:"dataType"`
		Data       json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(frame, &got); err != nil {
		t.Fatalf("%v: %q", err, frame)
	}
	if got.Type != "message" || got.DataType != m.DataType.String() {
		t.Fatalf("type %q dataType %q in %q", got.Type, got.DataType, frame)
	}
	if m.Origin == pubsub.FromGroup {
		if got.From != "group" || got.Group == nil || *got.Group != m.Group {
			t.Fatalf("group %v, want %q, in %q", got.Group, m.Group, frame)
		}
		if (m.FromUserID == "") != (got.FromUserID == nil) || (got.FromUserID != nil && *got.FromUserID != m.FromUserID) {
			t.Fatalf("fromUserId %v, want %q, in %q", got.FromUserID, m.FromUserID, frame)
		}
	} else if got.From != "server" || got.Group != nil {
		t.Fatalf("server message shaped as %q", frame)
	}
	switch m.DataType {
	case pubsub.Text:
		var s string
		if err := json.Unmarshal(got.Data, &s); err != nil || s != string(m.Data) {
			t.Fatalf("text data %q, want %q (%v)", s, m.Data, err)
		}
	case pubsub.Binary, pubsub.Protobuf:
		var s string
		if err := json.Unmarshal(got.Data, &s); err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !bytes.Equal(b, m.Data) {
			t.Fatalf("binary data %x, want %x (%v)", b, m.Data, err)
		}
	default:
		var want, have bytes.Buffer
		if err := json.Compact(&want, m.Data); err != nil {
			t.Fatalf("JSON data %q that is not JSON was accepted: %v", m.Data, err)
		}
		if err := json.Compact(&have, got.Data); err != nil || !bytes.Equal(want.Bytes(), have.Bytes()) {
			t.Fatalf("json data %s, want %s", have.Bytes(), want.Bytes())
		}
	}
}

func TestDecodeInboundSDKFrames(t *testing.T) {
	ack := func(n uint64) *uint64 { return &n }
	tests := []struct {
		frame    string
		typ      string
		group    string
		event    string
		ackID    *uint64
		noEcho   bool
		seq      *uint64
		dt       pubsub.DataType
		data     string
		wantRerr bool
	}{
		{frame: sdkFrames[0], typ: "joinGroup", group: "g1", ackID: ack(1), data: "null"},
		{frame: sdkFrames[1], typ: "sendToGroup", group: "g1", ackID: ack(2), noEcho: true, dt: pubsub.JSON, data: `{"a":1}`},
		{frame: sdkFrames[2], typ: "sendToGroup", group: "g1", dt: pubsub.Text, data: "fire"},
		{frame: sdkFrames[3], typ: "event", event: "myevent", ackID: ack(3), dt: pubsub.Binary, data: "hi"},
		{frame: sdkFrames[4], typ: "sequenceAck", seq: ack(6), data: "null"},
		{frame: sdkFrames[5], typ: "ping", data: "null"},
		{frame: `{"type":"sendToGroup","group":"g","dataType":"protobuf","data":"AAE="}`, typ: "sendToGroup", group: "g", dt: pubsub.Protobuf, data: "\x00\x01"},
		{frame: `{"type":"sendToGroup","group":"g","dataType":"text","data":{"a":1}}`, typ: "sendToGroup", group: "g", wantRerr: true},
		{frame: `{"type":"sendToGroup","group":"g","dataType":"binary","data":"***"}`, typ: "sendToGroup", group: "g", wantRerr: true},
		{frame: `{"type":"sendToGroup","group":"g","dataType":"Text","data":"x"}`, typ: "sendToGroup", group: "g", wantRerr: true},
	}
	for _, tt := range tests {
		t.Run(tt.frame, func(t *testing.T) {
			r, ok := decodeInbound([]byte(tt.frame))
			if !ok {
				t.Fatal("frame did not decode")
			}
			m := r.m
			if m.Type != tt.typ || m.Group != tt.group || m.Event != tt.event || m.NoEcho != tt.noEcho {
				t.Errorf("decoded %+v", m)
			}
			if (m.AckID == nil) != (tt.ackID == nil) || (m.AckID != nil && *m.AckID != *tt.ackID) {
				t.Errorf("ackId %v, want %v", m.AckID, tt.ackID)
			}
			if (m.SequenceID == nil) != (tt.seq == nil) || (m.SequenceID != nil && *m.SequenceID != *tt.seq) {
				t.Errorf("sequenceId %v, want %v", m.SequenceID, tt.seq)
			}
			if tt.wantRerr {
				if r.rerr == nil || r.rerr.name != ackBadRequest {
					t.Errorf("data error %+v, want BadRequest", r.rerr)
				}
				return
			}
			if r.rerr != nil {
				t.Fatalf("data error %+v", r.rerr)
			}
			if r.dt != tt.dt || string(r.data) != tt.data {
				t.Errorf("data %v %q, want %v %q", r.dt, r.data, tt.dt, tt.data)
			}
		})
	}
}

// Text frames must be UTF-8 (RFC 6455 §5.6, 8.1): a browser fails the whole connection on one
// that is not, and a reliable client would get the same frame again after every reconnect. So a
// client's data must either be refused or reach the other members as valid UTF-8.
//
// json.Unmarshal does not check UTF-8 inside a RawMessage, so JSON data copied byte for byte
// would let one client disconnect every member of a group it may send to.
func TestInboundDataMustBeUTF8(t *testing.T) {
	for _, frame := range []string{
		"{\"type\":\"sendToGroup\",\"group\":\"g1\",\"dataType\":\"json\",\"data\":\"\xff\"}",
		"{\"type\":\"sendToGroup\",\"group\":\"g1\",\"data\":{\"k\":\"\xc3\x28\"}}",
		"{\"type\":\"sendToGroup\",\"group\":\"g1\",\"dataType\":\"text\",\"data\":\"\xff\"}",
		"{\"type\":\"sendToGroup\",\"group\":\"g\xff\",\"dataType\":\"text\",\"data\":\"x\"}",
	} {
		t.Run("", func(t *testing.T) {
			r, ok := decodeInbound([]byte(frame))
			if !ok || r.rerr != nil {
				return // refused: fine
			}
			out := jsonCodec.Encode(groupMessage(r.dt, string(r.data), r.m.Group, "u1")).Payload
			if !utf8.Valid(out) {
				t.Errorf("client frame %q was accepted and goes out as a text frame that is not UTF-8: %q", frame, out)
			}
		})
	}
}

// The same end to end: nothing one client sends may reach another as a text frame that is not
// UTF-8, which a browser answers by failing the connection.
func TestInvalidUTF8DoesNotReachGroup(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	watcher := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "watcher", Groups: []string{"g"}})
	sender := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "sender", Roles: allRoles})
	frame := "{\"type\":\"sendToGroup\",\"group\":\"g\",\"ackId\":1,\"dataType\":\"json\",\"data\":\"\xff\"}"
	if err := sender.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	// Refused or not, a marker sent afterwards reaches the watcher; everything before it must be
	// readable text.
	marker := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Roles: allRoles})
	marker.send(map[string]any{"type": "sendToGroup", "group": "g", "dataType": "text", "data": "marker"})
	_ = watcher.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		kind, p, err := watcher.ws.ReadMessage()
		if err != nil {
			t.Fatalf("watcher: %v", err)
		}
		if kind == websocket.TextMessage && !utf8.Valid(p) {
			t.Errorf("watcher received a text frame that is not UTF-8: %q", p)
		}
		if bytes.Contains(p, []byte(`"data":"marker"`)) {
			return
		}
	}
}
