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
	// nudge asks the validation loop, while the URL is refused, to validate now rather than at
	// the end of its back-off: an app that started after huddle is then trusted at its first
	// client's connect, not up to a minute later.
	nudge chan struct{}

	// mu guards the fields below; it is never held across a request.
	mu         sync.Mutex
	watched    bool // its validation loop has started
	validated  bool // a validation has set allowed and reason: the first one, or one answered
	allowed    bool
	reason     error         // why the last answer refused
	backoff    time.Duration // wait after the last failure; 0 after a success
	unanswered bool          // the last validation got no answer: the handler is down or slow
	round      chan struct{} // closed when the validation under way (or the next) ends
	last       time.Time     // when the last validation began
}

// Start validates every handler URL of the hub now, and keeps them validated until Close, so
// that the events that follow find a result rather than wait for one. Without Start, a URL's
// validation starts with its first event. Start may be called more than once.
func (c *Client) Start() {
	for _, r := range c.routes {
		c.watch(r.gate)
	}
}

// watch starts g's validation loop unless it runs already, and reports whether it runs: it does
// not once Close has been called.
func (c *Client) watch(g *gate) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.watched {
		g.watched = c.spawn(func() { c.keepValidated(g) })
	}
	return g.watched
}

// admit returns nil when events may go to g's handler. The first validation of g is waited
// for; later ones run on their own schedule and events use the last result, except that an
// event finding the URL refused for want of an answer (the handler was down, as an app started
// after huddle is) has it validated again at once (at most once a second) and waits for that
// answer.
func (c *Client) admit(ctx context.Context, g *gate) error {
	if !c.watch(g) {
		return fmt.Errorf("%w: %s: the client is closed", ErrNotValidated, g.url)
	}
	waited := false
	select {
	case <-g.done:
	default:
		waited = true
		select {
		case <-g.done:
		case <-ctx.Done():
			return fmt.Errorf("waiting for validation of %s: %w", g.url, context.Cause(ctx))
		}
	}
	g.mu.Lock()
	allowed, reason, round := g.allowed, g.reason, g.round
	// Asked again only when the last validation got no answer, and not for an event that has
	// just waited for one: a handler that answered and refused would refuse again, and one event
	// waits for one validation at most.
	again := !allowed && g.unanswered && !waited && c.ctx.Err() == nil
	g.mu.Unlock()
	switch {
	case allowed:
		return nil
	case !again:
		return fmt.Errorf("%w: %s: %w", ErrNotValidated, g.url, reason)
	}
	select {
	case g.nudge <- struct{}{}:
	default: // asked already
	}
	select {
	case <-round:
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

// keepValidated validates g's URL until Close: a minute after a success, and after 1 s, 2 s,
// 4 s … up to a minute after failures, whether or not events come, so that a handler that was
// down is trusted again once it is up, before any event needs it.
func (c *Client) keepValidated(g *gate) {
	for {
		t := time.NewTimer(c.validate(g))
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-g.nudge:
			t.Stop()
			// A refused URL is asked again at most once per firstRetry, however many events
			// find it refused.
			g.mu.Lock()
			wait := firstRetry - time.Since(g.last)
			g.mu.Unlock()
			if wait > 0 {
				t = time.NewTimer(wait)
				select {
				case <-c.ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
	}
}

// validate asks g's URL whether it accepts events, records the answer and returns how long to
// wait before asking again. A validation that got no answer (the handler is down or slow)
// changes nothing but that wait, except the first, which must end the events' wait: the last
// answer stands, so a handler that restarts is not refused meanwhile.
func (c *Client) validate(g *gate) time.Duration {
	ctx, cancel := context.WithTimeout(c.ctx, validationTimeout)
	defer cancel()
	status, err := c.probe(ctx, http.MethodOptions, g.url)
	if status == http.StatusNotFound {
		// Handlers that predate OPTIONS answer the same handshake on GET.
		status, err = c.probe(ctx, http.MethodGet, g.url)
	}

	g.mu.Lock()
	wait := revalidateAfter
	if err == nil {
		g.backoff = 0
	} else {
		g.backoff = min(max(2*g.backoff, firstRetry), revalidateAfter)
		wait = g.backoff
	}
	first := !g.validated
	record := status != 0 || first
	changed := record && (first || g.allowed != (err == nil))
	if record {
		g.validated, g.allowed, g.reason = true, err == nil, err
	}
	g.unanswered = status == 0 && err != nil
	g.last = time.Now()
	ended := g.round
	g.round = make(chan struct{})
	g.mu.Unlock()

	// Logged before the waiting events learn the result, so that the log tells the cause first.
	switch {
	case !changed || c.ctx.Err() != nil:
		// Unchanged results are not news, and validations cut short by Close are not failures.
	case err == nil:
		c.logger.Info("event handler validated", "hub", c.hub, "url", g.url)
	default:
		c.logger.Warn("event handler failed validation; no events go to it until it passes",
			"hub", c.hub, "url", g.url, "err", err, "retry", wait)
	}
	if first {
		close(g.done)
	}
	close(ended)
	return wait
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
