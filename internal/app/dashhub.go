package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/auth"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/dashboard"
	"github.com/huddle-dev/huddle/internal/live"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// dashboardHub is the dashboards' side of the real-time hub: which dashboards have viewers, and
// the server's messages to them. It publishes through the hub's broker as the REST API does, so
// the messages get the same ordering and reliable-protocol guarantees as any app server's.
type dashboardHub struct {
	hub    *pubsub.Hub
	logger *slog.Logger
}

func newDashboardHub(svc *pubsub.Service, logger *slog.Logger) dashboardHub {
	return dashboardHub{hub: svc.Hub(collab.Hub), logger: logger}
}

// closeReason is what a viewer's client is told when its connection closes because the
// viewer's access changed; its tokens are revoked, so it must negotiate again.
const closeReason = "access revoked: the user's sessions ended or role changed"

// SessionsEnded closes every dashboard connection of login, whose tokens auth has just revoked.
func (d dashboardHub) SessionsEnded(ctx context.Context, login string) {
	err := d.hub.Publish(ctx, &pubsub.Envelope{
		Op:     pubsub.OpClose,
		To:     pubsub.Selector{Kind: pubsub.ToUser, Name: login},
		Reason: closeReason,
	})
	if err != nil {
		d.logger.Warn("could not close the dashboard connections of a user whose access changed", "login", login, "err", err)
	}
}

// dashboardRevocations refuses, on the dashboards' hub only, the client tokens that auth revoked:
// there the user id is a login, which other hubs' app servers may choose freely.
type dashboardRevocations struct{ accounts *auth.Service }

func (d dashboardRevocations) TokenRevoked(ctx context.Context, hub, userID string, issuedAt time.Time) (bool, error) {
	if !strings.EqualFold(hub, collab.Hub) {
		return false, nil
	}
	return d.accounts.TokenRevoked(ctx, userID, issuedAt)
}

// Watched lists the dashboards whose metrics group has members on this node.
func (d dashboardHub) Watched() []string {
	groups := d.hub.Groups(collab.GroupPrefix)
	uids := make([]string, 0, len(groups))
	for _, g := range groups {
		if uid, ok := collab.DashboardOfMetricsGroup(g); ok {
			uids = append(uids, uid)
		}
	}
	return uids
}

// Viewed lists the dashboards whose collaboration group has members on this node.
func (d dashboardHub) Viewed() []string {
	groups := d.hub.Groups(collab.GroupPrefix)
	uids := make([]string, 0, len(groups))
	for _, g := range groups {
		if uid, ok := collab.DashboardOfCollabGroup(g); ok {
			uids = append(uids, uid)
		}
	}
	return uids
}

// Viewers lists the user ids connected to a dashboard's collaboration group on this node.
func (d dashboardHub) Viewers(uid string) []string {
	members := d.hub.GroupMembers(collab.CollabGroup(uid))
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if m.UserID != "" {
			ids = append(ids, m.UserID)
		}
	}
	return ids
}

// Push sends live points to a dashboard's viewers.
func (d dashboardHub) Push(ctx context.Context, uid string, data []byte) error {
	return d.SendToGroup(ctx, collab.MetricsGroup(uid), data)
}

// SendToGroup sends JSON to a group as the app server: members get a group message without a
// fromUserId, which no viewer's message lacks.
func (d dashboardHub) SendToGroup(ctx context.Context, group string, data []byte) error {
	return sendJSONToGroup(ctx, d.hub, group, data)
}

// sendJSONToGroup publishes JSON to a group of hub as the app server, through the hub's broker
// as a REST send is, so that it gets the same ordering and reliable-protocol guarantees.
func sendJSONToGroup(ctx context.Context, hub *pubsub.Hub, group string, data []byte) error {
	to := pubsub.Selector{Kind: pubsub.ToGroup, Name: group}
	return hub.Publish(ctx, &pubsub.Envelope{Op: pubsub.OpSend, To: to, Message: pubsub.NewServerMessage(to, pubsub.JSON, data)})
}

// livePlans turns a saved dashboard into what the live scheduler evaluates: every panel query
// as the dashboard service expands it for the dashboard's own time range, the expansion a
// viewer of that range loads its history from.
type livePlans struct{ dashboards *dashboard.Service }

func (l livePlans) Plan(ctx context.Context, uid string) (live.Plan, error) {
	st, err := l.dashboards.Get(ctx, uid)
	if err != nil {
		return live.Plan{}, fmt.Errorf("dashboard %s: %w", uid, err)
	}
	d := st.Dashboard
	refresh := d.RefreshInterval()
	plan := live.Plan{Refresh: refresh, Version: d.Version}
	if refresh == 0 {
		return plan, nil
	}
	x, err := l.dashboards.ExpandOwnRange(ctx, d)
	if err != nil {
		return live.Plan{}, err
	}
	plan.Key = x.Key
	for _, p := range x.Panels {
		for _, t := range p.Targets {
			plan.Queries = append(plan.Queries, live.Query{Panel: p.ID, RefID: t.RefID, Expr: t.Expr})
		}
	}
	return plan, nil
}
