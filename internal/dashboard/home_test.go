package dashboard

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

// mine is what the dashboards list says of each dashboard to one person.
func mine(c *client) map[string]Summary {
	var list []Summary
	c.expect("GET", "/api/dashboards", nil, http.StatusOK, &list)
	out := make(map[string]Summary, len(list))
	for _, d := range list {
		out[d.UID] = d
	}
	return out
}

// TestStarsArePerPerson: a star is its person's alone, starring twice or unstarring what is not
// starred changes nothing, and a missing dashboard cannot be starred.
func TestStarsArePerPerson(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		vera := e.user("vera", roles.Viewer)
		ed.expect("POST", "/api/dashboards", sample("ops"), http.StatusCreated, nil)
		ed.expect("POST", "/api/dashboards", sample("web"), http.StatusCreated, nil)

		vera.expect("PUT", "/api/dashboards/ops/star", nil, http.StatusNoContent, nil)
		vera.expect("PUT", "/api/dashboards/ops/star", nil, http.StatusNoContent, nil)
		vera.expect("DELETE", "/api/dashboards/web/star", nil, http.StatusNoContent, nil)
		if got := mine(vera); !got["ops"].Starred || got["web"].Starred {
			t.Fatalf("vera's list: %+v, want ops starred only", got)
		}
		if got := mine(ed); got["ops"].Starred || got["web"].Starred {
			t.Fatalf("eddie's list: %+v, want no star", got)
		}
		vera.expect("DELETE", "/api/dashboards/ops/star", nil, http.StatusNoContent, nil)
		if got := mine(vera); got["ops"].Starred {
			t.Fatalf("ops still starred after DELETE: %+v", got["ops"])
		}
		vera.expectError("PUT", "/api/dashboards/nope/star", nil, http.StatusNotFound)

		// A deleted dashboard takes its stars with it.
		vera.expect("PUT", "/api/dashboards/web/star", nil, http.StatusNoContent, nil)
		ed.expect("DELETE", "/api/dashboards/web", nil, http.StatusNoContent, nil)
		var n int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM dashboard_stars`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("stars left after the dashboard's deletion: %d (%v)", n, err)
		}
	})
}

// TestRecentViews: opening a dashboard in the app records when, per person; an API key's read
// does not; only the MaxRecent latest views are kept.
func TestRecentViews(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		vera := e.user("vera", roles.Viewer)
		for i := range MaxRecent + 2 {
			ed.expect("POST", "/api/dashboards", sample(fmt.Sprint("d", i)), http.StatusCreated, nil)
		}

		start := e.clock.Now().UnixMilli()
		vera.expect("GET", "/api/dashboards/d0", nil, http.StatusOK, nil)
		vera.apiKey(roles.ScopeDashboardsRead).expect("GET", "/api/dashboards/d1", nil, http.StatusOK, nil)
		got := mine(vera)
		if got["d0"].ViewedAt != start || got["d1"].ViewedAt != 0 {
			t.Fatalf("after opening d0 (and a key reading d1): d0 %d, d1 %d; want %d, 0", got["d0"].ViewedAt, got["d1"].ViewedAt, start)
		}
		if got := mine(ed); got["d0"].ViewedAt != 0 {
			t.Fatalf("eddie's list shows vera's view: %+v", got["d0"])
		}

		for i := range MaxRecent + 2 {
			e.clock.Advance(time.Second)
			vera.expect("GET", fmt.Sprint("/api/dashboards/d", i), nil, http.StatusOK, nil)
		}
		got = mine(vera)
		for i := range MaxRecent + 2 {
			uid := fmt.Sprint("d", i)
			if kept, want := got[uid].ViewedAt != 0, i >= 2; kept != want {
				t.Errorf("%s viewed at %d: kept %v, want %v", uid, got[uid].ViewedAt, kept, want)
			}
		}
		if last := got[fmt.Sprint("d", MaxRecent+1)].ViewedAt; last != e.clock.Now().UnixMilli() {
			t.Errorf("latest view at %d, want %d", last, e.clock.Now().UnixMilli())
		}
	})
}
