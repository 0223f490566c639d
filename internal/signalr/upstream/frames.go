package upstream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// recordSeparator ends every message of the JSON hub protocol.
const recordSeparator = 0x1e

// checkFrames reports whether b is one or more whole messages of the hub protocol named, so
// that relaying it can never desynchronise the client's reader.
func checkFrames(protocol string, b []byte) error {
	switch protocol {
	case ProtocolJSON:
		if len(b) == 0 || b[len(b)-1] != recordSeparator {
			return errors.New("json: not ended by a record separator")
		}
		for rec := range bytes.SplitSeq(b[:len(b)-1], []byte{recordSeparator}) {
			if t := bytes.TrimSpace(rec); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
				return errors.New("json: a record is not a JSON object")
			}
		}
		return nil
	case ProtocolMessagePack:
		for len(b) > 0 {
			// Each message is prefixed by its length as a varint of at most five bytes.
			n, k := binary.Uvarint(b)
			if k <= 0 || k > 5 || n == 0 || n > uint64(len(b)-k) {
				return errors.New("messagepack: bad length prefix")
			}
			if err := checkMessagePackArray(b[k : k+int(n)]); err != nil {
				return err
			}
			b = b[k+int(n):]
		}
		return nil
	default:
		return fmt.Errorf("unknown protocol %q", protocol)
	}
}

// checkMessagePackArray reports whether msg is exactly one MessagePack array, the shape of every
// hub message.
func checkMessagePackArray(msg []byte) error {
	r := bytes.NewReader(msg)
	dec := msgpack.NewDecoder(r)
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 1 {
		return errors.New("messagepack: a message is not an array")
	}
	for range n {
		if err := dec.Skip(); err != nil {
			return fmt.Errorf("messagepack: %w", err)
		}
	}
	if r.Len() != 0 {
		return errors.New("messagepack: bytes after the message")
	}
	return nil
}

// jsonString returns s as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
