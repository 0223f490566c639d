package pubsub

// Codec renders messages for one wire format. The protocol packages implement it; the hub calls
// Encode at most once per message and format and shares the result between recipients.
type Codec interface {
	// Format is this codec's slot in the per-message cache; distinct codecs need distinct formats.
	Format() Format
	// Encode renders a data message. For a reliable format the payload of a durable message stops
	// short of the sequence id, which AppendSequence adds per connection; an ephemeral message
	// gets no sequence id, so its payload is complete. A nil Payload means the format has no
	// rendering of m (a SignalR client has no place for a Web PubSub payload without a target):
	// its connections skip the message.
	Encode(m *Message) Frame
	// AppendSequence completes a reliable durable data frame with its sequence id; unreliable
	// codecs are never asked.
	AppendSequence(dst []byte, seq uint64) []byte
	// Goodbye is the payload sent before the service closes a connection, or nil for none.
	Goodbye(reason string) []byte
}

// binaryProtocol is implemented by codecs whose own frames, the greeting and the goodbye, go in
// binary WebSocket frames, as a binary subprotocol's do; the others' go in text frames.
type binaryProtocol interface{ BinaryFrames() bool }

// closeAwareProtocol is implemented by codecs whose goodbye depends on the close code: a SignalR
// client told that the server is going away reconnects, one told to leave does not.
type closeAwareProtocol interface {
	GoodbyeFor(code int, reason string) []byte
}

// countingProtocol is implemented by codecs whose clients count the data messages they receive
// instead of reading sequence ids from them (SignalR's stateful reconnect). On a reliable
// connection every numbered message must then reach the client: a message the codec does not
// render is never numbered, and a socket attached again first hears Resumed, which says which
// id the replayed messages start at.
type countingProtocol interface {
	Resumed(firstSeq uint64) []byte
}

func isCounting(c Codec) bool {
	_, ok := c.(countingProtocol)
	return ok
}

// goodbye is c's last payload before a close with code and reason, or nil for none.
func goodbye(c Codec, code int, reason string) []byte {
	if ca, ok := c.(closeAwareProtocol); ok {
		return ca.GoodbyeFor(code, reason)
	}
	return c.Goodbye(reason)
}

// protocolOpcode is the WebSocket opcode of c's greeting and goodbye.
func protocolOpcode(c Codec) byte {
	if b, ok := c.(binaryProtocol); ok && b.BinaryFrames() {
		return opBinary
	}
	return opText
}

// The wire formats of this service. They are declared together so that no two codecs share a
// cache slot.
const (
	FormatWebPubSubRaw Format = iota
	FormatWebPubSubJSON
	FormatWebPubSubReliableJSON
	FormatWebPubSubProtobuf
	FormatWebPubSubReliableProtobuf
	FormatSignalRJSON
	FormatSignalRMessagePack

	numFormats // the size of the per-message encoding cache
)
