package oidc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// discoveryTimeout bounds one attempt, whatever the HTTP client's own timeout.
	discoveryTimeout = 10 * time.Second
	// discoveryHoldOff is how long a failed attempt is remembered: callers in that window fail at
	// once instead of each waiting on a provider that is down.
	discoveryHoldOff = 5 * time.Second
)

// endpoints is what discovery yields for sign-in: everything needed to run a flow.
type endpoints struct {
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// discovery builds T from the provider's metadata on first use and keeps it. fetch and now must
// be set before the first get.
type discovery[T any] struct {
	fetch func(context.Context) (T, error)
	now   func() time.Time

	mu       sync.Mutex
	ready    T             // set once, by the first successful attempt
	done     bool          // ready is set
	inflight chan struct{} // closed when the attempt under way ends; nil when none is
	err      error         // the last failed attempt's error
	retryAt  time.Time     // no new attempt before this, after a failure
}

// get returns what discovery yields, running it if needed. Only one attempt runs at a time;
// callers that arrive meanwhile wait for its outcome (or for their own context).
func (d *discovery[T]) get(ctx context.Context) (T, error) {
	var zero T
	for {
		d.mu.Lock()
		if d.done {
			v := d.ready
			d.mu.Unlock()
			return v, nil
		}
		if wait := d.inflight; wait != nil {
			d.mu.Unlock()
			select {
			case <-wait:
				continue // read the outcome under the lock
			case <-ctx.Done():
				return zero, fmt.Errorf("wait for discovery: %w: %w", ctx.Err(), ErrUnavailable)
			}
		}
		if now := d.now(); d.err != nil && now.Before(d.retryAt) {
			err := d.err
			d.mu.Unlock()
			return zero, fmt.Errorf("%w (next attempt in %s): %w", err, d.retryAt.Sub(now).Round(time.Second), ErrUnavailable)
		}
		done := make(chan struct{})
		d.inflight = done
		d.mu.Unlock()

		// The attempt serves every waiter, so the caller's cancellation must not end it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
		v, err := d.fetch(actx)
		cancel()

		d.mu.Lock()
		d.ready, d.done, d.err, d.retryAt = v, err == nil, err, d.now().Add(discoveryHoldOff)
		d.inflight = nil
		close(done)
		d.mu.Unlock()
		if err != nil {
			return zero, fmt.Errorf("%w: %w", err, ErrUnavailable)
		}
		return v, nil
	}
}

// discover fetches the discovery document and builds the OAuth 2 client and ID token verifier.
func (p *Provider) discover(ctx context.Context) (*endpoints, error) {
	op, err := gooidc.NewProvider(gooidc.ClientContext(ctx, p.opts.HTTPClient), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", p.cfg.Issuer, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discover %s: read metadata: %w", p.cfg.Issuer, err)
	}
	endpoint := op.Endpoint()
	// Send the client's credentials the way the provider says it takes them. oauth2's default,
	// auto-detection, retries a refused exchange the other way, which presents the code twice:
	// the second refusal ("code already used") then hides the first one's reason.
	switch {
	case p.cfg.ClientSecret == "":
		endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client only names itself
	case len(meta.AuthMethods) == 0 || slices.Contains(meta.AuthMethods, "client_secret_basic"):
		endpoint.AuthStyle = oauth2.AuthStyleInHeader // the default when the field is absent
	case slices.Contains(meta.AuthMethods, "client_secret_post"):
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &endpoints{
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  p.cfg.RedirectURL,
			Scopes:       p.cfg.Scopes,
		},
		// The key set it creates fetches keys with the client in ctx, for the Provider's life.
		verifier: op.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID, Now: p.opts.Now}),
	}, nil
}
