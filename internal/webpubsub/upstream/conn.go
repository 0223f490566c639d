package upstream

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
)

// Conn is what every event of one client connection carries. The caller fills in the exported
// fields before the connection's first event and, once connect has answered, may change
// UserID and Subprotocol before any later event is under way; the rest is kept here.
type Conn struct {
	ConnectionID string
	UserID       string // "" for an anonymous connection: no ce-userId header
	Subprotocol  string // "" for a simple WebSocket client: no ce-subprotocol header

	mu     sync.Mutex
	lastID uint64 // ce-id of the last event after connect
	state  string // ce-connectionState as the handler last set it
	// jar keeps handler cookies by domain and path, as a browser would; nil until the first one.
	jar *cookiejar.Jar
}

// nextID numbers the events after connect, which is always 0, so that the ids a handler sees
// do not depend on whether connect is handled at all (as in the official emulator).
func (c *Conn) nextID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastID++
	return c.lastID
}

// outgoing returns the state and cookies to send with an event to u.
func (c *Conn) outgoing(u *url.URL) (string, []*http.Cookie) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jar == nil {
		return c.state, nil
	}
	return c.state, c.jar.Cookies(u)
}

// remember keeps what a 2xx answer from u set: its cookies and, for the blocking events that
// may change it, the connection state.
func (c *Conn) remember(u *url.URL, h http.Header, mayChangeState bool) {
	cookies := (&http.Response{Header: h}).Cookies()
	states := h.Values(headerState)
	if len(cookies) == 0 && (!mayChangeState || len(states) == 0) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(cookies) > 0 {
		if c.jar == nil {
			// New never fails with nil options. No public suffix list is needed: the only
			// sites here are the hub's own handlers.
			c.jar, _ = cookiejar.New(nil)
		}
		c.jar.SetCookies(u, cookies)
	}
	if mayChangeState && len(states) > 0 {
		// The header is meant to come once; a repeated one must not fail the event, so the
		// last value wins, as in the official emulator.
		c.state = states[len(states)-1]
	}
}
