package dashboard

import (
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

func TestAnnotationLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		viewer := e.user("vera", roles.Viewer)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)

		// A viewer must not annotate, and that notifies nobody.
		viewer.expectError("POST", "/api/dashboards/ops/annotations", AnnotationInput{Text: "no"}, http.StatusForbidden)
		if n := e.notes.take(); len(n) != 0 {
			t.Errorf("refused annotation notified %v", n)
		}

		now := e.clock.Now().UnixMilli()
		var a Annotation
		ed.expect("POST", "/api/dashboards/ops/annotations",
			AnnotationInput{PanelID: 2, Time: now - 60_000, TimeEnd: now, Tags: []string{"deploy", " v2 ", "deploy"}, Text: "rolled out v2"},
			http.StatusCreated, &a)
		if a.ID <= 0 || a.ID >= 1<<53 || a.DashboardUID != "ops" || a.PanelID != 2 || a.Login != "eddie" ||
			a.UserID != ed.user.ID || a.Seq != 1 || a.Created != now || !slices.Equal(a.Tags, []string{"deploy", "v2"}) {
			t.Errorf("created %+v", a)
		}
		n := e.notes.take()
		if len(n) != 1 || n[0].group != collab.MetricsGroup("ops") || n[0].event.Type != EventAnnotationCreated ||
			n[0].event.Version != 1 || n[0].event.Annotation == nil || n[0].event.Annotation.ID != a.ID {
			t.Errorf("notified %+v", n)
		}

		// A point annotation defaults to now and ends where it starts.
		var p Annotation
		ed.expect("POST", "/api/dashboards/ops/annotations", AnnotationInput{Text: "point"}, http.StatusCreated, &p)
		if p.Time != now || p.TimeEnd != now || p.PanelID != 0 || p.Seq != 2 || len(p.Tags) != 0 {
			t.Errorf("point %+v", p)
		}

		var list []Annotation
		viewer.expect("GET", "/api/dashboards/ops/annotations", nil, http.StatusOK, &list)
		if len(list) != 2 || list[0].ID != p.ID || list[1].ID != a.ID || list[1].Text != "rolled out v2" {
			t.Errorf("list %+v, want newest first", list)
		}

		e.clock.Advance(time.Second)
		var u Annotation
		ed.expect("PUT", fmt.Sprintf("/api/dashboards/ops/annotations/%d", a.ID),
			AnnotationInput{PanelID: 1, Time: a.Time, TimeEnd: a.TimeEnd, Tags: []string{"rollback"}, Text: "rolled back"}, http.StatusOK, &u)
		if u.Text != "rolled back" || u.PanelID != 1 || u.Seq != 3 || u.Created != now || u.Updated != now+1000 ||
			!slices.Equal(u.Tags, []string{"rollback"}) || u.Login != "eddie" {
			t.Errorf("updated %+v", u)
		}
		if n := e.notes.take(); len(n) != 2 || n[1].event.Type != EventAnnotationUpdated || n[1].event.Annotation.Text != "rolled back" {
			t.Errorf("notified %+v", n)
		}

		ed.expect("DELETE", fmt.Sprintf("/api/dashboards/ops/annotations/%d", p.ID), nil, http.StatusNoContent, nil)
		n = e.notes.take()
		if len(n) != 1 || n[0].event.Type != EventAnnotationDeleted || !n[0].event.Annotation.Deleted || n[0].event.Annotation.Seq != 4 {
			t.Errorf("notified %+v", n)
		}
		ed.expectError("DELETE", fmt.Sprintf("/api/dashboards/ops/annotations/%d", p.ID), nil, http.StatusNotFound)
		ed.expectError("PUT", fmt.Sprintf("/api/dashboards/ops/annotations/%d", p.ID), AnnotationInput{Text: "x"}, http.StatusNotFound)
		ed.expectError("DELETE", "/api/dashboards/ops/annotations/abc", nil, http.StatusNotFound)
		if n := e.notes.take(); len(n) != 0 {
			t.Errorf("failed writes notified %v", n)
		}
		viewer.expect("GET", "/api/dashboards/ops/annotations", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != a.ID {
			t.Errorf("after delete %+v", list)
		}

		// Resync: every change after change 1, the deletion included, in order.
		var changes []Annotation
		viewer.expect("GET", "/api/dashboards/ops/annotations?since=1", nil, http.StatusOK, &changes)
		if len(changes) != 2 || changes[0].ID != a.ID || changes[0].Seq != 3 || changes[1].ID != p.ID || !changes[1].Deleted || changes[1].Text != "" {
			t.Errorf("changes since 1: %+v", changes)
		}
		var got Stored
		viewer.expect("GET", "/api/dashboards/ops", nil, http.StatusOK, &got)
		if got.Meta.AnnotationSeq != 4 {
			t.Errorf("annotationSeq %d, want 4", got.Meta.AnnotationSeq)
		}

		// An annotation belongs to its dashboard: another dashboard's path does not reach it.
		ed.expect("POST", "/api/dashboards", sample("other"), http.StatusCreated, nil)
		ed.expectError("DELETE", fmt.Sprintf("/api/dashboards/other/annotations/%d", a.ID), nil, http.StatusNotFound)
		// Deleting the dashboard deletes its annotations.
		ed.expect("DELETE", "/api/dashboards/ops", nil, http.StatusNoContent, nil)
		viewer.expect("GET", "/api/annotations", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("annotations outlived their dashboard: %+v", list)
		}
	})
}

func TestAnnotationBadInput(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		huge := `{"text":"` + strings.Repeat("a", 10<<20) + `"}`
		for _, tc := range []struct {
			name, path, body string
			status           int
			field, msg       string
		}{
			{"10 MB", "/api/dashboards/ops/annotations", huge, 413, "", "larger than 131072 bytes"},
			{"long text", "/api/dashboards/ops/annotations", `{"text":"` + strings.Repeat("é", MaxAnnotationText+1) + `"}`, 400, "text", "at most 10000 characters"},
			{"no text", "/api/dashboards/ops/annotations", `{"text":"  "}`, 400, "text", "required"},
			{"unknown field", "/api/dashboards/ops/annotations", `{"text":"x","color":"red"}`, 400, "color", `unknown field "color"`},
			{"end before start", "/api/dashboards/ops/annotations", `{"text":"x","time":2000,"timeEnd":1000}`, 400, "timeEnd", "before time"},
			{"unknown panel", "/api/dashboards/ops/annotations", `{"text":"x","panelId":99}`, 400, "panelId", "no panel 99"},
			{"unknown dashboard", "/api/dashboards/nope/annotations", `{"text":"x"}`, 404, "", `dashboard "nope" not found`},
			{"control characters", "/api/dashboards/ops/annotations", `{"text":"x\u0000y"}`, 400, "text", "control characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantFieldError(t, ed.expectError("POST", tc.path, tc.body, tc.status), tc.field, tc.msg)
			})
		}
		var list []Annotation
		ed.expect("GET", "/api/dashboards/ops/annotations", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("refused annotations were stored: %+v", list)
		}
		if n := e.notes.take(); len(n) != 0 {
			t.Errorf("refused annotations notified %v", n)
		}
		for _, q := range []string{"from=yesterday", "limit=5000", "matchAny=perhaps", "dashboard=ops", "since=-1"} {
			ed.expectError("GET", "/api/dashboards/ops/annotations?"+q, nil, http.StatusBadRequest)
		}
		ed.expectError("GET", "/api/annotations?since=3", nil, http.StatusBadRequest) // since needs a dashboard
	})
}

// Text is stored as written and only ever answered as JSON, so a browser never runs it.
func TestAnnotationScriptIsText(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		const script = `<script>alert("x")</script><img src=x onerror=alert(1)>`
		w := ed.expect("POST", "/api/dashboards/ops/annotations", AnnotationInput{Text: script, Tags: []string{"<b>"}}, http.StatusCreated, nil)
		for _, w := range []interface {
			Header() http.Header
		}{w, ed.do("GET", "/api/dashboards/ops/annotations", nil), ed.do("GET", "/api/annotations", nil)} {
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("answer may be sniffed")
			}
		}
		var list []Annotation
		ed.expect("GET", "/api/dashboards/ops/annotations", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].Text != script || list[0].Tags[0] != "<b>" {
			t.Errorf("text did not round-trip: %+v", list)
		}
	})
}

// Editors, the author included, change anyone's annotations on dashboards they edit; viewers
// change none, their own made while they were editors included.
func TestAnnotationWhoMayChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		author := e.user("ann", roles.Editor)
		other := e.user("otto", roles.Editor)
		viewer := e.user("vera", roles.Viewer)
		guest := e.user("gus", roles.Viewer) // an editor of "ops" only
		admin := e.user("root", roles.Admin)
		author.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		author.expect("POST", "/api/dashboards", sample("calm"), http.StatusCreated, nil)
		guest.grant("ops", roles.Editor)

		create := func(c *client, uid string) Annotation {
			t.Helper()
			var a Annotation
			c.expect("POST", "/api/dashboards/"+uid+"/annotations", AnnotationInput{Text: "by " + c.user.Login}, http.StatusCreated, &a)
			return a
		}
		path := func(a Annotation) string {
			return fmt.Sprintf("/api/dashboards/%s/annotations/%d", a.DashboardUID, a.ID)
		}
		edit := AnnotationInput{Text: "edited"}

		a := create(author, "ops")
		author.expect("PUT", path(a), edit, http.StatusOK, nil)
		other.expect("PUT", path(a), edit, http.StatusOK, nil)
		guest.expect("PUT", path(a), edit, http.StatusOK, nil)
		viewer.expectError("PUT", path(a), edit, http.StatusForbidden)
		viewer.expectError("DELETE", path(a), nil, http.StatusForbidden)

		g := create(guest, "ops")
		guest.expectError("POST", "/api/dashboards/calm/annotations", AnnotationInput{Text: "x"}, http.StatusForbidden)
		// The override ends: the guest's own annotation is no longer theirs to change.
		guest.grant("ops", "")
		guest.expectError("PUT", path(g), edit, http.StatusForbidden)
		guest.expectError("DELETE", path(g), nil, http.StatusForbidden)
		other.expect("DELETE", path(g), nil, http.StatusNoContent, nil)

		// An editor demoted to viewer on one dashboard loses the right there.
		other.grant("ops", roles.Viewer)
		other.expectError("DELETE", path(a), nil, http.StatusForbidden)
		admin.expect("DELETE", path(a), nil, http.StatusNoContent, nil)

		// API keys need the write scope as well as the role.
		readOnly := author.apiKey(roles.ScopeDashboardsRead)
		readOnly.expect("GET", "/api/dashboards/ops/annotations", nil, http.StatusOK, nil)
		readOnly.expectError("POST", "/api/dashboards/ops/annotations", edit, http.StatusForbidden)
		author.apiKey(roles.ScopeDashboardsWrite).expect("POST", "/api/dashboards/ops/annotations", edit, http.StatusCreated, nil)
	})
}

func TestAnnotationQueries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		viewer := e.user("vera", roles.Viewer)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		ed.expect("POST", "/api/dashboards", sample("db"), http.StatusCreated, nil)
		ids := map[string]int64{}
		for _, in := range []struct {
			uid, name string
			from, to  int64
			tags      []string
		}{
			{"ops", "deploy", 1000, 1000, []string{"deploy", "prod"}},
			{"ops", "incident", 2000, 5000, []string{"incident", "prod"}},
			{"ops", "test", 8000, 8000, []string{"deploy", "staging"}},
			{"db", "vacuum", 3000, 3000, []string{"maintenance", "prod"}},
		} {
			var a Annotation
			ed.expect("POST", "/api/dashboards/"+in.uid+"/annotations",
				AnnotationInput{Time: in.from, TimeEnd: in.to, Tags: in.tags, Text: in.name}, http.StatusCreated, &a)
			ids[in.name] = a.ID
		}
		texts := func(list []Annotation) []string {
			var out []string
			for _, a := range list {
				out = append(out, a.Text)
			}
			return out
		}
		for _, tc := range []struct {
			query string
			want  []string // newest first
		}{
			{"/api/dashboards/ops/annotations", []string{"test", "incident", "deploy"}},
			{"/api/dashboards/ops/annotations?from=1500&to=4000", []string{"incident"}}, // the range overlaps
			{"/api/dashboards/ops/annotations?from=1000&to=1000", []string{"deploy"}},
			{"/api/dashboards/ops/annotations?to=999", nil},
			{"/api/dashboards/ops/annotations?tags=prod", []string{"incident", "deploy"}},
			{"/api/dashboards/ops/annotations?tags=prod&tags=deploy", []string{"deploy"}},
			{"/api/dashboards/ops/annotations?tags=incident&tags=staging&matchAny=true", []string{"test", "incident"}},
			{"/api/dashboards/ops/annotations?limit=2", []string{"test", "incident"}},
			{"/api/annotations?tags=prod", []string{"vacuum", "incident", "deploy"}},
			{"/api/annotations?dashboardUID=db", []string{"vacuum"}},
			{"/api/annotations?from=2500&to=3500", []string{"vacuum", "incident"}},
		} {
			var list []Annotation
			viewer.expect("GET", tc.query, nil, http.StatusOK, &list)
			if got := texts(list); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %q, want %q", tc.query, got, tc.want)
			}
		}
	})
}

// Concurrent annotations on one dashboard get distinct, gapless change numbers, so a client
// resyncing from any of them misses nothing.
func TestConcurrentAnnotationsAreNumbered(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		const n = 10
		codes := make(chan int, n)
		for i := range n {
			go func() {
				codes <- ed.do("POST", "/api/dashboards/ops/annotations", AnnotationInput{Text: fmt.Sprint(i)}).Code
			}()
		}
		for range n {
			if c := <-codes; c != http.StatusCreated {
				t.Errorf("status %d", c)
			}
		}
		var changes []Annotation
		ed.expect("GET", "/api/dashboards/ops/annotations?since=0", nil, http.StatusOK, &changes)
		for i, a := range changes {
			if a.Seq != int64(i+1) {
				t.Errorf("change %d has seq %d", i, a.Seq)
			}
		}
		if len(changes) != n {
			t.Errorf("%d changes, want %d", len(changes), n)
		}
	})
}
