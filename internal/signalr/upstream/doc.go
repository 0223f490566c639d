// Package upstream calls a serverless SignalR app's upstream endpoints, as Azure SignalR
// Service does in serverless mode: the connections/connected and connections/disconnected
// events of a client connection, and the client's hub method invocations (messages/<target>),
// so that the Azure Functions SignalR trigger and other upstreams written for the cloud service
// work unchanged.
//
// Wire contract (Learn "Upstream endpoints", the SignalR emulator's HttpUpstreamTrigger and
// HttpServerlessMessageHandler in Azure/azure-signalr, and the Functions extension's
// SignalRRequestResolver in Azure/azure-sdk-for-net): a POST to the first matching template's
// URL carrying X-ASRS-Connection-Id, X-ASRS-Hub, X-ASRS-Category, X-ASRS-Event, X-ASRS-Signature
// and, when known, X-ASRS-User-Id, X-ASRS-User-Claims and X-ASRS-Client-Query. A connected
// event's body is {"type":10}, a disconnected one's {"Type":11,"Error":…}, both
// application/json; an invocation's body is the client's own invocation message without its
// framing, application/json or application/x-msgpack after the client's protocol. The answer to
// an invocation with an id is relayed to the client as the upstream framed it (the trigger
// answers the Completion in the client's protocol); an empty 200 or a 204 becomes a Completion
// without result, any other status an error Completion.
//
// Guarantees:
//   - Routing: an event goes to the first template whose hub, category and event patterns
//     match, as in Azure where the order of the templates is their priority. Hub and event
//     names match without regard to letter case, since hubs are lower-cased on entry and the
//     trigger dispatches without regard to case either.
//   - Never stalls the hub: [Client.Connected] and [Client.Disconnected] return at once; their
//     requests run in goroutines the Client owns, at most [Options.MaxEvents] at a time (an
//     event beyond that is dropped and logged). A connection's disconnected event is sent after
//     its connected event has ended. [Client.Invoke] blocks its caller only, never longer than
//     [Options.Timeout], and touches no state shared with other calls, so a hung upstream
//     delays only the invocations sent to it.
//   - Retries: a connected or disconnected event that fails to reach the upstream, times out or
//     gets a 5xx or 429 is sent again after [Options.RetryDelay], then twice that and four times
//     that; other answers are final. Invocations are never retried: the client waits for them,
//     and a hub method need not be idempotent.
//   - Bounded answers: an invocation's answer is read up to 1 MiB, and must be whole frames of
//     the client's protocol; otherwise the client gets an error Completion, so a faulty upstream
//     can never corrupt a client's stream.
//   - Redirects are never followed.
//   - [Client.Close] stops new events and waits for those under way.
package upstream
