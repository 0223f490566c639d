package dashboard

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store/storetest"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// The events viewers receive, as the service encodes them, are the golden files that the web
// UI's tests read (web/src/messages.test.ts), so a field renamed here fails there.
func TestEventsGolden(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	ed := e.user("eddie", roles.Editor)
	ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
	var d Dashboard
	ed.expect("GET", "/api/dashboards/ops", nil, http.StatusOK, &struct{ Dashboard *Dashboard }{&d})
	d.Title = "Ops"
	ed.expect("PUT", "/api/dashboards/ops", d, http.StatusOK, nil)
	now := e.clock.Now().UnixMilli()
	var a Annotation
	ed.expect("POST", "/api/dashboards/ops/annotations",
		AnnotationInput{PanelID: 2, Time: now - 60_000, TimeEnd: now, Tags: []string{"deploy"}, Text: "rolled out v2"}, http.StatusCreated, &a)
	ed.expect("DELETE", fmt.Sprintf("/api/dashboards/ops/annotations/%d", a.ID), nil, http.StatusNoContent, nil)
	ed.expect("DELETE", "/api/dashboards/ops", nil, http.StatusNoContent, nil)

	// The annotation's id and its author's are random; the golden files name them by a constant.
	stable := strings.NewReplacer(fmt.Sprintf(`"id":%d`, a.ID), `"id":1`, ed.user.ID, "user-eddie")
	names := map[string]string{
		EventDashboardUpdated:  "dashboard-updated.json",
		EventAnnotationCreated: "annotation-created.json",
		EventAnnotationDeleted: "annotation-deleted.json",
		EventDashboardDeleted:  "dashboard-deleted.json",
	}
	seen := map[string]bool{}
	for _, n := range e.notes.take() {
		name, ok := names[n.event.Type]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		testkit.WebGolden(t, name, []byte(stable.Replace(string(n.data))), *update)
	}
	if len(seen) != len(names) {
		t.Errorf("events seen: %v, want one of each of %v", seen, names)
	}
}
