package collab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// PresenceGroup carries the server's word that the people on a dashboard changed, to every open
// page (the home page shows where the team is). Only the server sends to it.
const PresenceGroup = "presence"

// PresenceInterval is the least time between two rounds of presence messages: a dashboard whose
// viewers change many times within it is announced once, so a crowd arriving at an incident
// costs each listening page a message per dashboard per interval, not one per arrival.
const PresenceInterval = 250 * time.Millisecond

// PresenceMessage tells that the viewers of Dashboard changed. It names no viewer: the group
// reaches every signed-in user, and who is on a dashboard is for those who may see it, so a
// page asks GET /api/dashboards/<uid>/viewers, where that is checked.
type PresenceMessage struct {
	Type      string `json:"type"` // "presence"
	Dashboard string `json:"dashboard"`
}

// GroupSender sends a server message to a group of the dashboards' hub.
type GroupSender interface {
	SendToGroup(ctx context.Context, group string, data []byte) error
}

// PresenceFeed announces on PresenceGroup each dashboard whose collaboration group gained or
// lost a connection on this node. The hub tells it of changes through [PresenceFeed.GroupChanged];
// [PresenceFeed.Run] sends the announcements: the first change after a quiet interval at once,
// later ones gathered until PresenceInterval has passed since the last round. Within a round
// dashboards are announced in uid order; a change is never lost, only merged with the next ones.
type PresenceFeed struct {
	logger *slog.Logger
	wake   chan struct{}

	mu      sync.Mutex
	changed map[string]struct{}
}

// NewPresenceFeed returns a feed that logs failed sends to logger.
func NewPresenceFeed(logger *slog.Logger) *PresenceFeed {
	return &PresenceFeed{logger: logger, wake: make(chan struct{}, 1), changed: make(map[string]struct{})}
}

// GroupChanged notes a change of group's members on hub; it is pubsub.Options.GroupChanged, so
// it only records the dashboard and wakes Run.
func (f *PresenceFeed) GroupChanged(hub, group string) {
	uid, ok := DashboardOfCollabGroup(group)
	if !ok || !strings.EqualFold(hub, Hub) {
		return
	}
	f.mu.Lock()
	f.changed[uid] = struct{}{}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run sends the announcements through send until ctx ends.
func (f *PresenceFeed) Run(ctx context.Context, send GroupSender) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		}
		for _, uid := range f.take() {
			data, err := json.Marshal(PresenceMessage{Type: "presence", Dashboard: uid})
			if err != nil {
				return fmt.Errorf("encode presence of %s: %w", uid, err)
			}
			if err := send.SendToGroup(ctx, PresenceGroup, data); err != nil && ctx.Err() == nil {
				f.logger.Warn("could not announce a dashboard's viewers", "dashboard", uid, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(PresenceInterval):
		}
	}
}

// take returns the dashboards changed since the last call, in uid order, and forgets them.
func (f *PresenceFeed) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	uids := make([]string, 0, len(f.changed))
	for uid := range f.changed {
		uids = append(uids, uid)
	}
	clear(f.changed)
	slices.Sort(uids)
	return uids
}

// DashboardPresence is one dashboard with the people on it.
type DashboardPresence struct {
	Dashboard string   `json:"dashboard"`
	Viewers   []Viewer `json:"viewers"`
}

// Presence answers GET /api/presence: every dashboard the caller may see that has viewers on
// this node, with them, ordered by uid. A page loads it first and after each reconnect, then
// follows PresenceGroup.
func (d *Directory) Presence(w http.ResponseWriter, r *http.Request) error {
	uids := d.Present.Viewed()
	slices.Sort(uids)
	out := []DashboardPresence{}
	for _, uid := range uids {
		if _, err := memberOf(d.Access, r, uid); err != nil {
			if errors.Is(err, ErrForbidden) || errors.Is(err, ErrNoDashboard) {
				continue
			}
			return err
		}
		viewers, err := d.named(r.Context(), d.Present.Viewers(uid))
		if err != nil {
			return err
		}
		if len(viewers) > 0 {
			out = append(out, DashboardPresence{Dashboard: uid, Viewers: viewers})
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}
