package webpubsub

import "github.com/huddle-dev/huddle/internal/pubsub"

// The service's own replies to a subprotocol client, in the form of its subprotocol.

func (s *session) protobuf() bool {
	return s.protocol == ProtocolProtobuf || s.protocol == ProtocolReliableProtobuf
}

func (s *session) reliable() bool {
	return s.protocol == ProtocolReliableJSON || s.protocol == ProtocolReliableProtobuf
}

// ack answers the request that carried ackID: success when errName is "".
func (s *session) ack(conn *pubsub.Conn, ackID uint64, errName, errMsg string) {
	if s.protobuf() {
		conn.Send(protobufAck(ackID, errName, errMsg), true)
		return
	}
	conn.Send(ackMessage(ackID, errName, errMsg), false)
}

// pong answers a ping. The protobuf schema has no pong: a client reading one would fail to parse
// it, and the ping needed none, since any frame shows the client alive.
func (s *session) pong(conn *pubsub.Conn) {
	if !s.protobuf() {
		conn.Send(pongMessage, false)
	}
}

// connected is the first message a subprotocol client hears.
func (s *session) connected(userID, connectionID, reconnectionToken string) []byte {
	if s.protobuf() {
		return protobufConnected(userID, connectionID, reconnectionToken)
	}
	return connectedMessage(userID, connectionID, reconnectionToken)
}
