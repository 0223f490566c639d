package webpubsub

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// wireSchema is the subprotocols' schema as the reference pages publish it
// (learn.microsoft.com/azure/azure-web-pubsub/reference-protobuf-webpubsub-subprotocol and
// reference-protobuf-reliable-webpubsub-subprotocol), with ping_message = 9 from the current page
// and json_data = 4 from the official C# client's copy (Azure/azure-webpubsub
// sdk/clients/protobuf-client/csharp/src/Protos/webpubsub.client.proto). Frames are read and
// written through it by the protobuf runtime, a parser independent of the server's code.
var wireSchema = func() protoreflect.FileDescriptor {
	type fd = descriptorpb.FieldDescriptorProto
	const (
		str = descriptorpb.FieldDescriptorProto_TYPE_STRING
		byt = descriptorpb.FieldDescriptorProto_TYPE_BYTES
		u64 = descriptorpb.FieldDescriptorProto_TYPE_UINT64
		boo = descriptorpb.FieldDescriptorProto_TYPE_BOOL
		msg = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	field := func(name string, n int32, t descriptorpb.FieldDescriptorProto_Type, typeName string, oneof bool) *fd {
		f := &fd{Name: proto.String(name), Number: proto.Int32(n), Type: t.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		if oneof {
			f.OneofIndex = proto.Int32(0)
		}
		return f
	}
	message := func(name string, oneof string, fields []*fd, nested ...*descriptorpb.DescriptorProto) *descriptorpb.DescriptorProto {
		m := &descriptorpb.DescriptorProto{Name: proto.String(name), Field: fields, NestedType: nested}
		if oneof != "" {
			m.OneofDecl = []*descriptorpb.OneofDescriptorProto{{Name: proto.String(oneof)}}
		}
		return m
	}
	const up, down = ".azure.webpubsub.UpstreamMessage.", ".azure.webpubsub.DownstreamMessage."
	file := &descriptorpb.FileDescriptorProto{
		Name: proto.String("webpubsub_test.proto"), Package: proto.String("azure.webpubsub"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/any.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			message("UpstreamMessage", "message", []*fd{
				field("send_to_group_message", 1, msg, up+"SendToGroupMessage", true),
				field("event_message", 5, msg, up+"EventMessage", true),
				field("join_group_message", 6, msg, up+"JoinGroupMessage", true),
				field("leave_group_message", 7, msg, up+"LeaveGroupMessage", true),
				field("sequence_ack_message", 8, msg, up+"SequenceAckMessage", true),
				field("ping_message", 9, msg, up+"PingMessage", true),
			},
				message("SendToGroupMessage", "", []*fd{field("group", 1, str, "", false), field("ack_id", 2, u64, "", false),
					field("data", 3, msg, ".azure.webpubsub.MessageData", false), field("no_echo", 4, boo, "", false)}),
				message("EventMessage", "", []*fd{field("event", 1, str, "", false), field("data", 2, msg, ".azure.webpubsub.MessageData", false),
					field("ack_id", 3, u64, "", false)}),
				message("JoinGroupMessage", "", []*fd{field("group", 1, str, "", false), field("ack_id", 2, u64, "", false)}),
				message("LeaveGroupMessage", "", []*fd{field("group", 1, str, "", false), field("ack_id", 2, u64, "", false)}),
				message("SequenceAckMessage", "", []*fd{field("sequence_id", 1, u64, "", false)}),
				message("PingMessage", "", nil),
			),
			message("MessageData", "data", []*fd{
				field("text_data", 1, str, "", true), field("binary_data", 2, byt, "", true),
				field("protobuf_data", 3, msg, ".google.protobuf.Any", true), field("json_data", 4, str, "", true),
			}),
			message("DownstreamMessage", "message", []*fd{
				field("ack_message", 1, msg, down+"AckMessage", true),
				field("data_message", 2, msg, down+"DataMessage", true),
				field("system_message", 3, msg, down+"SystemMessage", true),
			},
				message("AckMessage", "", []*fd{field("ack_id", 1, u64, "", false), field("success", 2, boo, "", false),
					field("error", 3, msg, down+"AckMessage.ErrorMessage", false)},
					message("ErrorMessage", "", []*fd{field("name", 1, str, "", false), field("message", 2, str, "", false)})),
				message("DataMessage", "", []*fd{field("from", 1, str, "", false), field("group", 2, str, "", false),
					field("data", 3, msg, ".azure.webpubsub.MessageData", false), field("sequence_id", 4, u64, "", false)}),
				message("SystemMessage", "message", []*fd{
					field("connected_message", 1, msg, down+"SystemMessage.ConnectedMessage", true),
					field("disconnected_message", 2, msg, down+"SystemMessage.DisconnectedMessage", true),
				},
					message("ConnectedMessage", "", []*fd{field("connection_id", 1, str, "", false), field("user_id", 2, str, "", false),
						field("reconnection_token", 3, str, "", false)}),
					message("DisconnectedMessage", "", []*fd{field("reason", 2, str, "", false)})),
			),
		},
	}
	f, err := protodesc.NewFile(file, protoregistry.GlobalFiles) // anypb registered any.proto there
	if err != nil {
		panic(err)
	}
	return f
}()

// pbMessage is a wire message built or parsed through wireSchema; paths are dotted field names.
type pbMessage struct{ m *dynamicpb.Message }

func newPB(name string) pbMessage {
	return pbMessage{dynamicpb.NewMessage(wireSchema.Messages().ByName(protoreflect.Name(name)))}
}

func parsePB(t *testing.T, name string, b []byte) pbMessage {
	t.Helper()
	m := newPB(name)
	if err := proto.Unmarshal(b, m.m); err != nil {
		t.Fatalf("%s does not parse: %v (% x)", name, err, b)
	}
	return m
}

// at walks to the message at path, creating it when set is true; ok is false when a message on
// the way is not set.
func (p pbMessage) at(path []string, set bool) (protoreflect.Message, protoreflect.FieldDescriptor, bool) {
	m := protoreflect.Message(p.m)
	for i, name := range path {
		f := m.Descriptor().Fields().ByName(protoreflect.Name(name))
		if f == nil {
			panic("no field " + name)
		}
		if i == len(path)-1 {
			return m, f, true
		}
		if !set && !m.Has(f) {
			return nil, nil, false
		}
		m = m.Mutable(f).Message()
	}
	panic("empty path")
}

func (p pbMessage) set(v any, path ...string) pbMessage {
	m, f, _ := p.at(path, true)
	switch v := v.(type) {
	case proto.Message:
		m.Set(f, protoreflect.ValueOfMessage(v.ProtoReflect()))
	default:
		m.Set(f, protoreflect.ValueOf(v))
	}
	return p
}

// empty sets the message field at path to an empty message.
func (p pbMessage) empty(path ...string) pbMessage {
	m, f, _ := p.at(path, true)
	m.Set(f, m.NewField(f))
	return p
}

// has reports whether the field at path is set.
func (p pbMessage) has(path ...string) bool {
	m, f, ok := p.at(path, false)
	return ok && m.Has(f)
}

func (p pbMessage) get(path ...string) any {
	m, f, ok := p.at(path, false)
	if !ok || !m.Has(f) {
		return nil
	}
	return m.Get(f).Interface()
}

func (p pbMessage) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := proto.Marshal(p.m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProtobufDownstreamFollowsTheSchema(t *testing.T) {
	groupMsg := func(dt pubsub.DataType, data string) *pubsub.Message {
		m := pubsub.NewMessage(dt, []byte(data))
		m.Origin, m.Group, m.FromUserID = pubsub.FromGroup, "room", "alice"
		return m
	}
	for _, tc := range []struct {
		name      string
		m         *pubsub.Message
		dataField string
		want      any
	}{
		{"group text", groupMsg(pubsub.Text, "hello"), "text_data", "hello"},
		{"group json", groupMsg(pubsub.JSON, `{"a":1}`), "text_data", `{"a":1}`},
		{"group binary", groupMsg(pubsub.Binary, "\x00\x01\xff"), "binary_data", []byte("\x00\x01\xff")},
		{"server binary", pubsub.NewMessage(pubsub.Binary, nil), "binary_data", []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := protobufCodec.Encode(tc.m)
			if !f.Binary {
				t.Fatal("a protobuf message must go in a binary frame")
			}
			d := parsePB(t, "DownstreamMessage", f.Payload)
			from, group := "server", any(nil)
			if tc.m.Origin == pubsub.FromGroup {
				from, group = "group", "room"
			}
			if d.get("data_message", "from") != from {
				t.Fatalf("from %v, want %s", d.get("data_message", "from"), from)
			}
			if d.get("data_message", "group") != group {
				t.Fatalf("group %v, want %v", d.get("data_message", "group"), group)
			}
			got := d.get("data_message", "data", tc.dataField)
			if gb, ok := got.([]byte); ok {
				got = string(gb)
				if wb, _ := tc.want.([]byte); string(wb) != got {
					t.Fatalf("%s %q, want %q", tc.dataField, got, tc.want)
				}
			} else if got != tc.want && !(tc.want == "" && got == nil) {
				t.Fatalf("%s %v, want %v", tc.dataField, got, tc.want)
			}
			if d.has("data_message", "sequence_id") {
				t.Fatal("the unreliable subprotocol has no sequence id")
			}

			// The reliable rendering, completed per connection, is the same DataMessage with its
			// sequence id intact, whatever the id's size. The frame holds one data_message, not
			// a second to be merged: some runtimes (google-protobuf for JavaScript) replace.
			rf := reliableProtobufCodec.Encode(tc.m)
			for _, seq := range []uint64{1, 300, 1 << 35, 1<<64 - 1} {
				full := reliableProtobufCodec.AppendSequence(append([]byte(nil), rf.Payload...), seq)
				if n := countFields(t, full); n != 1 {
					t.Fatalf("%d top-level fields, want one data_message", n)
				}
				r := parsePB(t, "DownstreamMessage", full)
				d.set(seq, "data_message", "sequence_id")
				if !proto.Equal(r.m, d.m) {
					t.Fatalf("reliable message %v, want %v", r.m, d.m)
				}
			}
		})
	}

	t.Run("ephemeral on the reliable subprotocol", func(t *testing.T) {
		m := groupMsg(pubsub.Text, "pointer")
		m.Ephemeral = true
		d := parsePB(t, "DownstreamMessage", reliableProtobufCodec.Encode(m).Payload)
		if d.get("data_message", "data", "text_data") != "pointer" || d.has("data_message", "sequence_id") {
			t.Fatalf("ephemeral message %v, want it complete and without a sequence id", d.m)
		}
	})
	t.Run("protobuf data", func(t *testing.T) {
		a, err := anypb.New(wrapperspb.String("x"))
		if err != nil {
			t.Fatal(err)
		}
		ab, _ := proto.Marshal(a)
		d := parsePB(t, "DownstreamMessage", protobufCodec.Encode(pubsub.NewMessage(pubsub.Protobuf, ab)).Payload)
		got, _ := d.get("data_message", "data", "protobuf_data").(protoreflect.Message)
		if got == nil || !proto.Equal(got.Interface(), a) {
			t.Fatalf("protobuf_data %v, want %v", got, a)
		}
		// Protobuf data from a JSON client that is no message goes as binary_data: as
		// protobuf_data it would make the whole frame unreadable.
		junk := []byte{0x0a, 0x09, 0x01}
		d = parsePB(t, "DownstreamMessage", protobufCodec.Encode(pubsub.NewMessage(pubsub.Protobuf, junk)).Payload)
		if b, _ := d.get("data_message", "data", "binary_data").([]byte); string(b) != string(junk) {
			t.Fatalf("junk protobuf data rendered as %v", d.m)
		}
	})
	t.Run("not UTF-8", func(t *testing.T) {
		// A group name from a REST path and text from an event handler can hold any bytes.
		m := groupMsg(pubsub.Text, "a\xffb")
		m.Group = "g\xc0"
		d := parsePB(t, "DownstreamMessage", protobufCodec.Encode(m).Payload)
		if d.get("data_message", "group") != "g\uFFFD" || d.get("data_message", "data", "text_data") != "a\uFFFDb" {
			t.Fatalf("got %v", d.m)
		}
		parsePB(t, "DownstreamMessage", protobufCodec.Goodbye("bye \xff"))
	})
	t.Run("connected", func(t *testing.T) {
		d := parsePB(t, "DownstreamMessage", protobufConnected("alice", "c1", "tok"))
		for field, want := range map[string]string{"connection_id": "c1", "user_id": "alice", "reconnection_token": "tok"} {
			if got := d.get("system_message", "connected_message", field); got != want {
				t.Fatalf("%s %v, want %s", field, got, want)
			}
		}
		anon := parsePB(t, "DownstreamMessage", protobufConnected("", "c2", ""))
		if !anon.has("system_message", "connected_message") || anon.has("system_message", "connected_message", "user_id") {
			t.Fatalf("anonymous connected %v", anon.m)
		}
	})
	t.Run("disconnected", func(t *testing.T) {
		d := parsePB(t, "DownstreamMessage", protobufCodec.Goodbye("the server is shutting down"))
		if got := d.get("system_message", "disconnected_message", "reason"); got != "the server is shutting down" {
			t.Fatalf("reason %v", got)
		}
	})
	t.Run("ack", func(t *testing.T) {
		ok := parsePB(t, "DownstreamMessage", protobufAck(7, "", ""))
		if ok.get("ack_message", "ack_id") != uint64(7) || ok.get("ack_message", "success") != true || ok.has("ack_message", "error") {
			t.Fatalf("success ack %v", ok.m)
		}
		bad := parsePB(t, "DownstreamMessage", protobufAck(1<<40, ackForbidden, "no permission"))
		if bad.get("ack_message", "ack_id") != uint64(1<<40) || bad.has("ack_message", "success") ||
			bad.get("ack_message", "error", "name") != ackForbidden || bad.get("ack_message", "error", "message") != "no permission" {
			t.Fatalf("error ack %v", bad.m)
		}
	})
}

func TestProtobufUpstreamDecodes(t *testing.T) {
	anyMsg, err := anypb.New(wrapperspb.Int32(1))
	if err != nil {
		t.Fatal(err)
	}
	anyBytes, _ := proto.Marshal(anyMsg)
	u64 := func(v uint64) *uint64 { return &v }
	newer := newPB("UpstreamMessage")
	newer.m.SetUnknown(protoreflect.RawFields{0x52, 0x02, 0x08, 0x01}) // field 10, a message
	for _, tc := range []struct {
		name string
		msg  pbMessage
		want inbound
	}{
		{"join", newPB("UpstreamMessage").set("g", "join_group_message", "group").set(uint64(3), "join_group_message", "ack_id"),
			inbound{Type: "joinGroup", Group: "g", AckID: u64(3)}},
		{"leave without ack", newPB("UpstreamMessage").set("g", "leave_group_message", "group"),
			inbound{Type: "leaveGroup", Group: "g"}},
		{"send text", newPB("UpstreamMessage").set("g", "send_to_group_message", "group").set(uint64(1), "send_to_group_message", "ack_id").
			set(true, "send_to_group_message", "no_echo").set("héllo", "send_to_group_message", "data", "text_data"),
			inbound{Type: "sendToGroup", Group: "g", AckID: u64(1), NoEcho: true, DataType: "text", Data: []byte(`"héllo"`)}},
		{"send binary", newPB("UpstreamMessage").set("g", "send_to_group_message", "group").set([]byte{1, 2, 3}, "send_to_group_message", "data", "binary_data"),
			inbound{Type: "sendToGroup", Group: "g", DataType: "binary", Data: []byte(`"AQID"`)}},
		{"send protobuf", newPB("UpstreamMessage").set("g", "send_to_group_message", "group").set(anyMsg, "send_to_group_message", "data", "protobuf_data"),
			inbound{Type: "sendToGroup", Group: "g", DataType: "protobuf", Data: []byte(`"` + b64(anyBytes) + `"`)}},
		{"send json", newPB("UpstreamMessage").set("g", "send_to_group_message", "group").set(`{"a":[1]}`, "send_to_group_message", "data", "json_data"),
			inbound{Type: "sendToGroup", Group: "g", DataType: "json", Data: []byte(`{"a":[1]}`)}},
		{"send nothing", newPB("UpstreamMessage").set("g", "send_to_group_message", "group"),
			inbound{Type: "sendToGroup", Group: "g", DataType: "binary", Data: []byte(`""`)}},
		{"event", newPB("UpstreamMessage").set("e", "event_message", "event").set(uint64(9), "event_message", "ack_id").set("t", "event_message", "data", "text_data"),
			inbound{Type: "event", Event: "e", AckID: u64(9), DataType: "text", Data: []byte(`"t"`)}},
		{"sequence ack", newPB("UpstreamMessage").set(uint64(42), "sequence_ack_message", "sequence_id"),
			inbound{Type: "sequenceAck", SequenceID: u64(42)}},
		{"ping", newPB("UpstreamMessage").empty("ping_message"), inbound{Type: "ping"}},
		{"empty", newPB("UpstreamMessage"), inbound{Type: "ping"}},
		{"a member from a newer schema", newer, inbound{Type: "ping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := protobufAckID(tc.msg.bytes(t)); !sameUint(got, tc.want.AckID) {
				t.Fatalf("protobufAckID %v, want %v", got, tc.want.AckID)
			}
			got, err := decodeProtobuf(tc.msg.bytes(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tc.want.Type || got.Group != tc.want.Group || got.Event != tc.want.Event || got.NoEcho != tc.want.NoEcho ||
				got.DataType != tc.want.DataType || string(got.Data) != string(tc.want.Data) ||
				!sameUint(got.AckID, tc.want.AckID) || !sameUint(got.SequenceID, tc.want.SequenceID) {
				t.Fatalf("got %+v (data %s), want %+v (data %s)", got, got.Data, tc.want, tc.want.Data)
			}
		})
	}
	for name, b := range map[string][]byte{
		"truncated":            {0x0a, 0x05, 0x0a},
		"group not UTF-8":      {0x32, 0x03, 0x0a, 0x01, 0xff},
		"json_data not JSON":   append([]byte{0x0a, 0x07, 0x1a, 0x05, 0x22, 0x03}, "{x:"...),
		"message as a varint":  {0x30, 0x01},
		"text_data not UTF-8":  {0x0a, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0xc0},
		"ack_id not a varint":  {0x32, 0x05, 0x12, 0x03, 'a', 'b', 'c'},
		"wrong wire type tag7": {0x0f},
	} {
		t.Run(name, func(t *testing.T) {
			if m, err := decodeProtobuf(b); err == nil {
				t.Fatalf("decoded %+v, want an error", m)
			}
		})
	}
}

// countFields is the number of top-level fields in the message b.
func countFields(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	if err := eachField(b, func(protowire.Number, protowire.Type, []byte, uint64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func sameUint(a, b *uint64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func b64(b []byte) string {
	m := pubsub.NewMessage(pubsub.Binary, b)
	s := string(appendData(nil, m.DataType, m.Data))
	return s[1 : len(s)-1]
}

// pbClient is a protobuf subprotocol client.
type pbClient struct {
	t         *testing.T
	ws        *websocket.Conn
	connected pbMessage
}

func (ts *testServer) dialProtobuf(hub, protocol string, c accesskey.ClientClaims) *pbClient {
	ts.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}}
	ws, resp, err := d.Dial(ts.wsURL(hub, ts.token(hub, c)), nil)
	if err != nil {
		ts.t.Fatalf("dial: %v (%v)", err, resp)
	}
	ts.t.Cleanup(func() { _ = ws.Close() })
	if ws.Subprotocol() != protocol {
		ts.t.Fatalf("subprotocol %q, want %q", ws.Subprotocol(), protocol)
	}
	pc := &pbClient{t: ts.t, ws: ws}
	pc.connected = pc.next()
	if !pc.connected.has("system_message", "connected_message") {
		ts.t.Fatalf("first message %v, want connected", pc.connected.m)
	}
	return pc
}

func (c *pbClient) send(m pbMessage) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, m.bytes(c.t)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *pbClient) next() pbMessage {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	kind, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if kind != websocket.BinaryMessage {
		c.t.Fatalf("a %d frame, want binary", kind)
	}
	return parsePB(c.t, "DownstreamMessage", b)
}

func TestProtobufClients(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	for _, protocol := range []string{ProtocolProtobuf, ProtocolReliableProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			reliable := protocol == ProtocolReliableProtobuf
			pb := ts.dialProtobuf("chat", protocol, accesskey.ClientClaims{UserID: "bob", Roles: allRoles})
			if pb.connected.get("system_message", "connected_message", "user_id") != "bob" ||
				pb.connected.get("system_message", "connected_message", "connection_id") == nil ||
				pb.connected.has("system_message", "connected_message", "reconnection_token") != reliable {
				t.Fatalf("connected %v", pb.connected.m)
			}
			js := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "ann", Roles: allRoles})
			js.send(map[string]any{"type": "joinGroup", "group": "room", "ackId": 1})
			if ack := js.next(); ack["success"] != true {
				t.Fatalf("json join %v", ack)
			}

			pb.send(newPB("UpstreamMessage").set("room", "join_group_message", "group").set(uint64(1), "join_group_message", "ack_id"))
			if ack := pb.next(); ack.get("ack_message", "ack_id") != uint64(1) || ack.get("ack_message", "success") != true {
				t.Fatalf("join ack %v", ack.m)
			}

			// JSON client to the protobuf client: JSON data arrives as its text.
			js.send(map[string]any{"type": "sendToGroup", "group": "room", "dataType": "json", "data": map[string]int{"n": 1}, "noEcho": true})
			got := pb.next()
			if got.get("data_message", "from") != "group" || got.get("data_message", "group") != "room" ||
				got.get("data_message", "data", "text_data") != `{"n":1}` {
				t.Fatalf("data %v", got.m)
			}
			if reliable {
				if got.get("data_message", "sequence_id") != uint64(1) {
					t.Fatalf("sequence_id %v, want 1", got.get("data_message", "sequence_id"))
				}
				pb.send(newPB("UpstreamMessage").set(uint64(1), "sequence_ack_message", "sequence_id"))
			} else if got.has("data_message", "sequence_id") {
				t.Fatalf("unreliable data with a sequence id: %v", got.m)
			}

			// Protobuf client to the JSON client, binary and text.
			pb.send(newPB("UpstreamMessage").set("room", "send_to_group_message", "group").set(uint64(2), "send_to_group_message", "ack_id").
				set(true, "send_to_group_message", "no_echo").set([]byte{1, 2, 3}, "send_to_group_message", "data", "binary_data"))
			if ack := pb.next(); ack.get("ack_message", "ack_id") != uint64(2) || ack.get("ack_message", "success") != true {
				t.Fatalf("send ack %v", ack.m)
			}
			if m := js.next(); m["dataType"] != "binary" || m["data"] != "AQID" || m["fromUserId"] != "bob" {
				t.Fatalf("json client got %v", m)
			}
			pb.send(newPB("UpstreamMessage").set("room", "send_to_group_message", "group").set(true, "send_to_group_message", "no_echo").
				set("hi", "send_to_group_message", "data", "text_data"))
			if m := js.next(); m["dataType"] != "text" || m["data"] != "hi" {
				t.Fatalf("json client got %v", m)
			}

			// A refused request is an error ack in protobuf; a duplicate ackId is told as such.
			pb.send(newPB("UpstreamMessage").set(" ", "send_to_group_message", "group").set(uint64(3), "send_to_group_message", "ack_id"))
			if ack := pb.next(); ack.get("ack_message", "ack_id") != uint64(3) || ack.get("ack_message", "error", "name") != ackBadRequest {
				t.Fatalf("ack of a send to a blank group %v", ack.m)
			}
			pb.send(newPB("UpstreamMessage").set("room", "leave_group_message", "group").set(uint64(2), "leave_group_message", "ack_id"))
			if ack := pb.next(); ack.get("ack_message", "error", "name") != ackDuplicate {
				t.Fatalf("duplicate ack %v", ack.m)
			}

			// A ping gets no reply (the schema has no pong), so the next frame is the next ack.
			pb.send(newPB("UpstreamMessage").empty("ping_message"))
			pb.send(newPB("UpstreamMessage").set("room", "leave_group_message", "group").set(uint64(4), "leave_group_message", "ack_id"))
			if ack := pb.next(); ack.get("ack_message", "ack_id") != uint64(4) || ack.get("ack_message", "success") != true {
				t.Fatalf("leave ack %v", ack.m)
			}

			// Bytes that are no UpstreamMessage end this connection with 1007, after a
			// disconnected message in protobuf.
			_ = pb.ws.WriteMessage(websocket.BinaryMessage, []byte{0x0a, 0x05, 0x0a})
			bye := pb.next()
			if bye.get("system_message", "disconnected_message", "reason") != "invalid protobuf message" {
				t.Fatalf("goodbye %v", bye.m)
			}
			_, _, err := pb.ws.ReadMessage()
			if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != pubsub.CloseInvalidPayload {
				t.Fatalf("read after the goodbye: %v, want close %d", err, pubsub.CloseInvalidPayload)
			}
		})
	}
}

// Whatever request a protobuf client gets accepted, every recipient can parse what it becomes.
func FuzzDecodeProtobuf(f *testing.F) {
	for _, b := range [][]byte{
		{0x32, 0x05, 0x0a, 0x01, 'g', 0x10, 0x01},                            // join g, ackId 1
		{0x0a, 0x0a, 0x0a, 0x01, 'g', 0x1a, 0x05, 0x12, 0x03, 1, 2, 3},       // send binary
		{0x0a, 0x09, 0x0a, 0x01, 'g', 0x1a, 0x04, 0x0a, 0x02, 'h', 'i'},      // send text
		{0x0a, 0x0a, 0x0a, 0x01, 'g', 0x1a, 0x05, 0x22, 0x03, '[', '1', ']'}, // send json
		{0x0a, 0x08, 0x0a, 0x01, 'g', 0x1a, 0x03, 0x1a, 0x01, 0x00},          // send protobuf, junk
		{0x2a, 0x05, 0x0a, 0x01, 'e', 0x18, 0x02},                            // event e, ackId 2
		{0x42, 0x02, 0x08, 0x07},                                             // sequenceAck 7
		{0x4a, 0x00},                                                         // ping
		{}, {0x0a}, {0xff, 0xff},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := decodeProtobuf(frame)
		if err != nil {
			return
		}
		dt, data, rerr := decodeData(m.DataType, m.Data)
		if rerr != nil {
			if m.Type == "sendToGroup" || m.Type == "event" {
				t.Fatalf("decoded data %s %s refused: %+v", m.DataType, m.Data, rerr)
			}
			return
		}
		msg := pubsub.NewMessage(dt, data)
		msg.Origin, msg.Group = pubsub.FromGroup, m.Group+string(frame) // any bytes, as a REST path may give
		parsePB(t, "DownstreamMessage", protobufCodec.Encode(msg).Payload)
		parsePB(t, "DownstreamMessage", reliableProtobufCodec.AppendSequence(append([]byte(nil), reliableProtobufCodec.Encode(msg).Payload...), 1<<63+1))
		if j := jsonCodec.Encode(msg).Payload; !json.Valid(j) {
			t.Fatalf("JSON rendering %q", j)
		}
		if m.AckID != nil {
			parsePB(t, "DownstreamMessage", protobufAck(*m.AckID, ackBadRequest, m.Group))
		}
		parsePB(t, "DownstreamMessage", protobufCodec.Goodbye(string(frame)))
		parsePB(t, "DownstreamMessage", protobufConnected(string(frame), m.Event, m.Type))
	})
}

func TestReliableProtobufRecovery(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	claims := accesskey.ClientClaims{UserID: "u", Groups: []string{"g"}}
	c := ts.dialProtobuf("chat", ProtocolReliableProtobuf, claims)
	id, _ := c.connected.get("system_message", "connected_message", "connection_id").(string)
	token, _ := c.connected.get("system_message", "connected_message", "reconnection_token").(string)
	hub := ts.svc.Hub("chat")
	publish := func(text string) {
		m := pubsub.NewMessage(pubsub.Text, []byte(text))
		if err := hub.Publish(context.Background(), &pubsub.Envelope{Op: pubsub.OpSend, To: pubsub.Selector{Kind: pubsub.ToGroup, Name: "g"}, Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	publish("one")
	if m := c.next(); m.get("data_message", "sequence_id") != uint64(1) {
		t.Fatalf("got %v, want sequence_id 1", m.m)
	}
	c.send(newPB("UpstreamMessage").set(uint64(1), "sequence_ack_message", "sequence_id"))
	// Drop the socket without a close frame, as a network cut would.
	_ = c.ws.NetConn().Close()
	publish("two")
	publish("three")

	q := url.Values{"awps_connection_id": {id}, "awps_reconnection_token": {token}}
	d := websocket.Dialer{Subprotocols: []string{ProtocolReliableProtobuf}}
	ws, _, err := d.Dial(ts.wsURL("chat", ts.token("chat", claims))+"&"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if ws.Subprotocol() != ProtocolReliableProtobuf {
		t.Fatalf("recovered with subprotocol %q", ws.Subprotocol())
	}
	r := &pbClient{t: t, ws: ws}
	// Recovery is greeted as the JSON subprotocols' is, in the client's own encoding.
	if m := r.next(); m.get("system_message", "connected_message", "connection_id") != id {
		t.Fatalf("first after recovery %v, want connected for %s", m.m, id)
	}
	for i, want := range []string{"two", "three"} {
		seq := uint64(i + 2)
		m := r.next()
		// The ack of 1 may not have reached the server before the cut; a replay is harmless.
		if m.get("data_message", "sequence_id") == uint64(1) {
			m = r.next()
		}
		if m.get("data_message", "sequence_id") != seq || m.get("data_message", "data", "text_data") != want {
			t.Fatalf("after recovery got %v, want %q with sequence_id %d", m.m, want, seq)
		}
	}
}

func TestProtobufRateLimitAcks(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxInboundPerSecond: 2, MaxInboundBurst: 2})
	c := ts.dialProtobuf("chat", ProtocolProtobuf, accesskey.ClientClaims{})
	// A burst well inside a second: two pass, the third is refused in protobuf, with its ackId.
	for i := 1; i <= 3; i++ {
		c.send(newPB("UpstreamMessage").set("e", "event_message", "event").set(uint64(i), "event_message", "ack_id").
			set([]byte("payload"), "event_message", "data", "binary_data"))
	}
	for i := 1; i <= 3; i++ {
		ack := c.next()
		if ack.get("ack_message", "ack_id") != uint64(i) {
			t.Fatalf("got %v, want the ack of %d", ack.m, i)
		}
		if refused := ack.get("ack_message", "error", "name") == ackTooManyRequests; refused != (i == 3) {
			t.Fatalf("ack %d: %v", i, ack.m)
		}
	}
}
