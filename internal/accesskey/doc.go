// Package accesskey owns the service's shared secrets and every JSON Web Token the service signs
// or verifies: the access keys themselves, connection strings, Web PubSub client tokens, REST
// tokens, reconnection tokens of the reliable subprotocol and the
// ce-signature of event handler requests.
//
// Guarantees:
//   - Keys are used as the UTF-8 bytes of the key string, never base64-decoded, because that is
//     what every official SDK signs with.
//   - Verification accepts HS256 only. A token signed with "none", an asymmetric algorithm or
//     any other HMAC size is rejected before its signature is looked at, so a key can never be
//     used with an algorithm the caller did not intend.
//   - A token verifies when any configured key (primary or secondary) signed it, which lets
//     operators rotate keys without a flag day. New tokens are always signed with the primary.
//   - exp is required, nbf is honoured when present, and both allow five minutes of clock skew,
//     like the official emulator. iat is informational and not checked.
//   - Every rejection is a [*TokenError]; its text is written for the client and never carries
//     internal details, while the wrapping error adds context for logs. HTTP handlers map it to
//     401 with errors.AsType[*accesskey.TokenError].
//   - aud, role and webpubsub.group may be a string or an array of strings, because the .NET
//     SDK writes single values as strings and the JavaScript SDK writes arrays. Custom claims
//     are kept and can be forwarded to the connect event unchanged.
//
// Access tokens of an identity provider, which the REST API may also accept, are checked by
// internal/auth/oidc; [SignedWithKey] only tells the two kinds apart, by the algorithm a token
// names.
//
// Nothing here holds mutable state: [Keys] is a value, and every function takes the current
// time as an argument so callers and tests control the clock.
package accesskey
