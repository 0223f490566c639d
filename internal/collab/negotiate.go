// Package collab is the dashboard's tenancy on the real-time hub and the owner of the names
// around a dashboard: what a dashboard uid may be, which hub and groups a dashboard uses, the
// error for a dashboard that does not exist, and what each viewer may do on the hub. The
// dashboard is an ordinary Web PubSub client, so everything here is expressed as access tokens
// with Web PubSub roles; the browser then speaks the public protocol like any third-party app.
//
// Guarantee: a negotiated token lets its holder join the two groups of one dashboard (and the
// server-only alerts and presence groups) and send only to that dashboard's collaboration group (cursors, presence); metrics are pushed by the
// server and annotations and layouts are written over HTTP, where roles are checked again.
// What viewers send to the collaboration group is ephemeral ([IsCollabGroup]): the first traffic
// dropped for a lagging viewer, and never numbered or resent on a reliable connection.
package collab

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// ClientRoles are the Web PubSub roles of a dashboard viewer; every dashboard role gets the same
// hub rights, because everything beyond watching and pointing goes through checked HTTP calls.
// Every signed-in user may listen to the alerts and presence groups; with no dashboard (uid "")
// that is all.
func ClientRoles(uid string) []string {
	everyPage := []string{"webpubsub.joinLeaveGroup." + AlertsGroup, "webpubsub.joinLeaveGroup." + PresenceGroup}
	if uid == "" {
		return everyPage
	}
	return append(everyPage,
		"webpubsub.joinLeaveGroup."+MetricsGroup(uid),
		"webpubsub.joinLeaveGroup."+CollabGroup(uid),
		"webpubsub.sendToGroup."+CollabGroup(uid),
	)
}

// Member is a signed-in user allowed on a dashboard.
type Member struct {
	Login string
	Name  string
	Role  string
}

// ErrForbidden is returned by an Access that knows the user but refuses the dashboard.
var ErrForbidden = httpapi.ErrForbidden.Withf("no access to this dashboard")

// Access decides who may join which dashboard. It refuses with httpapi.ErrUnauthenticated when
// nobody is signed in, ErrForbidden, or ErrNoDashboard for a dashboard that does not exist (a
// token for it would only open groups nobody serves). Caller is the signed-in user, for a page
// that is on no dashboard (the alerts pages).
type Access interface {
	DashboardMember(r *http.Request, uid string) (Member, error)
	Caller(r *http.Request) (Member, error)
}

// memberOf is the caller of r as a member of dashboard uid, or the error that refuses them.
func memberOf(a Access, r *http.Request, uid string) (Member, error) {
	if !ValidUID(uid) {
		return Member{}, httpapi.BadRequest("dashboard must be a dashboard uid: %s", UIDRule)
	}
	m, err := a.DashboardMember(r, uid)
	switch {
	case errors.Is(err, ErrNoDashboard):
		return Member{}, ErrNoDashboard.Withf("dashboard %q does not exist", uid)
	case err != nil:
		return Member{}, fmt.Errorf("check access to dashboard %s: %w", uid, err)
	}
	return m, nil
}

// Negotiator answers /api/negotiate: the client URL with a token for one dashboard.
type Negotiator struct {
	Keys   accesskey.Keys
	Access Access
	// PublicURL is this server as browsers reach it (required): the server's one public URL, the
	// same that connection strings and sign-in redirects name.
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
	MetricsGroup string `json:"metricsGroup,omitempty"`
	CollabGroup  string `json:"collabGroup,omitempty"`
	AlertsGroup  string `json:"alertsGroup"`
	// PresenceGroup is where the server tells which dashboards' viewers changed.
	PresenceGroup string `json:"presenceGroup"`
}

// Negotiate answers the client URL for the dashboard named by the query parameter dashboard or,
// without one, for the alerts group only.
func (n *Negotiator) Negotiate(w http.ResponseWriter, r *http.Request) error {
	var (
		m   Member
		err error
	)
	if uid := r.URL.Query().Get("dashboard"); r.URL.Query().Has("dashboard") {
		m, err = memberOf(n.Access, r, uid)
	} else {
		m, err = n.Access.Caller(r)
	}
	if err != nil {
		return err
	}
	uid := r.URL.Query().Get("dashboard")
	res, err := n.negotiate(uid, m)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (n *Negotiator) negotiate(uid string, m Member) (NegotiateResponse, error) {
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	lifetime := n.TokenLifetime
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	base := strings.TrimRight(n.PublicURL, "/")
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
	res := NegotiateResponse{
		URL:           wsBase + "?access_token=" + token,
		BaseURL:       wsBase,
		Token:         token,
		UserID:        m.Login,
		Name:          m.Name,
		Role:          m.Role,
		AlertsGroup:   AlertsGroup,
		PresenceGroup: PresenceGroup,
	}
	if uid != "" {
		res.MetricsGroup, res.CollabGroup = MetricsGroup(uid), CollabGroup(uid)
	}
	return res, nil
}
