// Package oidc signs users in through an OpenID Connect provider (Microsoft Entra ID, Keycloak,
// Google, Dex, …) with the authorization code flow, PKCE and a nonce, and turns the verified ID
// token into an [Identity] with a huddle role. Apart from sign-in, an [AccessTokenVerifier] checks
// bearer tokens such a provider issued for an API (a service principal's client-credentials
// token), with the same discovery, key handling and go-oidc checks.
//
// The seam with the rest of huddle is two calls:
//
//	// GET /login/oidc
//	if err := p.Start(w, r); err != nil { /* show "single sign-on unavailable" */ }
//
//	// GET /login/oidc/callback
//	id, err := p.Callback(w, r)
//	// err == nil: upsert the user by (id.Issuer, id.Subject), give it id.Role, start a session.
//
// This package keeps no user store and no sessions; it only proves who came back from the
// provider. [Provider.Start] and [Provider.Callback] write nothing but the flow cookie (and the
// redirect, for Start), so the caller renders every page and maps the errors below to it.
//
// Guarantees:
//   - Callback returns an Identity only when the browser presents the flow cookie that Start set
//     for the state the provider echoed, within ten minutes of Start; the provider accepted the
//     code together with that flow's PKCE verifier (providers without PKCE ignore it; the nonce
//     still ties the token to the flow) and this client's credentials; and the ID token's
//     signature, issuer, audience (the client id), expiry and nonce all check out.
//   - The flow cookie is sealed with AES-GCM under a key derived from [Options.CookieKey], so it
//     can be neither read (its PKCE verifier stays secret) nor forged, and it is bound to its
//     state. It is HttpOnly, SameSite=Lax (the provider's redirect back is a cross-site top-level
//     GET), Secure when the redirect URL is https, scoped to the callback path, and deleted by
//     the callback that uses it. Each login has a cookie of its own, so logins started in
//     several tabs at once all complete.
//   - A flow can be completed once: the callback deletes its cookie, and the provider refuses to
//     exchange a code twice.
//   - Identity.Issuer and Identity.Subject are the only stable key of a person. Login, Name and
//     Email are what the provider says today; at many providers the user can change them, so
//     never match or link existing accounts by them.
//   - Errors are wrapped around the sentinels below (test with errors.Is) or are a
//     [*ProviderError] (errors.As). Their text is for logs: it never contains the code, the
//     tokens, the state, the nonce, the verifier or the client secret.
//
// Discovery is lazy, for sign-in and access tokens alike: [New] and [NewAccessTokenVerifier] make
// no network call, so huddle starts while the provider is down. The first Start, Callback or
// Verify fetches the discovery document; concurrent callers wait for that one attempt. A failed attempt is remembered for five seconds, during which logins fail at once with
// [ErrUnavailable] rather than queueing on a dead provider; the first login after that retries.
// Once discovery succeeds it is kept for the life of the Provider; signing keys are refetched by
// go-oidc whenever a token names a key it has not seen.
package oidc
