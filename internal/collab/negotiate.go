// Package collab is the dashboard's tenancy on the real-time hub: which hub and groups a
// dashboard uses and what each viewer may do there. The dashboard is an ordinary Web PubSub
// client, so everything here is expressed as access tokens with Web PubSub roles; the browser
// then speaks the public protocol like any third-party app.
//
// Guarantee: a negotiated token lets its holder join the two groups of one dashboard and send
// only to that dashboard's collaboration group (cursors, presence); metrics are pushed by the
// server and annotations and layouts are written over HTTP, where roles are checked again.
// What viewers send to the collaboration group is ephemeral ([IsCollabGroup]): the first traffic
// dropped for a lagging viewer, and never numbered or resent on a reliable connection.
package collab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
)

// Hub is the hub every dashboard lives on.
const Hub = "huddle"

// uidPattern keeps dashboard uids free of '.', '*' and '?', which would widen the group patterns
// and permissions built from them.
var uidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidUID reports whether uid can name a dashboard.
func ValidUID(uid string) bool { return uidPattern.MatchString(uid) }

// MetricsGroup carries the server's pushes of new points for a dashboard.
func MetricsGroup(uid string) string { return "dash." + uid + ".metrics" }

// DashboardOfMetricsGroup is the uid whose metrics group group is, if it is one: how the server
// finds, among a hub's groups, the dashboards that have viewers.
func DashboardOfMetricsGroup(group string) (uid string, ok bool) {
	return dashboardOf(group, ".metrics")
}

// CollabGroup carries the viewers' own traffic: presence, cursors, crosshair, follow.
func CollabGroup(uid string) string { return "dash." + uid + ".collab" }

// IsCollabGroup reports whether group of hub is a dashboard's collaboration group. The real-time
// service is given it to make what viewers say there ephemeral: a pointer or presence message is
// soon superseded by the next one, so a lagging viewer loses these first and a reconnecting one
// is not sent the old ones again.
func IsCollabGroup(hub, group string) bool {
	_, ok := dashboardOf(group, ".collab")
	return ok && strings.EqualFold(hub, Hub)
}

// dashboardOf is the uid of the dashboard group "dash.<uid><suffix>", if group is one.
func dashboardOf(group, suffix string) (uid string, ok bool) {
	uid, ok = strings.CutPrefix(group, "dash.")
	if ok {
		uid, ok = strings.CutSuffix(uid, suffix)
	}
	return uid, ok && ValidUID(uid)
}

// ClientRoles are the Web PubSub roles of a dashboard viewer; every dashboard role gets the same
// hub rights, because everything beyond watching and pointing goes through checked HTTP calls.
func ClientRoles(uid string) []string {
	return []string{
		"webpubsub.joinLeaveGroup." + MetricsGroup(uid),
		"webpubsub.joinLeaveGroup." + CollabGroup(uid),
		"webpubsub.sendToGroup." + CollabGroup(uid),
	}
}

// Member is a signed-in user allowed on a dashboard.
type Member struct {
	Login string
	Name  string
	Role  string
}

// ErrForbidden is returned by an Access that knows the user but refuses the dashboard.
var ErrForbidden = errors.New("no access to this dashboard")

// ErrNoDashboard is returned by an Access for a dashboard that does not exist: a token for it
// would only open groups nobody serves.
var ErrNoDashboard = errors.New("no such dashboard")

// ErrUnauthenticated is returned by an Access when nobody is signed in.
var ErrUnauthenticated = errors.New("sign in first")

// Access decides who may join which dashboard.
type Access interface {
	DashboardMember(r *http.Request, uid string) (Member, error)
}

// Negotiator answers /api/negotiate: the client URL with a token for one dashboard.
type Negotiator struct {
	Keys   accesskey.Keys
	Access Access
	// PublicURL is this server as browsers reach it; empty means the request's own host.
	PublicURL string
	// TokenLifetime defaults to one hour; the client asks again when it reconnects afresh.
	TokenLifetime time.Duration
	Now           func() time.Time
}

// NegotiateResponse is what the browser gets, shaped like @azure/web-pubsub's
// getClientAccessToken so the client SDK can use it as is.
type NegotiateResponse struct {
	URL          string `json:"url"`
	BaseURL      string `json:"baseUrl"`
	Token        string `json:"token"`
	UserID       string `json:"userId"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	MetricsGroup string `json:"metricsGroup"`
	CollabGroup  string `json:"collabGroup"`
}

func (n *Negotiator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("dashboard")
	if !ValidUID(uid) {
		writeJSONError(w, http.StatusBadRequest, "dashboard must be a dashboard uid: 1 to 64 letters, digits, '-' or '_'")
		return
	}
	m, err := n.Access.DashboardMember(r, uid)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		writeJSONError(w, http.StatusUnauthorized, err.Error())
		return
	case errors.Is(err, ErrForbidden):
		writeJSONError(w, http.StatusForbidden, err.Error())
		return
	case errors.Is(err, ErrNoDashboard):
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("dashboard %q does not exist", uid))
		return
	case err != nil:
		writeJSONError(w, http.StatusInternalServerError, "could not check access to the dashboard")
		return
	}
	res, err := n.negotiate(r, uid, m)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "could not sign the access token")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res)
}

func (n *Negotiator) negotiate(r *http.Request, uid string, m Member) (NegotiateResponse, error) {
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	lifetime := n.TokenLifetime
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	base := strings.TrimRight(n.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	clientPath := "/client/hubs/" + Hub
	token, err := n.Keys.SignClientToken(base+clientPath, accesskey.ClientClaims{
		UserID:  m.Login,
		Roles:   ClientRoles(uid),
		Expires: now().Add(lifetime),
	}, now())
	if err != nil {
		return NegotiateResponse{}, fmt.Errorf("sign client token: %w", err)
	}
	wsBase := "ws" + strings.TrimPrefix(base, "http") + clientPath
	return NegotiateResponse{
		URL:          wsBase + "?access_token=" + token,
		BaseURL:      wsBase,
		Token:        token,
		UserID:       m.Login,
		Name:         m.Name,
		Role:         m.Role,
		MetricsGroup: MetricsGroup(uid),
		CollabGroup:  CollabGroup(uid),
	}, nil
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
