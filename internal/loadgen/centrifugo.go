package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// This file is the Centrifugo side of a run, so that huddle and Centrifugo can be measured by
// the same generator: subscribers speak Centrifugo's bidirectional client protocol (v2) in JSON
// over its WebSocket endpoint, and publishers call its HTTP server API. The payload travels as
// the publication's data, a JSON string, which Centrifugo relays verbatim.
//
// What it relies on, from centrifugal.dev/docs/transports/client_protocol and
// centrifugal.dev/docs/server/server_api, and the sources of Centrifugo v6.9.1
// (github.com/centrifugal/centrifugo) and its library github.com/centrifugal/centrifuge:
//   - the WebSocket endpoint is /connection/websocket (websocket.handler_prefix's default in
//     centrifugo internal/configtypes/types.go); JSON is the default format, no subprotocol;
//   - a command is {"id":n,"connect":{"token":…}} or {"id":n,"subscribe":{"channel":…}}, and its
//     reply carries the same id with the result under the method's name or an
//     {"error":{"code","message"}};
//   - one frame may hold several replies, each on its own line;
//   - a publication arrives as {"push":{"channel":…,"pub":{"data":…}}};
//   - the server's ping is an empty reply {} and the client must answer with an empty command
//     {} (centrifuge client.go, isPong: a command without id), or it is disconnected;
//   - the connection token is an HS256 JWT whose sub is the user, signed with the
//     client.token.hmac_secret_key of the configuration; a token that does not verify closes
//     the connection (3500 "invalid token"), an expired one gets error 109 in the reply;
//   - POST /api/publish with the X-API-Key header and {"channel","data"} publishes; the answer
//     is 200 with {"result":{…}} or, for a refused command, 200 with {"error":{"code","message"}}.

// ProtocolCentrifugo is a run against Centrifugo rather than huddle.
const ProtocolCentrifugo = "centrifugo-json"

// Centrifugo is what a Centrifugo run needs besides the server's URL.
type Centrifugo struct {
	// APIKey is the server API's key, http_api.key in Centrifugo's configuration. Required.
	APIKey string
	// Secret signs the connection tokens, client.token.hmac_secret_key. Required.
	Secret string
}

// centrifugoUser is the sub of every subscriber's token: Centrifugo only needs one to be
// present, and one token for all costs one signature.
const centrifugoUser = "bench"

// Command ids of a subscriber's handshake.
const (
	centrifugoConnectID   = 1
	centrifugoSubscribeID = 2
)

// centrifugoPong answers the server's ping.
var centrifugoPong = []byte("{}")

func (c Config) centrifugo() bool { return c.Protocol == ProtocolCentrifugo }

// centrifugoToken signs the connection token shared by every subscriber.
func (r *runner) centrifugoToken() (string, error) {
	r.centrifugoTokenOnce.Do(func() {
		now := time.Now()
		claims := jwt.RegisteredClaims{
			Subject:   centrifugoUser,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(24 * time.Hour)),
		}
		r.centrifugoTok, r.centrifugoTokErr = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(r.cfg.Centrifugo.Secret))
	})
	return r.centrifugoTok, r.centrifugoTokErr
}

// dialCentrifugoSubscriber connects, authenticates and subscribes to group g's channel; it
// returns once the server confirmed the subscription.
func (r *runner) dialCentrifugoSubscriber(ctx context.Context, i, g int) (*subscriber, error) {
	tok, err := r.centrifugoToken()
	if err != nil {
		return nil, fmt.Errorf("sign connection token: %w", err)
	}
	u := "ws" + r.cfg.URL[len("http"):] + "/connection/websocket"
	ws, resp, err := r.dialer(i).DialContext(ctx, u, nil)
	if err != nil {
		return nil, dialError(resp, err)
	}
	if err := centrifugoHandshake(ws, tok, groupName(g)); err != nil {
		_ = ws.Close()
		return nil, err
	}
	return &subscriber{ws: ws, group: g, next: make([]uint64, r.cfg.Publishers)}, nil
}

// centrifugoHandshake sends connect and then subscribe, each waiting for its reply.
func centrifugoHandshake(ws *websocket.Conn, token, channel string) error {
	_ = ws.SetReadDeadline(time.Now().Add(ackTimeout))
	defer func() { _ = ws.SetReadDeadline(time.Time{}) }()
	steps := []struct {
		name string
		id   uint32
		args map[string]string
	}{
		{"connect", centrifugoConnectID, map[string]string{"token": token}},
		{"subscribe", centrifugoSubscribeID, map[string]string{"channel": channel}},
	}
	for _, step := range steps {
		if err := ws.WriteJSON(map[string]any{"id": step.id, step.name: step.args}); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		if err := centrifugoAwaitReply(ws, step.id); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
	}
	return nil
}

// centrifugoAwaitReply reads frames until the reply to command id, answering pings meanwhile.
func centrifugoAwaitReply(ws *websocket.Conn, id uint32) error {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var reply struct {
				ID    uint32           `json:"id"`
				Error *centrifugoError `json:"error"`
			}
			if err := json.Unmarshal(line, &reply); err != nil {
				return fmt.Errorf("invalid reply %q: %w", line, err)
			}
			switch {
			case reply.ID == 0 && bytes.Equal(bytes.TrimSpace(line), centrifugoPong):
				if err := ws.WriteMessage(websocket.TextMessage, centrifugoPong); err != nil {
					return fmt.Errorf("pong: %w", err)
				}
			case reply.ID != id:
			case reply.Error != nil:
				return reply.Error
			default:
				return nil
			}
		}
	}
}

// centrifugoError is the error of a reply or of a server API answer.
type centrifugoError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *centrifugoError) Error() string {
	return fmt.Sprintf("centrifugo error %d: %s", e.Code, e.Message)
}

// centrifugoPingIn reports whether a frame holds a ping: a line that is exactly {}. Every line
// is a JSON object, so a line that starts with {} is one.
func centrifugoPingIn(frame []byte) bool {
	return bytes.HasPrefix(frame, centrifugoPong) || bytes.Contains(frame, []byte("\n{}"))
}

// centrifugoAnswerPing answers a ping in the frame a subscriber just read.
func centrifugoAnswerPing(s *subscriber) error {
	if !centrifugoPingIn(s.buf) {
		return nil
	}
	if err := s.ws.WriteMessage(websocket.TextMessage, centrifugoPong); err != nil {
		return fmt.Errorf("pong: %w", err)
	}
	return nil
}

// centrifugoPublisher publishes through the HTTP server API.
type centrifugoPublisher struct {
	r    *runner
	url  string
	body []byte
}

func (p *centrifugoPublisher) publish(ctx context.Context, g int, payload []byte) error {
	// Neither the channel nor the payload needs escaping inside a JSON string (see payloadMagic).
	b := append(p.body[:0], `{"channel":"`...)
	b = append(b, groupName(g)...)
	b = append(b, `","data":"`...)
	b = append(b, payload...)
	p.body = append(b, `"}`...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", p.r.cfg.Centrifugo.APIKey)
	resp, err := p.r.http.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var answer struct {
		Error *centrifugoError `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("publish: invalid answer %q: %w", body, err)
	}
	if answer.Error != nil {
		return fmt.Errorf("publish: %w", answer.Error)
	}
	return nil
}

func (p *centrifugoPublisher) close() {}
