// Package upstream calls an app's Web PubSub event handlers: the connect, connected and
// disconnected system events and the user events of a hub, sent as CloudEvents 1.0 in HTTP
// binary mode, exactly as Azure Web PubSub sends them, so that @azure/web-pubsub-express and
// other handlers written for the cloud service work unchanged.
//
// Guarantees:
//   - Routing: an event goes to the first configured handler of the hub whose filter matches,
//     as in Azure, where the order of a hub's event handler settings is their priority. A
//     connect with no handler is accepted, a connected or disconnected with no handler is not
//     sent, and a user event with no handler is an error.
//   - Abuse protection: no event reaches a URL before the URL has agreed to receive events from
//     this service's origin (OPTIONS, or GET when OPTIONS is 404, answering 2xx with a
//     WebHook-Allowed-Origin of * or the origin). A URL is first validated at [Client.Start], or
//     else with its first event, and the events waiting for that first result wait at most 10 s.
//     From then on it is validated again in the background whether or not events come, one
//     minute after a success and after 1 s, 2 s, 4 s … up to one minute after failures, and events
//     never wait: they use the last answer. A validation without an answer (the handler is down
//     or slow) keeps the last answer, so a handler that restarts is not refused meanwhile. A
//     change of result is logged once; events to a refused URL fail with [ErrNotValidated].
//   - Redirects are never followed, so a validated URL cannot forward events to one that never
//     agreed to receive them.
//   - Bounded: every request ends when its context does or after [Options.Timeout]; an answer's
//     body is read up to 1 MiB and a larger one is an error, so a hostile handler can neither
//     hang the caller nor exhaust memory.
//   - Per connection ([Conn]): connect is event 0 and later events are numbered 1, 2, … in the
//     order of the calls; cookies set by any 2xx answer and the ce-connectionState set by a
//     connect or user event answer are sent with the connection's later events. A Conn may be
//     used by concurrent events.
//   - Replies are safe to forward: a user event reply is UTF-8 text, valid JSON in UTF-8 or
//     binary, and a connect answer's subprotocol is always one the client offered.
//
// Nothing is queued here: each call sends one request in the caller's goroutine, and the caller
// decides which events run concurrently. The only goroutines a [Client] starts are the loops
// that validate its URLs, and [Client.Close] stops them and waits for them.
package upstream
