package signalr

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// Hub protocol message types (ASP.NET Core SignalR's HubProtocolConstants).
const (
	typeInvocation       = 1
	typeStreamItem       = 2
	typeCompletion       = 3
	typeStreamInvocation = 4
	typeCancelInvocation = 5
	typePing             = 6
	typeClose            = 7
	typeAck              = 8
	typeSequence         = 9
)

// recordSeparator ends every JSON hub protocol record.
const recordSeparator = 0x1E

// clientMessage is what the service reads of a client's message; the rest is never used, since a
// serverless service has nobody to give an invocation to.
type clientMessage struct {
	Type         int
	InvocationID string
	SequenceID   uint64 // of an Ack or a Sequence message
	Target       string // of an Invocation or a StreamInvocation
	// Raw is the message as the client wrote it, without its framing, for the upstream.
	Raw []byte
}

// protocol is one hub protocol: the rendering of the service's messages (a pubsub.Codec, so that
// a message is rendered once per protocol whatever the recipient count) and the parsing of the
// client's records.
type protocol interface {
	pubsub.Codec
	// Name is the protocol's name in the handshake.
	Name() string
	// GoodbyeFor is the Close message before the service closes with code; pubsub asks for it.
	GoodbyeFor(code int, reason string) []byte
	// ping and completion are the service's own records; completion has no result when msg
	// is "", else it is the error msg.
	ping() []byte
	completion(invocationID, msg string) []byte
	// ack and Resumed (pubsub asks for it) are the records of stateful reconnect.
	ack(seq uint64) []byte
	Resumed(firstSeq uint64) []byte
	// parse splits a WebSocket message into the client's records.
	parse(data []byte) ([]clientMessage, error)
}

var (
	jsonProtocol        protocol = jsonFormat{}
	messagePackProtocol protocol = messagePackFormat{}
)

// protocolByName finds the protocol a handshake asks for.
func protocolByName(name string) (protocol, bool) {
	switch name {
	case "json":
		return jsonProtocol, true
	case "messagepack":
		return messagePackProtocol, true
	}
	return nil, false
}

// closeRecord is the fields of a Close message: a client told the server is going away may
// reconnect; one closed for any other reason is told why and stays away.
func closeRecord(code int, reason string) (errText string, allowReconnect bool) {
	return reason, code == pubsub.CloseGoingAway
}

// jsonFormat is the JSON hub protocol: UTF-8 JSON records each ended by 0x1E, in text frames.
type jsonFormat struct{}

func (jsonFormat) Name() string          { return "json" }
func (jsonFormat) Format() pubsub.Format { return pubsub.FormatSignalRJSON }

// Encode renders an invocation of a client method. A Web PubSub payload (no Target) has no form
// in the hub protocol, so SignalR clients of a shared hub skip it.
func (jsonFormat) Encode(m *pubsub.Message) pubsub.Frame {
	if m.Target == "" {
		return pubsub.Frame{}
	}
	b := make([]byte, 0, len(m.Data)+len(m.Target)+40)
	b = append(b, `{"type":1,"target":`...)
	b = appendJSONString(b, m.Target)
	b = append(b, `,"arguments":`...)
	b = append(b, m.Data...)
	b = append(b, '}', recordSeparator)
	return pubsub.Frame{Payload: b}
}

func (jsonFormat) AppendSequence(dst []byte, _ uint64) []byte { return dst }

func (f jsonFormat) Goodbye(reason string) []byte { return f.GoodbyeFor(pubsub.CloseNormal, reason) }

func (jsonFormat) GoodbyeFor(code int, reason string) []byte {
	errText, reconnect := closeRecord(code, reason)
	b := []byte(`{"type":7`)
	if errText != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, errText)
	}
	if reconnect {
		b = append(b, `,"allowReconnect":true`...)
	}
	return append(b, '}', recordSeparator)
}

var jsonPing = []byte("{\"type\":6}\x1e")

func (jsonFormat) ping() []byte { return jsonPing }

func (jsonFormat) completion(invocationID, msg string) []byte {
	b := []byte(`{"type":3,"invocationId":`)
	b = appendJSONString(b, invocationID)
	if msg != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, msg)
	}
	return append(b, '}', recordSeparator)
}

func (jsonFormat) parse(data []byte) ([]clientMessage, error) {
	records, err := splitJSONRecords(data)
	if err != nil {
		return nil, err
	}
	out := make([]clientMessage, 0, len(records))
	for _, r := range records {
		var m struct {
			Type         *int            `json:"type"`
			InvocationID json.RawMessage `json:"invocationId"`
			SequenceID   uint64          `json:"sequenceId"`
			Target       string          `json:"target"`
		}
		if err := json.Unmarshal(r, &m); err != nil {
			return nil, fmt.Errorf("a record is not a JSON object: %w", err)
		}
		if m.Type == nil {
			return nil, errors.New("a record has no type")
		}
		id, err := invocationIDText(m.InvocationID)
		if err != nil {
			return nil, err
		}
		out = append(out, clientMessage{Type: *m.Type, InvocationID: id, SequenceID: m.SequenceID, Target: m.Target, Raw: r})
	}
	return out, nil
}

// invocationIDText reads an invocationId, which must be a string when present.
func invocationIDText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", errors.New("invocationId is not a string")
	}
	return id, nil
}

// splitJSONRecords splits a text message into its records; the message must end with the
// separator, as the protocol requires of every message.
func splitJSONRecords(data []byte) ([][]byte, error) {
	if len(data) == 0 || data[len(data)-1] != recordSeparator {
		return nil, errors.New("message is incomplete: a JSON record must end with the 0x1E record separator")
	}
	records := bytes.Split(data[:len(data)-1], []byte{recordSeparator})
	return records, nil
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // marshalling a string cannot fail
	return append(b, q...)
}

// messagePackFormat is the MessagePack hub protocol: each message a MessagePack array preceded by
// its length as a varint, in binary frames.
type messagePackFormat struct{}

func (messagePackFormat) Name() string          { return "messagepack" }
func (messagePackFormat) Format() pubsub.Format { return pubsub.FormatSignalRMessagePack }
func (messagePackFormat) BinaryFrames() bool    { return true }

// Encode renders an invocation as [1, headers, invocationId, target, arguments]: the arguments
// as the app server sent them in MessagePack, or else from their JSON (integers as integers,
// other numbers as float64).
func (messagePackFormat) Encode(m *pubsub.Message) pubsub.Frame {
	if m.Target == "" {
		return pubsub.Frame{}
	}
	if m.MessagePackArgs != nil {
		return pubsub.Frame{Payload: msgpackRecord([]any{typeInvocation, map[string]string{}, nil, m.Target, msgpack.RawMessage(m.MessagePackArgs)}), Binary: true}
	}
	args, err := jsonToValue(m.Data)
	if err != nil {
		// The hub only carries valid JSON arrays as arguments; an invalid one is skipped here
		// rather than sent as something the client would fail on.
		return pubsub.Frame{}
	}
	return pubsub.Frame{Payload: msgpackRecord([]any{typeInvocation, map[string]string{}, nil, m.Target, args}), Binary: true}
}

func (messagePackFormat) AppendSequence(dst []byte, _ uint64) []byte { return dst }

func (f messagePackFormat) Goodbye(reason string) []byte {
	return f.GoodbyeFor(pubsub.CloseNormal, reason)
}

func (messagePackFormat) GoodbyeFor(code int, reason string) []byte {
	errText, reconnect := closeRecord(code, reason)
	var e any
	if errText != "" {
		e = errText
	}
	return msgpackRecord([]any{typeClose, e, reconnect})
}

var messagePackPing = msgpackRecord([]any{typePing})

func (messagePackFormat) ping() []byte { return messagePackPing }

// completion is [3, headers, invocationId, 1 (error result), error], or without an error
// [3, headers, invocationId, 2 (void result)].
func (messagePackFormat) completion(invocationID, msg string) []byte {
	if msg == "" {
		return msgpackRecord([]any{typeCompletion, map[string]string{}, invocationID, 2})
	}
	return msgpackRecord([]any{typeCompletion, map[string]string{}, invocationID, 1, msg})
}

func (messagePackFormat) parse(data []byte) ([]clientMessage, error) {
	var out []clientMessage
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || k > 5 {
			return nil, errors.New("cannot read a message's length prefix")
		}
		data = data[k:]
		if n == 0 || n > uint64(len(data)) {
			return nil, errors.New("a message is shorter than its length prefix says")
		}
		m, err := parseMessagePackRecord(data[:n])
		if err != nil {
			return nil, err
		}
		m.Raw = data[:n]
		out = append(out, m)
		data = data[n:]
	}
	return out, nil
}

// parseMessagePackRecord reads the type and, for the types that carry one, the invocation id of
// one message: an array whose first element is the type and whose third is the id.
func parseMessagePackRecord(rec []byte) (clientMessage, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(rec))
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 1 {
		return clientMessage{}, errors.New("a message is not a MessagePack array")
	}
	t, err := dec.DecodeInt()
	if err != nil {
		return clientMessage{}, errors.New("a message's type is not an integer")
	}
	m := clientMessage{Type: t}
	switch t {
	case typeInvocation, typeStreamInvocation, typeStreamItem, typeCompletion, typeCancelInvocation:
	case typeAck, typeSequence:
		// [type, sequenceId]
		if n < 2 {
			return clientMessage{}, fmt.Errorf("a message of type %d has no sequence id", t)
		}
		if m.SequenceID, err = dec.DecodeUint64(); err != nil {
			return clientMessage{}, errors.New("a message's sequence id is not an integer")
		}
		return m, nil
	default:
		return m, nil
	}
	if n < 3 {
		return clientMessage{}, fmt.Errorf("a message of type %d has %d elements", t, n)
	}
	if err := skipValue(dec, maxNesting); err != nil { // headers
		return clientMessage{}, fmt.Errorf("a message's headers are not MessagePack: %w", err)
	}
	// The id is read as nil or a string only: decoding an arbitrary value would allocate what a
	// container's length claims before finding the bytes missing.
	c, err := dec.PeekCode()
	if err != nil {
		return clientMessage{}, errors.New("a message's invocation id is missing")
	}
	switch {
	case c == msgpcode.Nil:
		_ = dec.Skip()
	case msgpcode.IsString(c):
		if m.InvocationID, err = dec.DecodeString(); err != nil {
			return clientMessage{}, errors.New("a message's invocation id is not MessagePack")
		}
	default:
		return clientMessage{}, errors.New("invocationId is not a string")
	}
	if (t == typeInvocation || t == typeStreamInvocation) && n > 3 {
		// [type, headers, invocationId, target, arguments…]
		if c, err := dec.PeekCode(); err != nil || !msgpcode.IsString(c) {
			return clientMessage{}, errors.New("a message's target is not a string")
		}
		if m.Target, err = dec.DecodeString(); err != nil {
			return clientMessage{}, errors.New("a message's target is not MessagePack")
		}
	}
	return m, nil
}

// maxNesting bounds how deep the MessagePack a peer sends may nest arrays and maps: a hub
// message needs a few levels, and skipping or decoding recurses once per level.
const maxNesting = 64

// isMap and isArray tell a value's kind from its first byte. The library decodes a map or an
// array also from inside an extension value, whose content checkMessagePack does not look into;
// so the body and the record must be a map and an array themselves.
func isMap(c byte) bool { return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32 }

func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

// skipValue reads past one MessagePack value nested at most depth levels. Unlike the library's
// decoding of arbitrary values it allocates nothing, so a container claiming more elements than
// the bytes hold costs only the bytes there are; its recursion is bounded by depth.
func skipValue(dec *msgpack.Decoder, depth int) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	var n int
	switch {
	case isArray(c):
		n, err = dec.DecodeArrayLen()
	case isMap(c):
		n, err = dec.DecodeMapLen()
		n *= 2
	default:
		return dec.Skip()
	}
	if err != nil {
		return err
	}
	if n > 0 && depth == 0 {
		return fmt.Errorf("values nest deeper than %d levels", maxNesting)
	}
	for range n {
		if err := skipValue(dec, depth-1); err != nil {
			return err
		}
	}
	return nil
}

// checkMessagePack reports whether b starts with a MessagePack value whose every container holds
// the elements it claims, nested at most maxNesting levels: only then is it decoded into Go
// values, whose allocation then follows the bytes received.
func checkMessagePack(b []byte) error {
	return skipValue(msgpack.NewDecoder(bytes.NewReader(b)), maxNesting)
}

// msgpackRecord encodes v with its varint length prefix.
func msgpackRecord(v any) []byte {
	var body bytes.Buffer
	enc := msgpack.NewEncoder(&body)
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		// Only values built here from strings, integers and decoded JSON are encoded.
		panic(fmt.Sprintf("encode MessagePack record: %v", err))
	}
	out := binary.AppendUvarint(make([]byte, 0, body.Len()+5), uint64(body.Len()))
	return append(out, body.Bytes()...)
}

// jsonToValue decodes JSON into values MessagePack encodes as a .NET or JS client expects:
// integers stay integers.
func jsonToValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode arguments: %w", err)
	}
	return numbersToValues(v), nil
}

func numbersToValues(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = numbersToValues(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = numbersToValues(v[k])
		}
	}
	return v
}
