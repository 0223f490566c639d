// Package loadgen measures a Web PubSub server as BENCHMARKS.md records it: N subscribers on the JSON
// subprotocol (plain or reliable), or SignalR clients in the JSON or MessagePack hub protocol
// (negotiated and handshaken as the official client does, grouped and published to through the
// SignalR REST API), or, to compare with another server under the same generator, Centrifugo's
// JSON clients subscribed to a channel per group and its HTTP publish API; spread over G
// groups, a REST or WebSocket publisher at a chosen rate and message size, and as results the
// deliveries per second, end-to-end latency percentiles, loss and duplicates, and the server's
// memory per connection. An idle mode only opens and holds connections, for memory alone.
//
// What a report can be trusted for:
//   - Deliveries count only messages received, after a drain; loss and duplicates are counted
//     exactly, because every publisher worker numbers its messages per group and waits for
//     each to be accepted before the next, and the server keeps per-connection order.
//   - Measuring starts only once every subscriber has received a warm-up message in its group,
//     so a late join is never counted as loss.
//   - Latency runs from the publisher's clock at send to the subscriber's clock at receipt; both
//     are this process, so the figures hold only when it runs on the server's machine or a
//     clock-synchronised one.
//   - Memory per connection is the growth of the server's process_resident_memory_bytes (and
//     Go heap in use) between before connecting and after every connection was open (in idle
//     mode, at the end of the hold), read from its /metrics; it includes whatever else the
//     server allocated meanwhile.
//
// The generator is built to cost less than the server it measures: payloads are found in a
// frame by a byte search rather than a JSON decode, frames are read into reused buffers, and
// latencies go into a lock-free fixed-size histogram.
package loadgen
