package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Provider runs logins against one OpenID Connect provider. It is safe for concurrent use.
type Provider struct {
	cfg    Config
	opts   Options
	sealer *flowSealer
	disc   discovery[*endpoints]
}

// New checks the configuration and returns a Provider. It makes no network call; see the
// package doc for when discovery happens.
func New(cfg Config, opts Options) (*Provider, error) {
	cfg, opts, err := normalize(cfg, opts)
	if err != nil {
		return nil, err
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("oidc: RedirectURL: %w", err)
	}
	sealer, err := newFlowSealer(opts.CookieKey, redirect.Path, redirect.Scheme == "https")
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p := &Provider{cfg: cfg, opts: opts, sealer: sealer}
	p.disc.fetch, p.disc.now = p.discover, opts.Now
	return p, nil
}

// RedirectURL is the callback URL to register at the provider (Config.RedirectURL with its
// default applied).
func (p *Provider) RedirectURL() string { return p.cfg.RedirectURL }

// Start begins a login: it sets the flow cookie and redirects the browser to the provider. On
// error it has written nothing, and the error wraps ErrUnavailable.
func (p *Provider) Start(w http.ResponseWriter, r *http.Request) error {
	e, err := p.disc.get(r.Context())
	if err != nil {
		return fmt.Errorf("oidc start: %w", err)
	}
	f := flow{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Expires:  p.opts.Now().Add(flowTTL).Unix(),
	}
	if err := p.sealer.set(w, f); err != nil {
		return fmt.Errorf("oidc start: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, e.oauth.AuthCodeURL(f.State, gooidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
	return nil
}

// Callback completes a login when the provider redirects the browser back: it checks the state
// against the flow cookie (and deletes that cookie), exchanges the code with the flow's PKCE
// verifier, verifies the ID token and maps its claims. Its only output to w is cookies; the
// caller writes the response. Errors are described with the sentinels in errors.go.
func (p *Provider) Callback(w http.ResponseWriter, r *http.Request) (Identity, error) {
	q := r.URL.Query()
	f, flowErr := p.sealer.take(w, r, q.Get("state"), p.opts.Now())
	if code := q.Get("error"); code != "" {
		return Identity{}, fmt.Errorf("oidc callback: %w", &ProviderError{Code: code, Description: q.Get("error_description")})
	}
	if flowErr != nil {
		return Identity{}, fmt.Errorf("oidc callback: %w", flowErr)
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, fmt.Errorf("oidc callback: no code in the redirect: %w", ErrExchange)
	}
	e, err := p.disc.get(r.Context())
	if err != nil {
		return Identity{}, fmt.Errorf("oidc callback: %w", err)
	}
	ctx := gooidc.ClientContext(r.Context(), p.opts.HTTPClient)
	tok, err := e.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("oidc callback: exchange code: %w: %w", err, ErrExchange)
	}
	return p.verify(ctx, e.verifier, tok, f.Nonce)
}

// verify checks the ID token that came with tok and maps it to an Identity.
func (p *Provider) verify(ctx context.Context, v *gooidc.IDTokenVerifier, tok *oauth2.Token, nonce string) (Identity, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("oidc callback: token response has no id_token: %w", ErrInvalidToken)
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("oidc callback: verify ID token: %w: %w", err, ErrInvalidToken)
	}
	// go-oidc leaves the nonce to us. It is what ties this token to this browser's flow: a token
	// minted for another flow (replayed, or injected with its code) carries another nonce.
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, fmt.Errorf("oidc callback: ID token nonce does not match this login flow: %w", ErrInvalidToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("oidc callback: decode ID token claims: %w: %w", err, ErrInvalidToken)
	}
	id, err := p.identity(claims)
	if err != nil {
		return id, fmt.Errorf("oidc callback: %w", err) // id is filled in for ErrDenied only
	}
	return id, nil
}
