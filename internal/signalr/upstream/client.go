package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Options configure a [Client]. The zero value works and sends nothing anywhere.
type Options struct {
	// Templates are the upstream settings in priority order: an event goes to the first that
	// matches. Each must pass [Template.Check].
	Templates []Template
	// Sign returns the X-ASRS-Signature value for a connection id: "sha256=<hex of
	// HMAC-SHA256(access key, connection id)>" per access key, comma-separated, which is what
	// accesskey.Keys.Signature returns. Nil sends none.
	Sign func(connectionID string) string
	// HTTPClient sends the requests. Nil means one of this package's own that keeps up to 64
	// idle connections per upstream host. Either way redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each request from start to the end of its answer. Zero means 30 s.
	Timeout time.Duration
	// RetryDelay is the wait before a failed connected or disconnected event is sent again; it
	// doubles for each of the three retries. Zero means 1 s.
	RetryDelay time.Duration
	// MaxEvents bounds the connected and disconnected events under way at once, their retries
	// included; one more is dropped and logged. Zero means 1000.
	MaxEvents int
	// Logger is told of dropped events and failed requests, once each. Nil discards.
	Logger *slog.Logger
}

const (
	defaultTimeout    = 30 * time.Second
	defaultRetryDelay = time.Second
	defaultMaxEvents  = 1000
	eventAttempts     = 4
	// maxAnswerBytes bounds what is read of an invocation's answer; huddle refuses client
	// messages over 1 MiB by default, so a larger Completion would not be sent to it either.
	maxAnswerBytes = 1 << 20
)

// Content types of upstream request bodies (the emulator's Constants.ContentTypes).
const (
	contentJSON        = "application/json"
	contentMessagePack = "application/x-msgpack"
)

// Protocols of a client connection, as the SignalR handshake names them.
const (
	ProtocolJSON        = "json"
	ProtocolMessagePack = "messagepack"
)

// Claim is one claim of a client connection, sent in X-ASRS-User-Claims.
type Claim struct{ Type, Value string }

// Conn is what the upstream learns about the client connection an event is about.
type Conn struct {
	Hub          string // lower-cased, as everywhere in huddle
	ConnectionID string
	UserID       string // "" for an anonymous connection: no X-ASRS-User-Id then
	Claims       []Claim
	// Query is the raw query of the client's connect request, without its '?'.
	Query string
}

// Invocation is a hub method invocation a client sent.
type Invocation struct {
	Target string
	// InvocationID is "" for a non-blocking invocation, which gets no Completion.
	InvocationID string
	// Protocol is the connection's: ProtocolJSON or ProtocolMessagePack.
	Protocol string
	// Payload is the client's invocation message in its protocol, without the framing (the
	// JSON record separator, or the MessagePack length prefix), as the emulator forwards it.
	Payload []byte
}

// Result is what the client must be sent for an invocation with an id.
type Result struct {
	// Frames, when not nil, is the upstream's answer, whole frames of the connection's
	// protocol (the trigger answers the Completion framed in it), to write to the client as
	// they are.
	Frames []byte
	// Error, when Frames is nil and Error is not "", is the error of the Completion to send.
	// Both empty mean a Completion without result.
	Error string
}

// Client sends the events of every hub to the matching upstreams. It is safe for concurrent use.
type Client struct {
	templates    []Template
	sign         func(string) string
	http         *http.Client
	ownTransport bool
	timeout      time.Duration
	retryDelay   time.Duration
	logger       *slog.Logger

	// slots holds one token per event under way.
	slots chan struct{}
	// ctx ends at Close, ending events still under way.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // orders spawn against Close, and guards connected
	closed bool
	wg     sync.WaitGroup
	// connected holds, per connection id, a channel closed when its connected event has ended,
	// so that its disconnected event never overtakes it.
	connected map[string]chan struct{}
}

// New returns a client of the upstreams in opts. Call Close when done.
func New(opts Options) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		templates:    opts.Templates,
		sign:         opts.Sign,
		http:         httpapi.WebhookClient(opts.HTTPClient),
		ownTransport: opts.HTTPClient == nil,
		timeout:      orDefault(opts.Timeout, defaultTimeout),
		retryDelay:   orDefault(opts.RetryDelay, defaultRetryDelay),
		logger:       opts.Logger,
		slots:        make(chan struct{}, orDefault(opts.MaxEvents, defaultMaxEvents)),
		ctx:          ctx,
		cancel:       cancel,
		connected:    make(map[string]chan struct{}),
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// orDefault returns v, or def when v is not positive.
func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Close stops taking events and waits for those under way, until ctx ends: then it ends them
// and returns ctx's error. Close may be called more than once.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.cancel()
	<-done
	if c.ownTransport {
		c.http.CloseIdleConnections()
	}
	return err
}

// route returns the URL of the first template that takes the event, or false.
func (c *Client) route(hub, category, event string) (string, bool) {
	for _, t := range c.templates {
		if t.matches(hub, category, event) {
			return t.expand(hub, category, event), true
		}
	}
	return "", false
}

// spawn runs fn in a goroutine that Close waits for, if Close has not been called and an event
// slot is free; it reports whether fn runs.
func (c *Client) spawn(conn Conn, event string, fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	select {
	case c.slots <- struct{}{}:
	default:
		c.logger.Warn("signalr upstream event dropped: too many events under way",
			"hub", conn.Hub, "event", event, "connection", conn.ConnectionID, "max", cap(c.slots))
		return false
	}
	c.wg.Go(func() {
		defer func() { <-c.slots }()
		fn()
	})
	return true
}

// connectedBody and the disconnected body are the emulator's OpenConnectionMessage and
// CloseConnectionMessage (HttpServerlessMessageHandler), property names included.
var connectedBody = []byte(`{"type":10}`)

func disconnectedBody(errMsg string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Type":11`)
	if errMsg != "" {
		b.WriteString(`,"Error":`)
		b.Write(jsonString(errMsg))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Connected sends the connections/connected event of conn in the background and returns at once.
func (c *Client) Connected(conn Conn) {
	u, ok := c.route(conn.Hub, CategoryConnections, EventConnected)
	if !ok {
		return
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.connected[conn.ConnectionID] = done
	c.mu.Unlock()
	if !c.spawn(conn, EventConnected, func() {
		defer close(done)
		c.sendEvent(conn, EventConnected, u, connectedBody)
	}) {
		close(done)
	}
}

// Disconnected sends the connections/disconnected event of conn in the background, after its
// connected event has ended, and returns at once. errMsg is why the connection closed, "" when
// it closed normally. Call it once for every connection, with or without a Connected before.
func (c *Client) Disconnected(conn Conn, errMsg string) {
	c.mu.Lock()
	prior := c.connected[conn.ConnectionID]
	delete(c.connected, conn.ConnectionID)
	c.mu.Unlock()
	u, ok := c.route(conn.Hub, CategoryConnections, EventDisconnected)
	if !ok {
		return
	}
	c.spawn(conn, EventDisconnected, func() {
		if prior != nil {
			select {
			case <-prior:
			case <-c.ctx.Done():
				return
			}
		}
		c.sendEvent(conn, EventDisconnected, u, disconnectedBody(errMsg))
	})
}

// sendEvent posts a connections event, retrying what may succeed later.
func (c *Client) sendEvent(conn Conn, event, u string, body []byte) {
	delay := c.retryDelay
	for attempt := 1; ; attempt++ {
		status, _, err := c.post(c.ctx, conn, CategoryConnections, event, u, contentJSON, body, false)
		if err == nil && status < 300 {
			return
		}
		transient := err != nil || status >= 500 || status == http.StatusTooManyRequests
		if !transient || attempt == eventAttempts || c.ctx.Err() != nil {
			c.logger.Warn("signalr upstream event failed", "hub", conn.Hub, "event", event,
				"connection", conn.ConnectionID, "url", withoutQuery(u), "status", status, "err", err, "attempts", attempt)
			return
		}
		select {
		case <-time.After(delay):
		case <-c.ctx.Done():
		}
		delay *= 2
	}
}

var errTooLarge = errors.New("answer over 1 MiB")

// Invoke sends a client's invocation to its upstream and waits for the answer, at most
// Options.Timeout. Call it beside the connection's reader, never on it. When inv has an id,
// the Result is what the client must be sent, also when no upstream takes the method, the
// upstream fails, or ctx ends; without one it is the zero Result, to be ignored.
func (c *Client) Invoke(ctx context.Context, conn Conn, inv Invocation) Result {
	u, ok := c.route(conn.Hub, CategoryMessages, inv.Target)
	if !ok {
		if inv.InvocationID == "" {
			return Result{}
		}
		return Result{Error: fmt.Sprintf("Invocation failed, no upstream is configured for the hub method '%s'.", inv.Target)}
	}
	contentType := contentJSON
	if inv.Protocol == ProtocolMessagePack {
		contentType = contentMessagePack
	}
	status, body, err := c.post(ctx, conn, CategoryMessages, inv.Target, u, contentType, inv.Payload, inv.InvocationID != "")
	res := invocationResult(inv, status, body, err)
	if ctx.Err() == nil && (err != nil || res.Error != "" || status >= 300) {
		c.logger.Warn("signalr upstream invocation failed", "hub", conn.Hub, "event", inv.Target,
			"connection", conn.ConnectionID, "url", withoutQuery(u), "status", status, "err", err, "completion", res.Error)
	}
	if inv.InvocationID == "" {
		return Result{}
	}
	return res
}

// invocationResult maps an upstream's answer to what the client gets, as the emulator's
// HttpServerlessMessageHandler.WriteMessageAsync does.
func invocationResult(inv Invocation, status int, body []byte, err error) Result {
	switch {
	case errors.Is(err, errTooLarge):
		return Result{Error: "Invocation failed, response too large."}
	case errors.Is(err, context.DeadlineExceeded):
		return Result{Error: "Invocation failed, the upstream did not answer in time."}
	case err != nil:
		return Result{Error: "Invocation failed, the upstream could not be reached."}
	case status == http.StatusNoContent || status == http.StatusOK && len(body) == 0:
		return Result{}
	case status == http.StatusOK:
		if err := checkFrames(inv.Protocol, body); err != nil {
			return Result{Error: "Invocation failed, the upstream's response is not a valid " + inv.Protocol + " message."}
		}
		return Result{Frames: body}
	default:
		return Result{Error: fmt.Sprintf("Invocation failed, status code %d", status)}
	}
}

// post sends one upstream request with the service's headers, and returns the answer's status
// and, when wantBody, its body.
func (c *Client) post(ctx context.Context, conn Conn, category, event, u, contentType string, body []byte, wantBody bool) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build upstream request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", contentType)
	// Spelled as the service spells them; Go would otherwise send X-Asrs-….
	h["X-ASRS-Connection-Id"] = []string{conn.ConnectionID}
	h["X-ASRS-Hub"] = []string{conn.Hub}
	h["X-ASRS-Category"] = []string{category}
	h["X-ASRS-Event"] = []string{event}
	if conn.UserID != "" {
		h["X-ASRS-User-Id"] = []string{conn.UserID}
	}
	if len(conn.Claims) > 0 {
		h["X-ASRS-User-Claims"] = []string{claimsHeader(conn.Claims)}
	}
	if conn.Query != "" {
		// The emulator sends ASP.NET Core's QueryString, which begins with '?'.
		h["X-ASRS-Client-Query"] = []string{"?" + conn.Query}
	}
	if c.sign != nil {
		if s := c.sign(conn.ConnectionID); s != "" {
			h["X-ASRS-Signature"] = []string{s}
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post to upstream: %w", err)
	}
	defer resp.Body.Close()
	if !wantBody {
		// Drained (within bounds) so that the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
		return resp.StatusCode, nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read upstream answer: %w", err)
	}
	if len(b) > maxAnswerBytes {
		return resp.StatusCode, nil, errTooLarge
	}
	return resp.StatusCode, b, nil
}

// claimsHeader writes claims as the emulator does: each .NET Claim.ToString() ("type: value"),
// joined as .NET joins a header's values (", "); the trigger's GetClaimDictionary splits them
// back. Characters a header cannot carry become spaces.
func claimsHeader(claims []Claim) string {
	parts := make([]string, len(claims))
	for i, cl := range claims {
		parts[i] = cl.Type + ": " + cl.Value
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.Join(parts, ", "))
}

// withoutQuery is u for the log: a Functions upstream carries its key in the query (?code=…).
func withoutQuery(u string) string {
	before, _, _ := strings.Cut(u, "?")
	return before
}
