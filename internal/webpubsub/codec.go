package webpubsub

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// Subprotocols this service speaks, in the order it prefers them.
const (
	ProtocolJSON         = "json.webpubsub.azure.v1"
	ProtocolReliableJSON = "json.reliable.webpubsub.azure.v1"
)

// codecs of the three client kinds; they hold no state, so one of each serves every connection.
var (
	rawCodec          pubsub.Codec = rawFormat{}
	jsonCodec         pubsub.Codec = jsonFormat{reliable: false}
	reliableJSONCodec pubsub.Codec = jsonFormat{reliable: true}
)

// rawFormat serves simple WebSocket clients: payloads go out as they are, text and JSON in text
// frames, binary data in binary frames, and no system messages at all.
type rawFormat struct{}

func (rawFormat) Format() pubsub.Format { return pubsub.FormatWebPubSubRaw }

func (rawFormat) Encode(m *pubsub.Message) pubsub.Frame {
	return pubsub.Frame{Payload: m.TargetlessData(), Binary: m.DataType.Opaque()}
}

func (rawFormat) AppendSequence(dst []byte, _ uint64) []byte { return dst }

func (rawFormat) Goodbye(string) []byte { return nil }

// jsonFormat is the JSON subprotocol, plain or reliable. A reliable rendering of a durable
// message stops before the closing brace so that each connection appends its own sequence id to
// the shared bytes; an ephemeral message has no sequence id, so its rendering is closed here, and
// the official client takes a data message without one as it is.
type jsonFormat struct{ reliable bool }

func (f jsonFormat) Format() pubsub.Format {
	if f.reliable {
		return pubsub.FormatWebPubSubReliableJSON
	}
	return pubsub.FormatWebPubSubJSON
}

func (f jsonFormat) Encode(m *pubsub.Message) pubsub.Frame {
	b := make([]byte, 0, len(m.Data)+len(m.Group)+96)
	if m.Origin == pubsub.FromGroup {
		b = append(b, `{"type":"message","from":"group","group":`...)
		b = appendJSONString(b, m.Group)
		// Without a sender (the app server, an anonymous client) fromUserId is left out: the
		// service's schema types it as a string (Azure/azure-webpubsub,
		// protocols/json.webpubsub.azure.v1/webpubsub.v1.response.json).
		if m.FromUserID != "" {
			b = append(b, `,"fromUserId":`...)
			b = appendJSONString(b, m.FromUserID)
		}
	} else {
		b = append(b, `{"type":"message","from":"server"`...)
	}
	b = append(b, `,"dataType":"`...)
	b = append(b, m.DataType.String()...)
	b = append(b, `","data":`...)
	b = appendData(b, m.DataType, m.TargetlessData())
	if m.Stream != nil {
		b = appendStreamPosition(b, m.Stream)
	}
	if !f.reliable || m.Ephemeral {
		b = append(b, '}')
	}
	return pubsub.Frame{Payload: b}
}

func (jsonFormat) AppendSequence(dst []byte, seq uint64) []byte {
	dst = append(dst, `,"sequenceId":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '}')
}

func (jsonFormat) Goodbye(reason string) []byte {
	b := append([]byte(nil), `{"type":"system","event":"disconnected","message":`...)
	b = appendJSONString(b, reason)
	return append(b, '}')
}

// appendData renders data as the JSON value the dataType calls for. JSON data was validated when
// it entered the service, so it is copied as it is.
func appendData(b []byte, dt pubsub.DataType, data []byte) []byte {
	switch dt {
	case pubsub.Text:
		return appendJSONString(b, string(data))
	case pubsub.Binary, pubsub.Protobuf:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, data)
		return append(b, '"')
	default:
		return append(b, data...)
	}
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // marshalling a string cannot fail
	return append(b, q...)
}

// connectedMessage is the first thing a subprotocol client hears.
func connectedMessage(userID, connectionID, reconnectionToken string) []byte {
	type connected struct {
		Type              string  `json:"type"`
		Event             string  `json:"event"`
		UserID            *string `json:"userId"`
		ConnectionID      string  `json:"connectionId"`
		ReconnectionToken string  `json:"reconnectionToken,omitempty"`
	}
	m := connected{Type: "system", Event: "connected", ConnectionID: connectionID, ReconnectionToken: reconnectionToken}
	if userID != "" {
		m.UserID = &userID
	}
	b, _ := json.Marshal(m)
	return b
}

// Ack error names the service uses.
const (
	ackForbidden     = "Forbidden"
	ackBadRequest    = "BadRequest"
	ackDuplicate     = "Duplicate"
	ackInternalError = "InternalServerError"
	// ackTooManyRequests is not among the documented names; clients are told to expect new ones.
	ackTooManyRequests = "TooManyRequests"
)

func ackMessage(ackID uint64, errName, errMsg string) []byte {
	b := append([]byte(nil), `{"type":"ack","ackId":`...)
	b = strconv.AppendUint(b, ackID, 10)
	if errName == "" {
		return append(b, `,"success":true}`...)
	}
	b = append(b, `,"success":false,"error":{"name":`...)
	b = appendJSONString(b, errName)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, errMsg)
	return append(b, "}}"...)
}

var pongMessage = []byte(`{"type":"pong"}`)
