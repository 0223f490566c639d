// Package pubsub is the protocol-neutral core of the real-time service: hubs, connections, users,
// groups, permissions and the fan-out that moves a message to every recipient.
//
// Guarantees:
//   - Encode once, write many: a message is rendered at most once per wire format, however many
//     connections receive it; recipients share the rendered bytes.
//   - Publishing never blocks on a subscriber. Each connection has a bounded outbound queue. A few
//     shared workers, which exist only while there is something to write, drain the queues with one
//     write call per connection per turn; a client too slow to take a write gets a goroutine of
//     its own until it catches up, so it never holds up the others.
//   - Per connection, messages are written in the order they were enqueued.
//   - A connection that falls behind loses its ephemeral messages first; if durable messages
//     still do not fit it is closed with [ClosePolicyViolation] rather than slowing anyone else.
//   - Reliable connections number their data messages from 1 and keep every unacknowledged one,
//     so a client that reconnects within the session window receives each message exactly once.
//
// Wire formats live elsewhere (webpubsub, signalr) and plug in through [Codec]; this package
// writes WebSocket frames itself so that batching and shared payloads need no copies per message
// in a third-party library.
package pubsub
