package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
)

// This file is the Web PubSub side of a run: how subscribers connect and join, what a
// subscriber answers, and the two kinds of publisher.

// restAPIVersion is the version @azure/web-pubsub 1.2.0 sends.
const restAPIVersion = "2024-12-01"

// ackTimeout bounds the wait for a client publisher's ack or a joinGroup ack.
const ackTimeout = 30 * time.Second

// groupName is the name of group g on the server.
func groupName(g int) string { return "bench-" + strconv.Itoa(g) }

// tokenCache signs each distinct token once: subscribers of one group share a token, as
// every request to one group's REST path can, so ten thousand connections cost a handful of
// signatures.
type tokenCache struct {
	key    string
	mu     sync.Mutex
	tokens map[string]string
}

// token signs, or returns the cached, token for aud with claims. A token outlives the run:
// its expiry is a day away.
func (t *tokenCache) token(aud string, claims accesskey.ClientClaims) (string, error) {
	cacheKey := aud + "\x00" + strings.Join(claims.Roles, ",") + "\x00" + strings.Join(claims.Groups, ",")
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok, ok := t.tokens[cacheKey]; ok {
		return tok, nil
	}
	now := time.Now()
	claims.Expires = now.Add(24 * time.Hour)
	// A REST token has the same claims as a client token without sub, role and groups (aud,
	// iat, exp), so one signer serves both.
	tok, err := accesskey.Keys{Primary: t.key}.SignClientToken(aud, claims, now)
	if err != nil {
		return "", err
	}
	if t.tokens == nil {
		t.tokens = make(map[string]string)
	}
	t.tokens[cacheKey] = tok
	return tok, nil
}

// clientURL is the WebSocket URL of the hub with an access token for claims.
func (r *runner) clientURL(claims accesskey.ClientClaims) (string, error) {
	path := "/client/hubs/" + r.cfg.Hub
	tok, err := r.tokens.token(r.cfg.URL+path, claims)
	if err != nil {
		return "", err
	}
	ws := "ws" + strings.TrimPrefix(r.cfg.URL, "http")
	return ws + path + "?access_token=" + url.QueryEscape(tok), nil
}

// dialSubscriber connects subscriber i and puts it in group g; it returns once the server
// confirmed the connection (and the join, when joining by message).
func (r *runner) dialSubscriber(ctx context.Context, i, g int) (*subscriber, error) {
	switch {
	case r.cfg.signalR():
		return r.dialSignalRSubscriber(ctx, i, g)
	case r.cfg.centrifugo():
		return r.dialCentrifugoSubscriber(ctx, i, g)
	}
	claims := accesskey.ClientClaims{}
	if r.cfg.Join == "token" {
		claims.Groups = []string{groupName(g)}
	} else {
		claims.Roles = []string{"webpubsub.joinLeaveGroup"}
	}
	u, err := r.clientURL(claims)
	if err != nil {
		return nil, err
	}
	ws, resp, err := r.dialer(i).DialContext(ctx, u, nil)
	if err != nil {
		return nil, dialError(resp, err)
	}
	if err := r.handshake(ws, g, r.cfg.Join == "message"); err != nil {
		_ = ws.Close()
		return nil, err
	}
	return &subscriber{ws: ws, group: g, next: make([]uint64, r.cfg.Publishers), ackedAt: time.Now()}, nil
}

// dialError adds the server's answer to a failed upgrade, which says why (a bad token, …).
func dialError(resp *http.Response, err error) error {
	if resp == nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_ = resp.Body.Close()
	return fmt.Errorf("%w: %s %s", err, resp.Status, bytes.TrimSpace(body))
}

// handshake waits for the connected message and, when join is set, joins group g.
func (r *runner) handshake(ws *websocket.Conn, g int, join bool) error {
	_ = ws.SetReadDeadline(time.Now().Add(ackTimeout))
	defer func() { _ = ws.SetReadDeadline(time.Time{}) }()
	if _, err := readUntil(ws, func(m downstream) bool { return m.Type == "system" && m.Event == "connected" }); err != nil {
		return fmt.Errorf("wait for the connected message: %w", err)
	}
	if !join {
		return nil
	}
	req := fmt.Sprintf(`{"type":"joinGroup","group":%q,"ackId":1}`, groupName(g))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		return fmt.Errorf("join group: %w", err)
	}
	ack, err := readUntil(ws, func(m downstream) bool { return m.Type == "ack" && m.AckID == 1 })
	if err != nil {
		return fmt.Errorf("join group: %w", err)
	}
	return ack.failure()
}

// downstream is the part of a server message the handshake and client publishers read.
type downstream struct {
	Type    string `json:"type"`
	Event   string `json:"event"`
	AckID   uint64 `json:"ackId"`
	Success bool   `json:"success"`
	Error   *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
}

func (m downstream) failure() error {
	if m.Success {
		return nil
	}
	if m.Error == nil {
		return errors.New("ack without success")
	}
	return fmt.Errorf("ack error %s: %s", m.Error.Name, m.Error.Message)
}

// readUntil reads messages until one satisfies match; it is only used where messages are
// few (handshakes, acks), so it decodes each in full.
func readUntil(ws *websocket.Conn, match func(downstream) bool) (downstream, error) {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return downstream{}, err
		}
		var m downstream
		if err := json.Unmarshal(data, &m); err != nil {
			return downstream{}, fmt.Errorf("invalid message from server: %w", err)
		}
		if match(m) {
			return m, nil
		}
	}
}

// ackEvery and ackInterval pace a reliable subscriber's sequenceAck like the official SDK
// (every second), and sooner when many messages arrive, far below the server's resend buffer
// of 1,000 messages.
const (
	ackEvery    = 256
	ackInterval = time.Second
)

const sequenceIDField = `"sequenceId":`

// afterFrame acknowledges a reliable subscriber's messages now and then.
func (r *runner) afterFrame(s *subscriber, now time.Time) error {
	switch {
	case r.cfg.signalR():
		return r.signalRPing(s, now)
	case r.cfg.centrifugo():
		return centrifugoAnswerPing(s)
	}
	if r.cfg.Protocol != ProtocolReliableJSON {
		return nil
	}
	if i := bytes.LastIndex(s.buf, []byte(sequenceIDField)); i >= 0 {
		if seq, err := strconv.ParseUint(string(bytes.TrimRight(s.buf[i+len(sequenceIDField):], "} \n")), 10, 64); err == nil && seq > s.seq {
			s.seq = seq
		}
	}
	if s.seq == s.acked || (s.seq-s.acked < ackEvery && now.Sub(s.ackedAt) < ackInterval) {
		return nil
	}
	s.acked, s.ackedAt = s.seq, now
	msg := strconv.AppendUint([]byte(`{"type":"sequenceAck","sequenceId":`), s.seq, 10)
	if err := s.ws.WriteMessage(websocket.TextMessage, append(msg, '}')); err != nil {
		return fmt.Errorf("sequenceAck: %w", err)
	}
	return nil
}

// newPublisher makes publisher worker w.
func (r *runner) newPublisher(ctx context.Context, w int) (publisher, error) {
	switch {
	case r.cfg.signalR():
		return &signalRPublisher{r: r}, nil
	case r.cfg.centrifugo():
		return &centrifugoPublisher{r: r, url: r.cfg.URL + "/api/publish"}, nil
	case r.cfg.Publisher == "rest":
		return r.newRESTPublisher()
	}
	return r.newClientPublisher(ctx, w)
}

// restPublisher sends with the data-plane REST API, signed like @azure/web-pubsub: a Bearer
// token whose aud is the request URL.
type restPublisher struct {
	client *http.Client
	urls   []string // per group
	tokens []string // per group
}

func (r *runner) newRESTPublisher() (*restPublisher, error) {
	p := &restPublisher{client: r.http}
	for g := range r.cfg.Groups {
		u := fmt.Sprintf("%s/api/hubs/%s/groups/%s/:send?api-version=%s", r.cfg.URL, url.PathEscape(r.cfg.Hub), url.PathEscape(groupName(g)), restAPIVersion)
		tok, err := r.tokens.token(u, accesskey.ClientClaims{})
		if err != nil {
			return nil, err
		}
		p.urls = append(p.urls, u)
		p.tokens = append(p.tokens, tok)
	}
	return p, nil
}

func (p *restPublisher) publish(ctx context.Context, g int, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.urls[g], bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+p.tokens[g])
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

func (p *restPublisher) close() {}

// clientPublisher sends sendToGroup on its own WebSocket and waits for each ack.
type clientPublisher struct {
	ws    *websocket.Conn
	ackID uint64
	buf   []byte
}

func (r *runner) newClientPublisher(ctx context.Context, w int) (*clientPublisher, error) {
	u, err := r.clientURL(accesskey.ClientClaims{UserID: "bench-publisher-" + strconv.Itoa(w), Roles: []string{"webpubsub.sendToGroup"}})
	if err != nil {
		return nil, err
	}
	ws, resp, err := r.dialer(r.cfg.Subscribers+w).DialContext(ctx, u, nil)
	if err != nil {
		return nil, dialError(resp, err)
	}
	if err := r.handshake(ws, 0, false); err != nil {
		_ = ws.Close()
		return nil, err
	}
	return &clientPublisher{ws: ws}, nil
}

func (p *clientPublisher) publish(_ context.Context, g int, payload []byte) error {
	p.ackID++
	// The payload needs no escaping inside a JSON string (see payloadMagic).
	b := append(p.buf[:0], `{"type":"sendToGroup","group":"`...)
	b = append(b, groupName(g)...)
	b = append(b, `","ackId":`...)
	b = strconv.AppendUint(b, p.ackID, 10)
	b = append(b, `,"dataType":"text","data":"`...)
	b = append(b, payload...)
	b = append(b, `"}`...)
	p.buf = b
	if err := p.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return err
	}
	_ = p.ws.SetReadDeadline(time.Now().Add(ackTimeout))
	id := p.ackID
	ack, err := readUntil(p.ws, func(m downstream) bool { return m.Type == "ack" && m.AckID == id })
	if err != nil {
		return err
	}
	return ack.failure()
}

func (p *clientPublisher) close() {
	_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench over"), time.Now().Add(time.Second))
	_ = p.ws.Close()
}
