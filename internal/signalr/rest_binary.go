package signalr

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// The two binary send bodies of the REST API, beside JSON: Azure/azure-signalr
// docs/swagger/V20220601.json lists application/json, application/x-msgpack and
// application/octet-stream as what every send consumes, its body the PayloadMessage
// {target, arguments}.

// messagePackPayload reads an application/x-msgpack body: the PayloadMessage as a MessagePack
// map, {"Target": "method", "Arguments": [...]}, its keys matched without regard to case as the
// JSON body's are. The service's reader is not published; a map keyed by property names is what
// MessagePack for C#'s contractless resolver writes of the SDK's PayloadMessage, which has no
// MessagePack attributes. The arguments are kept as sent, for MessagePack clients, and in their
// JSON form for the others.
func messagePackPayload(body []byte) (invocation, error) {
	const shape = `the body must be MessagePack like {"target":"method","arguments":[…]}`
	if len(body) == 0 || !isMap(body[0]) {
		return invocation{}, fmt.Errorf("%s: it is not a MessagePack map", shape)
	}
	if err := checkMessagePack(body); err != nil {
		return invocation{}, fmt.Errorf("%s: %w", shape, err)
	}
	r := bytes.NewReader(body)
	dec := msgpack.NewDecoder(r)
	n, err := dec.DecodeMapLen()
	if err != nil {
		return invocation{}, fmt.Errorf("%s: %w", shape, err)
	}
	var inv invocation
	for range n {
		c, err := dec.PeekCode()
		if err != nil || !msgpcode.IsString(c) {
			return invocation{}, fmt.Errorf("%s: a key is not a string", shape)
		}
		key, err := dec.DecodeString()
		if err != nil {
			return invocation{}, fmt.Errorf("%s: %w", shape, err)
		}
		switch {
		case strings.EqualFold(key, "target"):
			if inv.Target, err = messagePackString(dec); err != nil {
				return invocation{}, fmt.Errorf("%s: target is not a string", shape)
			}
		case strings.EqualFold(key, "arguments"):
			if inv.MessagePack, err = messagePackArray(dec); err != nil {
				return invocation{}, fmt.Errorf("%s: arguments is not an array", shape)
			}
		default:
			return invocation{}, fmt.Errorf("%s: unknown key %q", shape, httpapi.Truncate(key, 64))
		}
	}
	if r.Len() > 0 {
		return invocation{}, fmt.Errorf("%s: bytes follow the map", shape)
	}
	return withJSONArguments(inv)
}

// binaryInvocation reads the body the Management SDK sends as application/octet-stream when the
// app configured hub protocols of its own: a MessagePack map from protocol name ("json",
// "messagepack") to the invocation as that protocol writes it (BinaryPayloadMessageContent.cs in
// Azure/azure-signalr src/Microsoft.Azure.SignalR.Common/Utilities/Rest). The service hands each
// client its protocol's form; here JSON clients get the JSON form's arguments and MessagePack
// clients the MessagePack form's, each derived from the other when the body lacks it.
func binaryInvocation(body []byte) (invocation, error) {
	var forms map[string][]byte
	if len(body) == 0 || !isMap(body[0]) {
		return invocation{}, errors.New("the body is not a MessagePack map from protocol name to message bytes")
	}
	if err := checkMessagePack(body); err != nil {
		return invocation{}, fmt.Errorf("the body is not a MessagePack map from protocol name to message bytes: %w", err)
	}
	if err := msgpack.Unmarshal(body, &forms); err != nil {
		return invocation{}, fmt.Errorf("the body is not a MessagePack map from protocol name to message bytes: %w", err)
	}
	j, hasJSON := forms["json"]
	mp, hasMessagePack := forms["messagepack"]
	var inv invocation
	if hasMessagePack {
		var err error
		if inv, err = messagePackRecord(mp); err != nil {
			return invocation{}, err
		}
	}
	if !hasJSON {
		if !hasMessagePack {
			return invocation{}, errors.New(`the body holds neither a "json" nor a "messagepack" message`)
		}
		return withJSONArguments(inv)
	}
	fromJSON, err := jsonRecord(j)
	if err != nil {
		return invocation{}, err
	}
	if hasMessagePack && inv.Target != fromJSON.Target {
		return invocation{}, errors.New("the json and messagepack messages invoke different methods")
	}
	fromJSON.MessagePack = inv.MessagePack
	return fromJSON, nil
}

// jsonRecord reads an invocation in the JSON hub protocol: one record ended by 0x1E.
func jsonRecord(b []byte) (invocation, error) {
	rec, ok := bytes.CutSuffix(b, []byte{recordSeparator})
	if !ok {
		return invocation{}, errors.New("the json message does not end with the record separator 0x1E")
	}
	var m struct {
		Type      int             `json:"type"`
		Target    string          `json:"target"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(rec, &m); err != nil {
		return invocation{}, fmt.Errorf("the json message is not JSON: %w", err)
	}
	if m.Type != typeInvocation {
		return invocation{}, fmt.Errorf("the json message is of type %d, not an invocation (1)", m.Type)
	}
	return invocation{Target: m.Target, Arguments: m.Arguments}, nil
}

// messagePackRecord reads an invocation in the MessagePack hub protocol: a varint length, then
// [1, headers, invocationId, target, arguments, …]. Its arguments are kept as they are.
func messagePackRecord(b []byte) (invocation, error) {
	n, size := binary.Uvarint(b)
	if size <= 0 || n != uint64(len(b)-size) {
		return invocation{}, errors.New("the messagepack message's length prefix does not match its size")
	}
	rec := b[size:]
	if len(rec) == 0 || !isArray(rec[0]) {
		return invocation{}, errors.New("the messagepack message is not an array")
	}
	if err := checkMessagePack(rec); err != nil {
		return invocation{}, fmt.Errorf("the messagepack message is not MessagePack: %w", err)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(rec))
	if l, err := dec.DecodeArrayLen(); err != nil || l < 5 {
		return invocation{}, errors.New("the messagepack message is not an invocation")
	}
	if kind, err := dec.DecodeInt(); err != nil || kind != typeInvocation {
		return invocation{}, errors.New("the messagepack message is not an invocation (type 1)")
	}
	for range 2 { // headers, invocation id
		if dec.Skip() != nil {
			return invocation{}, errors.New("the messagepack message is not an invocation")
		}
	}
	target, err := messagePackString(dec)
	if err != nil {
		return invocation{}, errors.New("the messagepack invocation's target is not a string")
	}
	args, err := messagePackArray(dec)
	if err != nil {
		return invocation{}, errors.New("the messagepack invocation's arguments are not an array")
	}
	return invocation{Target: target, MessagePack: args}, nil
}

// messagePackString reads a string, refusing any other kind of value the library would convert.
func messagePackString(dec *msgpack.Decoder) (string, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return "", err
	}
	if !msgpcode.IsString(c) {
		return "", errors.New("not a string")
	}
	return dec.DecodeString()
}

// messagePackArray returns the next value's bytes when it is an array, nil when it is nil.
func messagePackArray(dec *msgpack.Decoder) ([]byte, error) {
	c, err := dec.PeekCode()
	switch {
	case err != nil:
		return nil, err
	case c == msgpcode.Nil:
		return nil, dec.Skip()
	case !isArray(c):
		return nil, errors.New("not an array")
	}
	return dec.DecodeRaw()
}

// withJSONArguments adds the JSON form of MessagePack arguments, as the JSON hub protocol writes
// them (binary as base64, timestamps as RFC 3339 strings); a value JSON cannot hold (a map keyed
// by something other than strings, a NaN) makes the body unusable for JSON clients and is refused.
func withJSONArguments(inv invocation) (invocation, error) {
	if inv.MessagePack == nil {
		return inv, nil
	}
	var args []any
	if err := msgpack.Unmarshal(inv.MessagePack, &args); err != nil {
		return invocation{}, fmt.Errorf("the arguments have no JSON form: %w", err)
	}
	b, err := json.Marshal(args)
	if err != nil {
		return invocation{}, fmt.Errorf("the arguments have no JSON form: %w", err)
	}
	inv.Arguments = b
	return inv, nil
}
