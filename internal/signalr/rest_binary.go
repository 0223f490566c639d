package signalr

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// binaryInvocation reads the body the Management SDK sends as application/octet-stream when the
// app configured hub protocols of its own: a MessagePack map from protocol name ("json",
// "messagepack") to the invocation as that protocol writes it (BinaryPayloadMessageContent.cs in
// Azure/azure-signalr src/Microsoft.Azure.SignalR.Common/Utilities/Rest). The service would hand
// each client its protocol's bytes; here the invocation is read back, from the JSON form when
// there is one, and rendered once per format like any other send.
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
	if b, ok := forms["json"]; ok {
		return jsonRecord(b)
	}
	if b, ok := forms["messagepack"]; ok {
		return messagePackRecord(b)
	}
	return invocation{}, errors.New(`the body holds neither a "json" nor a "messagepack" message`)
}

// jsonRecord reads an invocation in the JSON hub protocol: one record ended by 0x1E.
func jsonRecord(b []byte) (invocation, error) {
	rec, ok := bytes.CutSuffix(b, []byte{0x1e})
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
	if m.Type != 1 {
		return invocation{}, fmt.Errorf("the json message is of type %d, not an invocation (1)", m.Type)
	}
	return invocation{Target: m.Target, Arguments: m.Arguments}, nil
}

// messagePackRecord reads an invocation in the MessagePack hub protocol: a varint length, then
// [1, headers, invocationId, target, arguments, …]. The arguments become JSON as the JSON hub
// protocol writes them (binary as base64).
func messagePackRecord(b []byte) (invocation, error) {
	n, size := binary.Uvarint(b)
	if size <= 0 || n != uint64(len(b)-size) {
		return invocation{}, errors.New("the messagepack message's length prefix does not match its size")
	}
	var m []any
	if len(b) == size || !isArray(b[size]) {
		return invocation{}, errors.New("the messagepack message is not an array")
	}
	if err := checkMessagePack(b[size:]); err != nil {
		return invocation{}, fmt.Errorf("the messagepack message is not MessagePack: %w", err)
	}
	if err := msgpack.Unmarshal(b[size:], &m); err != nil {
		return invocation{}, fmt.Errorf("the messagepack message is not MessagePack: %w", err)
	}
	if len(m) < 5 {
		return invocation{}, errors.New("the messagepack message is not an invocation")
	}
	if kind, ok := m[0].(int8); !ok || kind != 1 { // positive fixints decode as int8
		return invocation{}, errors.New("the messagepack message is not an invocation (type 1)")
	}
	target, ok := m[3].(string)
	if !ok {
		return invocation{}, errors.New("the messagepack invocation's target is not a string")
	}
	args, err := json.Marshal(m[4])
	if err != nil {
		return invocation{}, fmt.Errorf("the messagepack invocation's arguments have no JSON form: %w", err)
	}
	return invocation{Target: target, Arguments: args}, nil
}
