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

// GET /api/dashboards/{uid}/queries answers the stored dashboard expanded for the range asked,
// and refuses a range it cannot expand.
func TestQueriesEndpoint(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		d := sample("q1")
		d.Refresh = "10s"
		d.Variables = []Variable{{Name: "job", Type: "custom", Query: "node, huddle", Current: []string{"huddle"}}}
		d.Panels[1].Targets[0].Expr = `up{job="$job"}`
		ed.expect("POST", "/api/dashboards", d, http.StatusCreated, nil)

		to := time.Unix(1_800_000_000, 0)
		var x Expansion
		ed.expect("GET", fmt.Sprintf("/api/dashboards/q1/queries?from=%d&to=%d", to.Add(-time.Hour).UnixMilli(), to.UnixMilli()), nil, http.StatusOK, &x)
		if x.Version != 1 || x.Step != 10_000 || x.End != to.UnixMilli() || len(x.Panels) != 2 || x.Key == "" {
			t.Fatalf("expansion %+v", x)
		}
		if got := x.Panels[1].Targets[0].Expr; got != `up{job="huddle"}` {
			t.Errorf("expr %s", got)
		}
		if fmt.Sprint(x.Variables) != "[{job [node huddle] [huddle] }]" {
			t.Errorf("variables %v", x.Variables)
		}
		for _, q := range []string{"", "from=1", "from=2&to=1", "from=0&to=999999999999999", "from=1&to=2&step=5"} {
			ed.expectError("GET", "/api/dashboards/q1/queries?"+q, nil, http.StatusBadRequest)
		}
		ed.expectError("GET", "/api/dashboards/nope/queries?from=1&to=2", nil, http.StatusNotFound)
	})
}
