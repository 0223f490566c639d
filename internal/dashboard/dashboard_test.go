package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

func TestDashboardCRUD(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		viewer := e.user("vera", roles.Viewer)

		var created Stored
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, &created)
		d := created.Dashboard
		if d.Version != 1 || d.UID != "ops" || !slices.Equal(d.Tags, []string{"a", "b"}) {
			t.Fatalf("created %+v: want version 1, uid ops, tags sorted", d)
		}
		if d.Panels[0].ID != 1 || d.Panels[1].ID != 2 || d.Panels[0].Targets[0].RefID != "A" {
			t.Errorf("panel ids and refIds not assigned: %+v", d.Panels)
		}
		if d.Time != (TimeRange{From: "now-6h", To: "now"}) {
			t.Errorf("default time range %+v", d.Time)
		}
		if created.Meta.CreatedBy != "eddie" || !created.Meta.CanEdit {
			t.Errorf("meta %+v", created.Meta)
		}
		if n := e.notes.take(); len(n) != 0 {
			t.Errorf("a new dashboard has no viewers to notify, sent %v", n)
		}

		var got Stored
		viewer.expect("GET", "/api/dashboards/ops", nil, http.StatusOK, &got)
		if got.Dashboard.Title != "Sample ops" || got.Dashboard.Version != 1 || got.Meta.CanEdit {
			t.Errorf("viewer got %+v %+v", got.Dashboard, got.Meta)
		}

		// A generated uid when none is given.
		var gen Stored
		ed.expect("POST", "/api/dashboards", sample(""), http.StatusCreated, &gen)
		if !collab.ValidUID(gen.Dashboard.UID) || len(gen.Dashboard.UID) != 12 {
			t.Errorf("generated uid %q", gen.Dashboard.UID)
		}
		ed.expectError("POST", "/api/dashboards", sample("ops"), http.StatusConflict)

		var list []Summary
		viewer.expect("GET", "/api/dashboards", nil, http.StatusOK, &list)
		// By title: "Sample" (the generated uid) before "Sample ops".
		if len(list) != 2 || list[1].UID != "ops" || list[1].Version != 1 || !slices.Equal(list[1].Tags, []string{"a", "b"}) {
			t.Errorf("list %+v", list)
		}

		// Save: the next version, and viewers are told after the commit.
		e.clock.Advance(time.Minute)
		d.Title = "Operations"
		d.Panels[1].GridPos.Y = 8
		var saved Stored
		ed.expect("PUT", "/api/dashboards/ops", d, http.StatusOK, &saved)
		if saved.Dashboard.Version != 2 || saved.Meta.Updated != e.clock.Now().UnixMilli() || saved.Meta.CreatedBy != "eddie" {
			t.Errorf("saved %+v %+v", saved.Dashboard, saved.Meta)
		}
		want := []sent{{group: collab.MetricsGroup("ops"), event: Event{Type: EventDashboardUpdated, Dashboard: "ops", Version: 2, By: "eddie"}}}
		if n := e.notes.take(); !equalSent(n, want) {
			t.Errorf("notified %+v, want %+v", n, want)
		}
		viewer.expect("GET", "/api/dashboards/ops", nil, http.StatusOK, &got)
		if got.Dashboard.Title != "Operations" || got.Dashboard.Version != 2 || got.Dashboard.Panels[1].GridPos.Y != 8 {
			t.Errorf("after save got %+v", got.Dashboard)
		}

		// A save based on version 1 is now stale: 409 naming the current version, nothing
		// overwritten, nobody told.
		stale := d
		stale.Title = "Stale"
		er := ed.expectError("PUT", "/api/dashboards/ops", stale, http.StatusConflict)
		if !strings.Contains(er.Error, "version 2") || !strings.Contains(er.Error, "based on version 1") || er.Field != "version" {
			t.Errorf("conflict: %+v", er)
		}
		viewer.expect("GET", "/api/dashboards/ops", nil, http.StatusOK, &got)
		if got.Dashboard.Title != "Operations" {
			t.Errorf("a stale save overwrote the dashboard: %q", got.Dashboard.Title)
		}
		if n := e.notes.take(); len(n) != 0 {
			t.Errorf("a refused save notified %v", n)
		}

		// The uid in the body must be the one in the path; the version is required.
		moved := saved.Dashboard
		moved.UID = "elsewhere"
		if er := ed.expectError("PUT", "/api/dashboards/ops", moved, http.StatusBadRequest); er.Field != "uid" {
			t.Errorf("uid mismatch: %+v", er)
		}
		noVersion := saved.Dashboard
		noVersion.Version = 0
		if er := ed.expectError("PUT", "/api/dashboards/ops", noVersion, http.StatusBadRequest); er.Field != "version" {
			t.Errorf("missing version: %+v", er)
		}
		ed.expectError("PUT", "/api/dashboards/nope", sample("nope"), http.StatusBadRequest) // version 0
		missing := sample("nope")
		missing.Version = 1
		ed.expectError("PUT", "/api/dashboards/nope", missing, http.StatusNotFound)

		// Viewers cannot write.
		viewer.expectError("PUT", "/api/dashboards/ops", saved.Dashboard, http.StatusForbidden)
		viewer.expectError("POST", "/api/dashboards", sample("mine"), http.StatusForbidden)
		viewer.expectError("DELETE", "/api/dashboards/ops", nil, http.StatusForbidden)

		ed.expect("DELETE", "/api/dashboards/ops", nil, http.StatusNoContent, nil)
		want = []sent{{group: collab.MetricsGroup("ops"), event: Event{Type: EventDashboardDeleted, Dashboard: "ops", By: "eddie"}}}
		if n := e.notes.take(); !equalSent(n, want) {
			t.Errorf("notified %+v, want %+v", n, want)
		}
		viewer.expectError("GET", "/api/dashboards/ops", nil, http.StatusNotFound)
		ed.expectError("DELETE", "/api/dashboards/ops", nil, http.StatusNotFound)
	})
}

func equalSent(a, b []sent) bool {
	return slices.EqualFunc(a, b, func(x, y sent) bool {
		xj, _ := json.Marshal(x.event)
		yj, _ := json.Marshal(y.event)
		return x.group == y.group && string(xj) == string(yj)
	})
}

// Two editors save the same version at once: exactly one wins, the other gets 409.
func TestConcurrentSavesOneWins(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		var created Stored
		ed.expect("POST", "/api/dashboards", sample("race"), http.StatusCreated, &created)
		const n = 8
		codes := make(chan int, n)
		for i := range n {
			go func() {
				d := created.Dashboard
				d.Title = fmt.Sprintf("writer %d", i)
				codes <- ed.do("PUT", "/api/dashboards/race", d).Code
			}()
		}
		won := 0
		for range n {
			switch c := <-codes; c {
			case http.StatusOK:
				won++
			case http.StatusConflict:
			default:
				t.Errorf("status %d", c)
			}
		}
		if won != 1 {
			t.Errorf("%d saves of version 1 won, want 1", won)
		}
	})
}

func TestDashboardBadInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		for _, tc := range []struct {
			name, body string
			status     int
			field, msg string
		}{
			{"malformed", `{"uid":"x","title":`, 400, "", "malformed JSON"},
			{"not an object", `[1]`, 400, "", "must be a JSON object"},
			{"two objects", `{"uid":"x","title":"t"}{}`, 400, "", "one JSON object"},
			{"unknown field", `{"uid":"x","title":"t","owner":"me"}`, 400, "owner", `unknown field "owner"`},
			{"unknown nested field", `{"uid":"x","title":"t","panels":[{"type":"stat","gridPos":{"w":1,"h":1},"color":"red"}]}`, 400, "color", `unknown field "color"`},
			{"wrong type", `{"uid":"x","title":"t","panels":[{"type":"stat","gridPos":{"w":"wide","h":1}}]}`, 400, "panels.gridPos.w", "must be a JSON number"},
			{"unknown panel type", `{"uid":"x","title":"t","panels":[{"type":"piechart","gridPos":{"w":1,"h":1}}]}`, 400, "panels[0].type", `unknown panel type "piechart"`},
			{"bad uid", `{"uid":"a.b","title":"t"}`, 400, "uid", "letters, digits"},
			{"no title", `{"uid":"x","title":""}`, 400, "title", "required"},
			{"long title", `{"uid":"x","title":"` + strings.Repeat("t", 201) + `"}`, 400, "title", "at most 200"},
			{"too wide", `{"uid":"x","title":"t","panels":[{"type":"stat","gridPos":{"x":20,"w":6,"h":1}}]}`, 400, "panels[0].gridPos.x", "24 columns"},
			{"bad refresh", `{"uid":"x","title":"t","refresh":"soon"}`, 400, "refresh", "not a duration"},
			{"refresh too fast", `{"uid":"x","title":"t","refresh":"0s"}`, 400, "refresh", "at least 1s"},
			{"bad time", `{"uid":"x","title":"t","time":{"from":"yesterday","to":"now"}}`, 400, "time.from", "not a time"},
			{"bad variable regex", `{"uid":"x","title":"t","variables":[{"name":"v","type":"query","query":"label_values(job)","regex":"/(?=x)/"}]}`, 400, "variables[0].regex", "RE2"},
			{"bad variable sort", `{"uid":"x","title":"t","variables":[{"name":"v","type":"custom","query":"a","sort":9}]}`, 400, "variables[0].sort", "0 (none) to 8"},
			{"bad variable hide", `{"uid":"x","title":"t","variables":[{"name":"v","type":"custom","query":"a","hide":3}]}`, 400, "variables[0].hide", "hidden"},
			{"too big", `{"uid":"x","title":"` + strings.Repeat("t", maxDashboardBody) + `"}`, 413, "", "larger than 4194304 bytes"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantFieldError(t, ed.expectError("POST", "/api/dashboards", tc.body, tc.status), tc.field, tc.msg)
			})
		}
		var list []Summary
		ed.expect("GET", "/api/dashboards", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("refused dashboards were stored: %+v", list)
		}
	})
}

func TestExportImport(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		viewer := e.user("vera", roles.Viewer)
		ed.expect("POST", "/api/dashboards", sample("src"), http.StatusCreated, nil)

		w := viewer.expect("GET", "/api/dashboards/src/export", nil, http.StatusOK, nil)
		if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="src.json"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		exported := w.Body.Bytes()

		// The export imports as it is, under its own uid: a conflict without overwrite.
		body := `{"dashboard":` + string(exported) + `}`
		if er := ed.expectError("POST", "/api/dashboards/import", body, http.StatusConflict); er.Field != "overwrite" {
			t.Errorf("import over an existing dashboard: %+v", er)
		}
		e.notes.take()
		var st1 Stored
		ed.expect("POST", "/api/dashboards/import", `{"overwrite":true,"dashboard":`+string(exported)+`}`, http.StatusOK, &st1)
		if st1.Dashboard.Version != 2 {
			t.Errorf("overwriting import: version %d, want 2 (after the stored one)", st1.Dashboard.Version)
		}
		if n := e.notes.take(); len(n) != 1 || n[0].event.Type != EventDashboardUpdated || n[0].event.Version != 2 {
			t.Errorf("overwriting import notified %+v", n)
		}

		// Under another uid it is a new dashboard, whatever version the file had.
		var copied Stored
		copyBody := strings.Replace(body, `"uid":"src"`, `"uid":"copy"`, 1)
		ed.expect("POST", "/api/dashboards/import", copyBody, http.StatusCreated, &copied)
		if copied.Dashboard.Version != 1 || copied.Dashboard.Title != "Sample src" || len(copied.Dashboard.Panels) != 2 {
			t.Errorf("imported %+v", copied.Dashboard)
		}
		viewer.expectError("POST", "/api/dashboards/import", copyBody, http.StatusForbidden)
		if er := ed.expectError("POST", "/api/dashboards/import", `{"dashboard":{"uid":"x","title":"t"},"replace":true}`, http.StatusBadRequest); er.Field != "replace" {
			t.Errorf("unknown import field: %+v", er)
		}
	})
}

// Notifications happen after the commit: a hub failure is logged and the write stands.
func TestNotifyFailureDoesNotFailTheWrite(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		var created Stored
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, &created)
		e.notes.fail(errHubDown)
		created.Dashboard.Title = "Saved anyway"
		ed.expect("PUT", "/api/dashboards/ops", created.Dashboard, http.StatusOK, nil)
		var got Stored
		ed.expect("GET", "/api/dashboards/ops", nil, http.StatusOK, &got)
		if got.Dashboard.Title != "Saved anyway" || got.Dashboard.Version != 2 {
			t.Errorf("got %+v", got.Dashboard)
		}
		if !strings.Contains(e.logs.String(), "viewers not notified") || !strings.Contains(e.logs.String(), "hub down") {
			t.Errorf("failure not logged:\n%s", e.logs)
		}
	})
}

// A viewer with an editor override on one dashboard edits that one only; an editor with a
// viewer override there cannot.
func TestPerDashboardOverrides(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		vic := e.user("vic", roles.Viewer)
		var a, b Stored
		ed.expect("POST", "/api/dashboards", sample("a"), http.StatusCreated, &a)
		ed.expect("POST", "/api/dashboards", sample("b"), http.StatusCreated, &b)
		vic.grant("a", roles.Editor)
		ed.grant("b", roles.Viewer)

		var got Stored
		vic.expect("GET", "/api/dashboards/a", nil, http.StatusOK, &got)
		if !got.Meta.CanEdit {
			t.Error("canEdit false for an editor override")
		}
		vic.expect("PUT", "/api/dashboards/a", a.Dashboard, http.StatusOK, nil)
		vic.expectError("PUT", "/api/dashboards/b", b.Dashboard, http.StatusForbidden)
		ed.expectError("PUT", "/api/dashboards/b", b.Dashboard, http.StatusForbidden)
		ed.expect("GET", "/api/dashboards/b", nil, http.StatusOK, &got)
		if got.Meta.CanEdit {
			t.Error("canEdit true under a viewer override")
		}
		// Import and create name the dashboard in the body: the override applies there too.
		ed.expectError("POST", "/api/dashboards/import", map[string]any{"dashboard": sample("b"), "overwrite": true}, http.StatusForbidden)
		vic.expectError("POST", "/api/dashboards/import", map[string]any{"dashboard": sample("a"), "overwrite": true}, http.StatusForbidden) // importing needs the editor role itself
	})
}

// A dashboard created again under a deleted one's uid starts without the old one's roles.
func TestDeleteForgetsDashboardRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		vera := e.user("vera", roles.Viewer)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		vera.grant("ops", roles.Editor)
		vera.expect("POST", "/api/dashboards/ops/annotations", `{"text":"as an editor of ops"}`, http.StatusCreated, nil)
		ed.expect("DELETE", "/api/dashboards/ops", nil, http.StatusNoContent, nil)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		vera.expectError("POST", "/api/dashboards/ops/annotations", `{"text":"no longer"}`, http.StatusForbidden)
	})
}
