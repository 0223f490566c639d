package pubsub

import (
	"encoding/json"
	"sync"
	"time"
)

// DataType says how a message's Data is to be read.
type DataType uint8

const (
	// JSON data is one serialised JSON value.
	JSON DataType = iota
	// Text data is UTF-8 text.
	Text
	// Binary data is opaque bytes.
	Binary
	// Protobuf data is an encoded google.protobuf.Any: opaque bytes to all but protobuf
	// subprotocol clients.
	Protobuf
)

// Opaque reports whether d's data is bytes rather than text.
func (d DataType) Opaque() bool { return d == Binary || d == Protobuf }

func (d DataType) String() string {
	switch d {
	case Text:
		return "text"
	case Binary:
		return "binary"
	case Protobuf:
		return "protobuf"
	default:
		return "json"
	}
}

// ParseDataType maps a wire name to a DataType; the empty name means JSON, as in Web PubSub.
func ParseDataType(s string) (DataType, bool) {
	switch s {
	case "", "json":
		return JSON, true
	case "text":
		return Text, true
	case "binary":
		return Binary, true
	case "protobuf":
		return Protobuf, true
	}
	return 0, false
}

// Origin says who produced a message.
type Origin uint8

const (
	// FromServer messages come from the service or an app server (REST, event handler replies)
	// and are addressed to connections, users or everyone, not to a group.
	FromServer Origin = iota
	// FromGroup messages were sent to a group: by a client, which FromUserID names, or by the app
	// server (REST sendToGroup, the dashboards' pushes), which leaves FromUserID empty. Web
	// PubSub renders both as group messages, so members tell a group's traffic by its group.
	FromGroup
)

// Format identifies a wire encoding; each message caches one rendering per format.
type Format uint8

// Message is one immutable payload on its way to recipients. Create it with [NewMessage] and do
// not modify it after it has been sent: recipients share it.
type Message struct {
	Origin     Origin
	Group      string // set when Origin is FromGroup
	FromUserID string // the publishing client's user id; empty for the app server and anonymous clients
	DataType   DataType
	Data       []byte
	// Ephemeral messages (cursors, presence pings) are dropped first for a lagging reader, and
	// reliable connections neither number them nor keep them for resend. Clients' messages to the
	// groups [Options.EphemeralGroup] names are ephemeral.
	Ephemeral bool
	// Expires is when an undelivered message stops being worth delivering; zero means never.
	Expires time.Time
	// Published is when the message entered the service; it feeds the fan-out latency metric.
	Published time.Time
	// Stream places the message in a client's ordered group stream; nil for a message of its own.
	Stream *StreamPosition
	// Target is the client method a SignalR-style message invokes, its Data then the JSON array
	// of the arguments; empty for a Web PubSub payload.
	Target string
	// MessagePackArgs are an invocation's arguments as the MessagePack array the app server sent,
	// when it sent them so: a MessagePack codec renders them as they are (binary stays binary),
	// while Data holds their JSON form for every other format.
	MessagePackArgs []byte

	encoded [numFormats]encoding
}

type encoding struct {
	once  sync.Once
	frame Frame
}

// Frame is a rendered payload and the kind of WebSocket frame that carries it.
type Frame struct {
	Payload []byte
	Binary  bool
}

// NewMessage returns a message stamped with the current time.
func NewMessage(dt DataType, data []byte) *Message {
	return &Message{DataType: dt, Data: data, Published: time.Now()}
}

// NewGroupMessage returns a message to group stamped with the current time; fromUserID is the
// publishing client's user id, empty when the app server sends it.
func NewGroupMessage(group, fromUserID string, dt DataType, data []byte) *Message {
	m := NewMessage(dt, data)
	m.Origin, m.Group, m.FromUserID = FromGroup, group, fromUserID
	return m
}

// NewServerMessage returns the app server's message to the connections to selects: a group
// message without a sender when to is a group, as Web PubSub delivers a REST sendToGroup, and a
// server message otherwise.
func NewServerMessage(to Selector, dt DataType, data []byte) *Message {
	if to.Kind == ToGroup {
		return NewGroupMessage(to.Name, "", dt, data)
	}
	return NewMessage(dt, data)
}

// NewInvocation returns the app server's call of the client method target with args, a JSON
// array, on the connections to selects.
func NewInvocation(to Selector, target string, args []byte) *Message {
	m := NewServerMessage(to, JSON, args)
	m.Target = target
	return m
}

// TargetlessData is the data of m for a client that knows no client methods (a Web PubSub
// client): Data, or for an invocation the JSON object {"target":Target,"arguments":Data}, so that
// such a client still learns which method the app server meant.
func (m *Message) TargetlessData() []byte {
	if m.Target == "" {
		return m.Data
	}
	t, _ := json.Marshal(m.Target) // marshalling a string cannot fail
	b := make([]byte, 0, len(m.Data)+len(t)+26)
	b = append(b, `{"target":`...)
	b = append(b, t...)
	b = append(b, `,"arguments":`...)
	b = append(b, m.Data...)
	return append(b, '}')
}

// Encoded returns m rendered by c, rendering it on first use only; concurrent writers of the same
// message wait for one rendering instead of each doing their own.
func (m *Message) Encoded(c Codec) Frame {
	e := &m.encoded[c.Format()]
	e.once.Do(func() { e.frame = c.Encode(m) })
	return e.frame
}

func (m *Message) expired(now time.Time) bool {
	return !m.Expires.IsZero() && now.After(m.Expires)
}

// Size is the number of bytes a message counts for in buffer limits.
func (m *Message) Size() int {
	n := len(m.Data) + len(m.MessagePackArgs) + len(m.Group) + len(m.FromUserID) + len(m.Target) + 64
	if m.Stream != nil {
		n += len(m.Stream.ID) + 32
		if e := m.Stream.Err; e != nil {
			n += len(e.Name) + len(e.Message) + len(e.UserCode)
		}
	}
	return n
}

// StreamPosition is where a message stands in its stream: every recipient of the stream's
// messages learns the same id, order and end, whatever its wire format.
type StreamPosition struct {
	ID  string
	Seq uint64 // 1 for the first fragment; the last message's is one past the last fragment's
	// End marks the stream's last message, which may carry no payload of its own.
	End bool
	Err *StreamError // why the stream ended, when it did not end normally
}

// StreamError is why a stream ended early: Name classifies it (the publisher's own reason, an
// idle timeout, a closed connection), Message and UserCode explain it.
type StreamError struct {
	Name, Message, UserCode string
}
