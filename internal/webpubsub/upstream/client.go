package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Options configure a [Client]. The zero value works.
type Options struct {
	// HTTPClient sends the requests. Nil means a client of this package's own that keeps up to
	// 64 idle connections per handler host and refuses more than 64 KiB of answer headers.
	// Either way redirects are never followed.
	HTTPClient *http.Client
	// Origin is this service's host as apps know it, e.g. "127.0.0.1:8080": the
	// WebHook-Request-Origin of every request, which a handler may compare with its list of
	// allowed endpoints. Empty means "localhost": express refuses requests without one.
	Origin string
	// Sign returns the ce-signature value for events of a connection. Nil sends none
	// (express does not check it).
	Sign func(connectionID string) string
	// Timeout bounds each event from start to answer, validation wait included. Zero means 30 s.
	Timeout time.Duration
	// Logger is told about validation results and failed connected and disconnected events.
	// Nil discards.
	Logger *slog.Logger
}

const (
	defaultTimeout = 30 * time.Second
	// maxAnswerBytes bounds what is read of any answer's body.
	maxAnswerBytes = 1 << 20
)

// Client sends the events of one hub to its handlers. It is safe for concurrent use.
type Client struct {
	hub     string
	routes  []*route // in configured order: the first match wins
	http    *http.Client
	origin  string
	sign    func(string) string
	timeout time.Duration
	logger  *slog.Logger

	// ctx ends at Close; validations run under it.
	ctx    context.Context
	cancel context.CancelFunc
	// ownTransport is set when the transport is this client's alone, to be closed with it.
	ownTransport bool
	mu           sync.Mutex // orders spawn against Close so that no validation starts after Wait
	closed       bool
	wg           sync.WaitGroup
}

// New returns the client of hub's handlers, in priority order. Call Close when done.
func New(hub string, handlers []Handler, opts Options) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		hub:          hub,
		http:         httpapi.WebhookClient(opts.HTTPClient),
		ownTransport: opts.HTTPClient == nil,
		origin:       opts.Origin,
		sign:         opts.Sign,
		timeout:      opts.Timeout,
		logger:       opts.Logger,
		ctx:          ctx,
		cancel:       cancel,
	}
	if c.origin == "" {
		c.origin = "localhost"
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	// Handlers that resolve to one validation URL are one endpoint and share its verdict.
	gates := make(map[string]*gate)
	for _, h := range handlers {
		r := newRoute(hub, h)
		u := r.url("validate")
		if gates[u] == nil {
			gates[u] = &gate{url: u, done: make(chan struct{}), nudge: make(chan struct{}, 1), round: make(chan struct{})}
		}
		r.gate = gates[u]
		c.routes = append(c.routes, r)
	}
	return c
}

// Close stops validating and waits for validations under way to end. Events to a URL that has a result
// still use it; events to one never validated fail. Close may be called more than once.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	if c.ownTransport {
		c.http.CloseIdleConnections()
	}
}

// spawn runs fn in a goroutine that Close waits for, unless Close has been called.
func (c *Client) spawn(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Go(fn)
	return true
}

// HasConnect reports whether a handler takes the connect event. Without one a connection is
// accepted as its token says, so callers can skip building the [ConnectRequest].
func (c *Client) HasConnect() bool { return c.systemRoute("connect") != nil }

// Wants reports whether a handler takes user event name.
func (c *Client) Wants(name string) bool { return c.userRoute(name) != nil }

func (c *Client) systemRoute(name string) *route {
	for _, r := range c.routes {
		if r.wantsSystem(name) {
			return r
		}
	}
	return nil
}

func (c *Client) userRoute(name string) *route {
	for _, r := range c.routes {
		if r.wantsUser(name) {
			return r
		}
	}
	return nil
}

// ConnectRequest is what the connect handler learns about a client. The caller leaves the
// access token out of Query and the Authorization header out of Headers. Nil maps and slices
// are sent as empty ones.
type ConnectRequest struct {
	Claims       map[string][]string
	Query        map[string][]string
	Headers      map[string][]string
	Subprotocols []string // offered by the client, in its order
}

// ConnectResponse is what an accepting connect handler chose; a field it did not set is nil or
// "". How the choices combine with the token's is the caller's decision.
type ConnectResponse struct {
	UserID *string  `json:"userId"`
	Groups []string `json:"groups"`
	Roles  []string `json:"roles"`
	// Subprotocol, when set, is one the client offered: Connect fails otherwise.
	Subprotocol string `json:"subprotocol"`
}

// RejectError is a connect handler's refusal. The caller answers the client's upgrade request
// with it, so that the client sees what the app said.
type RejectError struct {
	Status      int
	Body        []byte
	ContentType string // as the handler sent it, possibly ""
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("the connect event handler refused the connection with status %d", e.Status)
}

// Connect asks the connect handler whether to accept a client and waits for the answer. A
// refusal is a [*RejectError]; any other error (unreachable, not validated, timed out, an
// unreadable answer) means the handler could not decide and the client should get a 500. With
// no connect handler the connection is accepted unchanged.
func (c *Client) Connect(ctx context.Context, conn *Conn, req ConnectRequest) (*ConnectResponse, error) {
	r := c.systemRoute("connect")
	if r == nil {
		return &ConnectResponse{}, nil
	}
	a, err := c.send(ctx, conn, r, cloudEvent{
		typ: "azure.webpubsub.sys.connect", name: "connect", id: 0,
		contentType: "application/json", body: connectBody(req), blocking: true,
	})
	if err != nil {
		return nil, fmt.Errorf("connect event: %w", err)
	}
	if !success(a.status) {
		return nil, &RejectError{Status: a.status, Body: a.body, ContentType: a.header.Get("Content-Type")}
	}
	res, err := parseConnectAnswer(a.body, req.Subprotocols)
	if err != nil {
		return nil, fmt.Errorf("connect event: %w", err)
	}
	return res, nil
}

// Connected tells the handler that a connection it accepted is open. Nothing comes back: a
// failure is logged here.
func (c *Client) Connected(ctx context.Context, conn *Conn) {
	c.notify(ctx, conn, "connected", []byte("{}"))
}

// Disconnected tells the handler that a connection has closed, and why when reason is set.
// Nothing comes back: a failure is logged here.
func (c *Client) Disconnected(ctx context.Context, conn *Conn, reason string) {
	c.notify(ctx, conn, "disconnected", disconnectedBody(reason))
}

func (c *Client) notify(ctx context.Context, conn *Conn, name string, body []byte) {
	r := c.systemRoute(name)
	if r == nil {
		return
	}
	a, err := c.send(ctx, conn, r, cloudEvent{
		typ: "azure.webpubsub.sys." + name, name: name, id: conn.nextID(),
		contentType: "application/json", body: body,
	})
	switch {
	case errors.Is(err, ErrNotValidated):
		// Logged once by the validation rather than with every event.
	case err != nil:
		c.logger.Warn("event not delivered", "hub", c.hub, "event", name, "conn", conn.ConnectionID, "err", err)
	case !success(a.status):
		c.logger.Warn("event handler answered with an error status", "hub", c.hub, "event", name, "conn", conn.ConnectionID, "status", a.status)
	}
}

// UserEvent sends user event name with a body of contentType (text/plain, application/json or
// application/octet-stream) and waits for the answer. The reply is nil when the handler has
// nothing to send back (204, or 2xx with an empty body). A non-2xx answer, a reply of another
// content type or invalid JSON, and every failure to get an answer are errors.
func (c *Client) UserEvent(ctx context.Context, conn *Conn, name, contentType string, body []byte) (*Reply, error) {
	r := c.userRoute(name)
	if r == nil {
		return nil, fmt.Errorf("user event %q: no event handler takes it", name)
	}
	a, err := c.send(ctx, conn, r, cloudEvent{
		typ: "azure.webpubsub.user." + name, name: name, id: conn.nextID(),
		contentType: contentType, body: body, blocking: true,
	})
	if err != nil {
		return nil, fmt.Errorf("user event %q: %w", name, err)
	}
	if !success(a.status) {
		return nil, fmt.Errorf("user event %q: the event handler answered %d", name, a.status)
	}
	reply, err := parseReply(a.header.Get("Content-Type"), a.body)
	if err != nil {
		return nil, fmt.Errorf("user event %q: %w", name, err)
	}
	return reply, nil
}

// cloudEvent is one event on its way to a handler.
type cloudEvent struct {
	typ, name   string
	id          uint64
	contentType string
	body        []byte
	// blocking events (connect, user events) keep the caller waiting for the answer, and only
	// their answers may change the connection state.
	blocking bool
}

// answer is a handler's 2xx or non-2xx response, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func success(status int) bool { return status >= 200 && status <= 299 }

// send delivers ev to r's handler once r's URL has passed validation.
func (c *Client) send(ctx context.Context, conn *Conn, r *route, ev cloudEvent) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.admit(ctx, r.gate); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url(ev.name), bytes.NewReader(ev.body))
	if err != nil {
		return nil, fmt.Errorf("bad event handler URL: %w", err)
	}
	c.setHeaders(req, conn, ev)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readAnswer(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("answer of %s: %w", req.URL.Redacted(), err)
	}
	if success(resp.StatusCode) {
		conn.remember(req.URL, resp.Header, ev.blocking)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

const headerState = "ce-connectionState"

func (c *Client) setHeaders(req *http.Request, conn *Conn, ev cloudEvent) {
	state, cookies := conn.outgoing(req.URL)
	// Keys go on the wire spelt as the service spells them rather than canonicalised: HTTP
	// does not care, but a handler that looks them up case-sensitively would.
	h := req.Header
	set := func(k, v string) {
		if v != "" {
			h[k] = []string{v}
		}
	}
	set("Content-Type", ev.contentType)
	set("ce-specversion", "1.0")
	set("ce-awpsversion", "1.0")
	set("ce-type", ev.typ)
	set("ce-source", "/hubs/"+c.hub+"/client/"+conn.ConnectionID)
	set("ce-id", strconv.FormatUint(ev.id, 10))
	set("ce-time", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	set("ce-hub", c.hub)
	set("ce-connectionId", conn.ConnectionID)
	set("ce-eventName", ev.name)
	set("ce-userId", conn.UserID)
	set("ce-subprotocol", conn.Subprotocol)
	set(headerState, state)
	if c.sign != nil {
		set("ce-signature", c.sign(conn.ConnectionID))
	}
	set("WebHook-Request-Origin", c.origin)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
}

func readAnswer(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAnswerBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAnswerBytes {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxAnswerBytes)
	}
	return b, nil
}
