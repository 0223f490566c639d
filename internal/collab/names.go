package collab

import (
	"regexp"
	"strings"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Hub is the hub every dashboard lives on.
const Hub = "huddle"

// UIDPattern is what a dashboard uid may be, unanchored. It keeps uids free of '.', '*' and '?',
// which would widen the group patterns and permissions built from them. The browser reads the
// same rule from web/src/ids.json, which a test holds equal to this one.
const UIDPattern = `[A-Za-z0-9_-]{1,64}`

// UIDRule says UIDPattern in words, for the messages that refuse a uid.
const UIDRule = "1 to 64 letters, digits, '-' or '_'"

var uidPattern = regexp.MustCompile(`^` + UIDPattern + `$`)

// ValidUID reports whether uid can name a dashboard.
func ValidUID(uid string) bool { return uidPattern.MatchString(uid) }

// ErrNoDashboard is the error for a dashboard that does not exist, answered with 404. Every
// package that finds a dashboard missing returns an error that errors.Is matches to it.
var ErrNoDashboard = httpapi.ErrNotFound.Withf("no such dashboard")

// GroupPrefix begins the name of every group of a dashboard, so the hub can list them.
const GroupPrefix = "dash."

// MetricsGroup carries the server's pushes of new points for a dashboard.
func MetricsGroup(uid string) string { return GroupPrefix + uid + ".metrics" }

// DashboardOfMetricsGroup is the uid whose metrics group group is, if it is one: how the server
// finds, among a hub's groups, the dashboards that have viewers.
func DashboardOfMetricsGroup(group string) (uid string, ok bool) {
	return dashboardOf(group, ".metrics")
}

// AlertsGroup carries the server's news of alerts to every open page: incidents firing and
// resolving, who took them, comments. Only the server sends to it.
const AlertsGroup = "alerts"

// CollabGroup carries the viewers' own traffic: presence, cursors, crosshair, follow.
func CollabGroup(uid string) string { return GroupPrefix + uid + ".collab" }

// DashboardOfCollabGroup is the uid whose collaboration group group is, if it is one: how the
// server finds the dashboards that have people on them.
func DashboardOfCollabGroup(group string) (uid string, ok bool) {
	return dashboardOf(group, ".collab")
}

// IsCollabGroup reports whether group of hub is a dashboard's collaboration group. The real-time
// service is given it to make what viewers say there ephemeral: a pointer or presence message is
// soon superseded by the next one, so a lagging viewer loses these first and a reconnecting one
// is not sent the old ones again.
func IsCollabGroup(hub, group string) bool {
	_, ok := DashboardOfCollabGroup(group)
	return ok && strings.EqualFold(hub, Hub)
}

// dashboardOf is the uid of the dashboard group "<GroupPrefix><uid><suffix>", if group is one.
func dashboardOf(group, suffix string) (uid string, ok bool) {
	uid, ok = strings.CutPrefix(group, GroupPrefix)
	if ok {
		uid, ok = strings.CutSuffix(uid, suffix)
	}
	return uid, ok && ValidUID(uid)
}
