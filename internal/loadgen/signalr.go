package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
)

// This file is the SignalR (serverless) side of a run: subscribers connect as @microsoft/signalr
// does (negotiate, WebSocket, handshake) and join their group through the SignalR REST API,
// which also publishes. The payload travels as the one string argument of an invocation; a
// string is written verbatim in both the JSON and the MessagePack hub protocols, so the same
// byte search finds it.

// Hub protocols of a SignalR run.
const (
	ProtocolSignalRJSON        = "signalr-json"
	ProtocolSignalRMessagePack = "signalr-messagepack"
)

// signalRAPIVersion is the SignalR REST API version the Management SDK sends.
const signalRAPIVersion = "2022-06-01"

// signalRTarget is the client method the publisher invokes.
const signalRTarget = "bench"

// signalRPingEvery is how often a subscriber at most answers with a Ping: the server drops a
// client silent for 30 s and pings every 15 s, and a subscriber only writes on receipt.
const signalRPingEvery = 10 * time.Second

var (
	signalRPingJSON        = []byte("{\"type\":6}\x1e")
	signalRPingMessagePack = []byte{0x02, 0x91, 0x06} // length 2, [6]
)

func (c Config) signalR() bool {
	return c.Protocol == ProtocolSignalRJSON || c.Protocol == ProtocolSignalRMessagePack
}

// signalRToken is the client token of the hub, signed as the server SDK signs it: aud is the
// client endpoint without the port.
func (r *runner) signalRToken() (string, error) {
	u, err := url.Parse(r.cfg.URL)
	if err != nil {
		return "", err
	}
	return r.tokens.token(u.Scheme+"://"+u.Hostname()+"/client/?hub="+url.QueryEscape(r.cfg.Hub), accesskey.ClientClaims{})
}

// dialSignalRSubscriber negotiates, opens the WebSocket, completes the handshake and puts the
// connection in group g.
func (r *runner) dialSignalRSubscriber(ctx context.Context, i, g int) (*subscriber, error) {
	tok, err := r.signalRToken()
	if err != nil {
		return nil, err
	}
	neg, err := r.negotiate(ctx, tok)
	if err != nil {
		return nil, err
	}
	q := url.Values{"hub": {r.cfg.Hub}, "id": {neg.ConnectionToken}, "access_token": {tok}}
	u := "ws" + r.cfg.URL[len("http"):] + "/client/?" + q.Encode()
	ws, resp, err := r.dialer(i).DialContext(ctx, u, nil)
	if err != nil {
		return nil, dialError(resp, err)
	}
	s := &subscriber{ws: ws, group: g, next: make([]uint64, r.cfg.Publishers), ackedAt: time.Now()}
	if err := r.signalRHandshake(ws); err != nil {
		_ = ws.Close()
		return nil, err
	}
	path := fmt.Sprintf("/api/hubs/%s/groups/%s/connections/%s", url.PathEscape(r.cfg.Hub), url.PathEscape(groupName(g)), url.PathEscape(neg.ConnectionID))
	if err := r.signalRREST(ctx, http.MethodPut, path, "", nil, http.StatusOK); err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("add to group: %w", err)
	}
	return s, nil
}

type negotiation struct {
	ConnectionID    string `json:"connectionId"`
	ConnectionToken string `json:"connectionToken"`
}

// negotiate is the client's POST /client/negotiate?hub=…&negotiateVersion=1.
func (r *runner) negotiate(ctx context.Context, tok string) (negotiation, error) {
	u := r.cfg.URL + "/client/negotiate?negotiateVersion=1&hub=" + url.QueryEscape(r.cfg.Hub)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return negotiation{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := r.http.Do(req)
	if err != nil {
		return negotiation{}, fmt.Errorf("negotiate: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return negotiation{}, fmt.Errorf("negotiate: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var n negotiation
	if err := json.Unmarshal(body, &n); err != nil || n.ConnectionToken == "" {
		return negotiation{}, fmt.Errorf("negotiate: no connection token in %q", body)
	}
	return n, nil
}

// signalRHandshake sends the handshake request and reads the response, {} or {"error":…}, the
// first record of the server's first message; whatever follows it in that message is the
// server's and carries no payload yet.
func (r *runner) signalRHandshake(ws *websocket.Conn) error {
	name := "json"
	if r.cfg.Protocol == ProtocolSignalRMessagePack {
		name = "messagepack"
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"protocol":"`+name+`","version":1}`+"\x1e")); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(ackTimeout))
	defer func() { _ = ws.SetReadDeadline(time.Time{}) }()
	_, data, err := ws.ReadMessage()
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	rec, _, ok := bytes.Cut(data, []byte{0x1e})
	if !ok {
		return fmt.Errorf("handshake: response %q has no record separator", data)
	}
	var resp struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec, &resp); err != nil {
		return fmt.Errorf("handshake: invalid response %q", rec)
	}
	if resp.Error != "" {
		return fmt.Errorf("handshake refused: %s", resp.Error)
	}
	return nil
}

// signalRPing keeps a subscriber alive: it answers the server's traffic with a Ping at most
// every signalRPingEvery. ackedAt is the time of its last write.
func (r *runner) signalRPing(s *subscriber, now time.Time) error {
	if now.Sub(s.ackedAt) < signalRPingEvery {
		return nil
	}
	s.ackedAt = now
	kind, ping := websocket.TextMessage, signalRPingJSON
	if r.cfg.Protocol == ProtocolSignalRMessagePack {
		kind, ping = websocket.BinaryMessage, signalRPingMessagePack
	}
	if err := s.ws.WriteMessage(kind, ping); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// signalRREST calls the SignalR REST API at path (api-version added) as the Management SDK
// does, with a token whose aud is the request URL, and checks the status.
func (r *runner) signalRREST(ctx context.Context, method, path, contentType string, body []byte, want int) error {
	u := r.cfg.URL + path + "?api-version=" + signalRAPIVersion
	tok, err := r.tokens.token(u, accesskey.ClientClaims{})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := r.http.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// signalRPublisher invokes the target on a group's connections through the REST API, the
// payload as its one string argument.
type signalRPublisher struct {
	r    *runner
	body []byte
}

func (p *signalRPublisher) publish(ctx context.Context, g int, payload []byte) error {
	// The payload needs no escaping inside a JSON string (see payloadMagic).
	b := append(p.body[:0], `{"target":"`+signalRTarget+`","arguments":["`...)
	b = append(b, payload...)
	p.body = append(b, `"]}`...)
	path := fmt.Sprintf("/api/hubs/%s/groups/%s/:send", url.PathEscape(p.r.cfg.Hub), url.PathEscape(groupName(g)))
	return p.r.signalRREST(ctx, http.MethodPost, path, "application/json", p.body, http.StatusAccepted)
}

func (p *signalRPublisher) close() {}
