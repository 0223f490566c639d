package webpubsub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// revocations refuses the tokens of "eve" issued before revokedAt, and cannot answer for "broken".
type revocations struct{ revokedAt time.Time }

func (r revocations) TokenRevoked(_ context.Context, hub, userID string, issuedAt time.Time) (bool, error) {
	switch userID {
	case "broken":
		return false, errors.New("store down")
	case "eve":
		return issuedAt.Before(r.revokedAt), nil
	}
	return false, nil
}

// A revoked client token opens no connection and is answered 401 saying so; a failed check is
// a 500 and opens none either; others connect.
func TestRevokedClientToken(t *testing.T) {
	ts := startTestServer(t, pubsub.Options{}, func(o *Options) {
		o.Revocations = revocations{revokedAt: time.Now().Add(time.Hour)}
	})
	for _, tc := range []struct {
		user   string
		status int
		says   string
	}{
		{"eve", http.StatusUnauthorized, "revoked"},
		{"broken", http.StatusInternalServerError, "could not check"},
		{"ann", http.StatusSwitchingProtocols, ""},
	} {
		d := websocket.Dialer{Subprotocols: []string{ProtocolJSON}}
		tok := ts.token("chat", accesskey.ClientClaims{UserID: tc.user})
		ws, resp, err := d.Dial(ts.wsURL("chat", tok), nil)
		if err == nil {
			ws.Close()
		}
		if resp == nil {
			t.Fatalf("%s: dial: %v", tc.user, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.user, resp.StatusCode, body, tc.status, tc.says)
		}
		if tc.status != http.StatusSwitchingProtocols && ts.svc.Hub("chat").HasUser(tc.user) {
			t.Errorf("%s: a refused token left a connection", tc.user)
		}
	}
}
