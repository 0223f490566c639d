// Package odata parses and evaluates the OData filter subset that the Azure Web
// PubSub data-plane REST API accepts in its filter parameter (send to all, to a
// user or to a group, :addToGroups and :removeFromGroups), as described by
// Microsoft's "OData filter syntax in Azure Web PubSub service".
//
// A filter is compiled once by [Parse] and then evaluated by [Filter.Match]
// against each candidate connection. The package guarantees:
//
//   - Every error from Parse is a [*SyntaxError] whose message is meant for the
//     REST caller: it names the offending token, identifier or type and gives
//     the byte offset where it starts.
//   - Types are checked at Parse time: every identifier has a fixed type, so a
//     Filter that parses yields a boolean for every connection, and Match
//     cannot fail or panic.
//   - Input is bounded: at most [MaxLength] bytes, [MaxClauses] clauses and
//     [MaxDepth] levels of nesting, so neither parsing nor evaluation can be
//     driven into deep recursion or unbounded work.
//   - A Filter is immutable and safe for concurrent use.
//   - Match does not allocate, except for concat of two non-empty values,
//     tolower or toupper applied to the result of another, and startswith,
//     endswith, contains, indexof or trim applied to a tolower or toupper
//     result whose case actually changes. Parts of a filter that do not
//     depend on the connection are evaluated once, at Parse time.
//
// Values compare case-sensitively. Microsoft's identifier table calls userId,
// connectionId and groups "case insensitive", but its own example, in which
// tolower(userId) eq 'user1' is needed to match user USER1, only makes sense
// if eq is case-sensitive, and the emulator's tests assert that
// userId eq 'a' does not match user A. The note is therefore taken to apply
// to the identifier names, which match in any case (UserID eq 'a'), as in the
// emulator. Keywords, literals and function names are lower-case only, as in
// the OData parser the service is built on.
//
// Where Microsoft's page is silent, behaviour follows the official Web PubSub
// emulator, which the service team wrote to mimic the service: a connection
// without a user has a null userId; gt, ge, lt and le compare integers only;
// string functions map null to null, and substring maps an out-of-range index
// to null; comparisons with null are false except eq and ne; values of
// different types are never equal. Lengths and indexes count Unicode code
// points where the .NET-based emulator counts UTF-16 code units; they differ
// only for characters outside the Basic Multilingual Plane.
package odata
