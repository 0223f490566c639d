package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ErrNotValidated is the cause of every event refused because its handler URL has not passed
// abuse protection. The refusal itself is logged once per change, not with every event.
var ErrNotValidated = errors.New("the event handler has not passed abuse protection")

const (
	validationTimeout = 10 * time.Second
	// revalidateAfter is how long a success is trusted and the longest wait after a failure.
	revalidateAfter = time.Minute
	firstRetry      = time.Second
)

// gate is the abuse-protection state of one validation URL.
type gate struct {
	url  string
	done chan struct{} // closed when the first validation ends

	// mu guards the fields below; it is never held across a request.
	mu        sync.Mutex
	started   bool
	running   bool
	validated bool // a validation has ended, so allowed and reason are known
	allowed   bool
	reason    error         // why the last validation failed
	backoff   time.Duration // wait after the last failure; 0 after a success
	next      time.Time     // when the result is stale
}

// admit returns nil when events may go to g's handler, starting a validation when none has
// run or the last result is stale. Only the first validation is waited for.
func (c *Client) admit(ctx context.Context, g *gate) error {
	g.mu.Lock()
	if !g.running && (!g.started || !time.Now().Before(g.next)) {
		if c.spawn(func() { c.validate(g) }) {
			g.started, g.running = true, true
		} else if !g.started {
			g.mu.Unlock()
			return fmt.Errorf("%w: %s: the client is closed", ErrNotValidated, g.url)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.done:
	case <-ctx.Done():
		return fmt.Errorf("waiting for validation of %s: %w", g.url, context.Cause(ctx))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.allowed {
		return fmt.Errorf("%w: %s: %w", ErrNotValidated, g.url, g.reason)
	}
	return nil
}

// validate asks g's URL whether it accepts events, records the answer and says when to ask
// again.
func (c *Client) validate(g *gate) {
	ctx, cancel := context.WithTimeout(c.ctx, validationTimeout)
	defer cancel()
	status, err := c.probe(ctx, http.MethodOptions, g.url)
	if status == http.StatusNotFound {
		// Handlers that predate OPTIONS answer the same handshake on GET.
		_, err = c.probe(ctx, http.MethodGet, g.url)
	}

	g.mu.Lock()
	changed := !g.validated || g.allowed != (err == nil)
	if err == nil {
		g.backoff = 0
		g.next = time.Now().Add(revalidateAfter)
	} else {
		g.backoff = min(max(2*g.backoff, firstRetry), revalidateAfter)
		g.next = time.Now().Add(g.backoff)
	}
	first := !g.validated
	g.validated, g.allowed, g.reason, g.running = true, err == nil, err, false
	retry := g.backoff
	g.mu.Unlock()
	if first {
		close(g.done)
	}

	switch {
	case !changed || c.ctx.Err() != nil:
		// Unchanged results are not news, and validations cut short by Close are not failures.
	case err == nil:
		c.logger.Info("event handler validated", "hub", c.hub, "url", g.url)
	default:
		c.logger.Warn("event handler failed validation; no events go to it until it passes",
			"hub", c.hub, "url", g.url, "err", err, "retry", retry)
	}
}

// probe sends one validation request and returns its status and nil when the answer allows
// this service's origin.
func (c *Client) probe(ctx context.Context, method, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, fmt.Errorf("bad event handler URL: %w", err)
	}
	// No signature and no cookies: validation is about the URL, not a connection.
	req.Header["WebHook-Request-Origin"] = []string{c.origin}
	req.Header["ce-awpsversion"] = []string{"1.0"}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Drained so that the connection can be reused for the events that follow.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	if !success(resp.StatusCode) {
		return resp.StatusCode, fmt.Errorf("%s answered %d", method, resp.StatusCode)
	}
	if !allowsOrigin(resp.Header.Values("WebHook-Allowed-Origin"), c.origin) {
		return resp.StatusCode, fmt.Errorf("%s answered %d without a WebHook-Allowed-Origin of * or %s", method, resp.StatusCode, c.origin)
	}
	return resp.StatusCode, nil
}

// allowsOrigin reads WebHook-Allowed-Origin values, which may repeat and may each be a list.
func allowsOrigin(values []string, origin string) bool {
	for _, v := range values {
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o == "*" || strings.EqualFold(o, origin) {
				return true
			}
		}
	}
	return false
}
