package webpubsub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// The protobuf subprotocols carry the JSON subprotocols' requests and replies as protobuf
// messages in binary frames. Their schema is published as .proto text
// (learn.microsoft.com/azure/azure-web-pubsub/reference-protobuf-webpubsub-subprotocol and
// reference-protobuf-reliable-webpubsub-subprotocol; the official C# client's copy is
// Azure/azure-webpubsub sdk/clients/protobuf-client/csharp/src/Protos/webpubsub.client.proto).
// The few messages are read and written here field by field with protowire, from the field
// numbers below, rather than through generated code.
const (
	ProtocolProtobuf         = "protobuf.webpubsub.azure.v1"
	ProtocolReliableProtobuf = "protobuf.reliable.webpubsub.azure.v1"
)

// Field numbers of the schema.
const (
	// UpstreamMessage's oneof. ping_message is in the current reference page only; it asks for
	// nothing but a sign of life, which any frame already gives.
	upSendToGroup protowire.Number = 1
	upEvent       protowire.Number = 5
	upJoinGroup   protowire.Number = 6
	upLeaveGroup  protowire.Number = 7
	upSequenceAck protowire.Number = 8
	upPing        protowire.Number = 9

	// DownstreamMessage's oneof.
	downAck    protowire.Number = 1
	downData   protowire.Number = 2
	downSystem protowire.Number = 3

	// SystemMessage's oneof.
	sysConnected    protowire.Number = 1
	sysDisconnected protowire.Number = 2

	// MessageData's oneof. json_data is in the C# client's copy only.
	dataText     protowire.Number = 1
	dataBinary   protowire.Number = 2
	dataProtobuf protowire.Number = 3
	dataJSON     protowire.Number = 4

	// DataMessage.sequence_id, in the reliable subprotocol.
	dataMessageSequenceID protowire.Number = 4
)

var (
	protobufCodec         pubsub.Codec = protobufFormat{reliable: false}
	reliableProtobufCodec pubsub.Codec = protobufFormat{reliable: true}
)

// protobufFormat renders messages as DownstreamMessage.data_message.
type protobufFormat struct{ reliable bool }

func (f protobufFormat) Format() pubsub.Format {
	if f.reliable {
		return pubsub.FormatWebPubSubReliableProtobuf
	}
	return pubsub.FormatWebPubSubProtobuf
}

// BinaryFrames puts the greeting and the goodbye in binary frames: the clients parse every frame
// as a DownstreamMessage.
func (protobufFormat) BinaryFrames() bool { return true }

// Encode writes DataMessage{from, group, data}. JSON data goes as text_data holding the JSON
// text, as the reference pages say ("If dataType is json, use text_data"); a client built from
// them knows no json_data. Protobuf data goes as protobuf_data, and binary as binary_data.
//
// A reliable rendering of a durable message ends with the tag of sequence_id, and its length
// counts a sequence id of seqWidth bytes, which AppendSequence adds per connection. The id must be
// inside the one data_message: a second data_message holding only the id would do for parsers
// that merge repeated message fields, as the protobuf encoding guide has them, but the google-protobuf
// JavaScript runtime, used by the service's own protobuf sample (Azure/azure-webpubsub
// samples/javascript/videoshare), replaces the first with the second instead.
func (f protobufFormat) Encode(m *pubsub.Message) pubsub.Frame {
	var head []byte
	if m.Origin == pubsub.FromGroup {
		head = appendStringField(head, 1, "group")
		head = appendStringField(head, 2, m.Group)
	} else {
		head = appendStringField(head, 1, "server")
	}
	field := dataText
	switch {
	case m.DataType == pubsub.Protobuf && eachField(m.Data, skipField) == nil:
		field = dataProtobuf
	case m.DataType.Opaque():
		// Including protobuf data from a JSON client that is no message: as protobuf_data it
		// would make the recipients' parsers fail on the whole frame.
		field = dataBinary
	}
	data := m.TargetlessData()
	if field == dataText && !utf8.Valid(data) {
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	head = protowire.AppendTag(head, 3, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(protowire.SizeTag(field)+protowire.SizeBytes(len(data))))
	head = protowire.AppendTag(head, field, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(data)))
	n := len(head) + len(data)
	sequenced := f.reliable && !m.Ephemeral
	if sequenced {
		n += protowire.SizeTag(dataMessageSequenceID) + seqWidth
	}
	b := make([]byte, 0, protowire.SizeTag(downData)+protowire.SizeVarint(uint64(n))+n-seqWidth)
	b = protowire.AppendTag(b, downData, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	b = append(append(b, head...), data...)
	if sequenced {
		b = protowire.AppendTag(b, dataMessageSequenceID, protowire.VarintType)
	}
	return pubsub.Frame{Payload: b, Binary: true}
}

// seqWidth is the size of every sequence id on the wire: a varint padded to its longest form,
// ten bytes, so that the shared rendering's lengths hold whatever the id. Parsers read an
// overlong varint as its value.
const seqWidth = 10

// AppendSequence completes a reliable rendering with its sequence id, padded to seqWidth.
func (protobufFormat) AppendSequence(dst []byte, seq uint64) []byte {
	for range seqWidth - 1 {
		dst = append(dst, byte(seq)|0x80)
		seq >>= 7
	}
	return append(dst, byte(seq))
}

// Goodbye is SystemMessage.disconnected_message{reason}.
func (protobufFormat) Goodbye(reason string) []byte {
	return appendMessageField(nil, downSystem, appendMessageField(nil, sysDisconnected, appendStringField(nil, 2, reason)))
}

// protobufConnected is SystemMessage.connected_message; the token is set on the reliable
// subprotocol only. Empty strings are left out, as proto3 writes them.
func protobufConnected(userID, connectionID, reconnectionToken string) []byte {
	var c []byte
	c = appendStringField(c, 1, connectionID)
	c = appendStringField(c, 2, userID)
	c = appendStringField(c, 3, reconnectionToken)
	return appendMessageField(nil, downSystem, appendMessageField(nil, sysConnected, c))
}

// protobufAck is AckMessage{ack_id, success, error{name, message}}.
func protobufAck(ackID uint64, errName, errMsg string) []byte {
	var a []byte
	a = protowire.AppendTag(a, 1, protowire.VarintType)
	a = protowire.AppendVarint(a, ackID)
	if errName == "" {
		a = protowire.AppendTag(a, 2, protowire.VarintType)
		a = protowire.AppendVarint(a, 1)
	} else {
		var e []byte
		e = appendStringField(e, 1, errName)
		e = appendStringField(e, 2, errMsg)
		a = appendMessageField(a, 3, e)
	}
	return appendMessageField(nil, downAck, a)
}

func appendMessageField(dst []byte, n protowire.Number, body []byte) []byte {
	dst = protowire.AppendTag(dst, n, protowire.BytesType)
	return protowire.AppendBytes(dst, body)
}

// appendStringField writes a string field unless s is empty, as proto3 does. Parsers refuse a
// string that is not UTF-8, and with it the whole frame, so such bytes (a group name from a REST
// path, say) are replaced as the JSON encoder replaces them.
func appendStringField(dst []byte, n protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	dst = protowire.AppendTag(dst, n, protowire.BytesType)
	return protowire.AppendString(dst, strings.ToValidUTF8(s, "\uFFFD"))
}

// errProtobuf is an UpstreamMessage that does not follow the schema.
var errProtobuf = errors.New("invalid protobuf message")

// decodeProtobuf reads an UpstreamMessage as the request it stands for. Its data is carried as
// the JSON subprotocol carries it, so that one set of handlers serves both. Unknown fields are
// skipped, as proto3 parsers do; of the oneof's members the last one wins.
func decodeProtobuf(b []byte) (inbound, error) {
	var kind protowire.Number
	var body []byte
	err := eachField(b, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		switch n {
		case upSendToGroup, upEvent, upJoinGroup, upLeaveGroup, upSequenceAck, upPing:
			if t != protowire.BytesType {
				return fmt.Errorf("%w: field %d is not a message", errProtobuf, n)
			}
			kind, body = n, v
		}
		return nil
	})
	if err != nil {
		return inbound{}, err
	}
	var m inbound
	switch kind {
	case upSendToGroup:
		m.Type = "sendToGroup"
		err = eachField(body, func(n protowire.Number, t protowire.Type, v []byte, x uint64) error {
			switch n {
			case 1:
				return readString(t, v, &m.Group)
			case 2:
				return readUint(t, x, &m.AckID)
			case 3:
				return readData(t, v, &m)
			case 4:
				m.NoEcho = t == protowire.VarintType && x != 0
			}
			return nil
		})
	case upEvent:
		m.Type = "event"
		err = eachField(body, func(n protowire.Number, t protowire.Type, v []byte, x uint64) error {
			switch n {
			case 1:
				return readString(t, v, &m.Event)
			case 2:
				return readData(t, v, &m)
			case 3:
				return readUint(t, x, &m.AckID)
			}
			return nil
		})
	case upJoinGroup, upLeaveGroup:
		m.Type = "joinGroup"
		if kind == upLeaveGroup {
			m.Type = "leaveGroup"
		}
		err = eachField(body, func(n protowire.Number, t protowire.Type, v []byte, x uint64) error {
			switch n {
			case 1:
				return readString(t, v, &m.Group)
			case 2:
				return readUint(t, x, &m.AckID)
			}
			return nil
		})
	case upSequenceAck:
		m.Type = "sequenceAck"
		var seq uint64
		m.SequenceID = &seq
		err = eachField(body, func(n protowire.Number, t protowire.Type, _ []byte, x uint64) error {
			if n == 1 {
				return readUint(t, x, &m.SequenceID)
			}
			return nil
		})
	default:
		// A ping, or a message with no member this schema knows: an empty message parses as one,
		// and a newer client's request has a member added after this schema. Either asks for
		// nothing that could be answered, so it is taken as a sign of life, as a ping is.
		m.Type = "ping"
	}
	if err != nil {
		return inbound{}, err
	}
	if m.Type == "sendToGroup" || m.Type == "event" {
		if m.Data == nil {
			// No data at all reads as empty bytes, the nearest to nothing that every format has.
			m.DataType, m.Data = "binary", json.RawMessage(`""`)
		}
	}
	return m, nil
}

// protobufAckID is the ackId of an UpstreamMessage, or nil, read without decoding its data: it
// answers requests refused for their rate, when decoding them whole would be work to no purpose.
func protobufAckID(b []byte) *uint64 {
	var id *uint64
	_ = eachField(b, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		field := protowire.Number(2)
		switch n {
		case upEvent:
			field = 3
		case upSendToGroup, upJoinGroup, upLeaveGroup:
		default:
			return nil
		}
		id = nil
		return eachField(v, func(n protowire.Number, t protowire.Type, _ []byte, x uint64) error {
			if n == field && t == protowire.VarintType {
				id = &x
			}
			return nil
		})
	})
	return id
}

// eachField calls f with each field of the message b: its number, wire type, and its bytes
// (length-delimited fields) or value (varints).
func eachField(b []byte, f func(n protowire.Number, t protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return fmt.Errorf("%w: %v", errProtobuf, protowire.ParseError(l))
		}
		b = b[l:]
		var v []byte
		var x uint64
		switch t {
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, l = protowire.ConsumeVarint(b)
		default:
			l = protowire.ConsumeFieldValue(n, t, b)
		}
		if l < 0 {
			return fmt.Errorf("%w: field %d: %v", errProtobuf, n, protowire.ParseError(l))
		}
		b = b[l:]
		if err := f(n, t, v, x); err != nil {
			return err
		}
	}
	return nil
}

func skipField(protowire.Number, protowire.Type, []byte, uint64) error { return nil }

func readString(t protowire.Type, v []byte, dst *string) error {
	if t != protowire.BytesType || !utf8.Valid(v) {
		return fmt.Errorf("%w: a string field is not UTF-8 text", errProtobuf)
	}
	*dst = string(v)
	return nil
}

func readUint(t protowire.Type, x uint64, dst **uint64) error {
	if t != protowire.VarintType {
		return fmt.Errorf("%w: an integer field is not a varint", errProtobuf)
	}
	*dst = &x
	return nil
}

// readData reads MessageData into the JSON subprotocol's dataType and data.
func readData(t protowire.Type, v []byte, m *inbound) error {
	if t != protowire.BytesType {
		return fmt.Errorf("%w: data is not a message", errProtobuf)
	}
	return eachField(v, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		if t != protowire.BytesType {
			return nil
		}
		switch n {
		case dataText:
			var s string
			if err := readString(t, v, &s); err != nil {
				return err
			}
			m.DataType = "text"
			m.Data, _ = json.Marshal(s) // marshalling a string cannot fail
		case dataBinary, dataProtobuf:
			// protobuf_data, a google.protobuf.Any, is passed on as its encoded bytes.
			m.DataType = "binary"
			if n == dataProtobuf {
				m.DataType = "protobuf"
			}
			m.Data = json.RawMessage(`"` + base64.StdEncoding.EncodeToString(v) + `"`)
		case dataJSON:
			if !json.Valid(v) {
				return fmt.Errorf("%w: json_data is not JSON", errProtobuf)
			}
			m.DataType, m.Data = "json", append(json.RawMessage(nil), v...)
		}
		return nil
	})
}
