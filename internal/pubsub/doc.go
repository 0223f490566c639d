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
//   - Messages are durable or ephemeral. Ephemeral ones are what clients publish to the groups
//     [Options.EphemeralGroup] names (the dashboard's pointers and presence); everything else is
//     durable. An ephemeral message that finds a connection's queue over its bounds
//     ([Limits.MaxQueuedFrames], [Limits.MaxQueuedBytes]) is dropped and counted in
//     huddle_messages_dropped_total.
//   - A connection that falls behind loses its ephemeral messages first. If durable messages still
//     do not fit, the connection is closed with [ClosePolicyViolation] rather than slowing anyone
//     else, and counted in huddle_slow_consumer_closes_total. A reliable connection may hold its
//     resend buffer besides the queue's bounds, and is closed the same way when either is full;
//     an acknowledgement beyond the last message written counts only up to that message.
//   - Reliable connections number their durable data messages from 1 and keep every
//     unacknowledged one, so a client that reconnects within the session window receives each
//     exactly once. Ephemeral messages carry no sequence id and are not kept for resend: one
//     that reaches a session while its client is away is lost. When the codec's clients count
//     messages instead of reading their ids (SignalR's stateful reconnect), only messages the
//     codec renders are numbered, so both sides count alike.
//
// The wire formats live in packages webpubsub and signalr and plug in through [Codec]; this package
// writes WebSocket frames itself so that batching and shared payloads need no copies per message
// in a third-party library.
package pubsub
