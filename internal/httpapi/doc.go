// Package httpapi is how huddle's HTTP APIs are written: routes declared with the least role and
// API key scope they need ([Route]), handlers that return their errors ([HandlerFunc]), one error
// type whose code decides the status ([Error]), bounded JSON reading and writing, and one
// function that turns an error into an answer ([ErrorWriter]).
//
// What it guarantees:
//
//   - An error answer tells the client only what was meant for it: an [*Error]'s message, a
//     [*ProtocolError]'s body, or, for anything else, 500 "internal error" while the cause goes
//     to the log.
//   - Every error answer is logged once, where it is written: failures of the server at error
//     level, clients' mistakes at info, a request without credentials at debug.
//   - JSON answers, errors included, are never cached and never sniffed as another type.
//   - A request body is read up to a stated limit (413 beyond it), as exactly one JSON object
//     without unknown fields (400 naming the field at fault).
package httpapi
