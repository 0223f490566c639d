package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/roles"
	"github.com/huddle-dev/huddle/internal/store"
	"github.com/huddle-dev/huddle/internal/store/storetest"
)

func TestProvisionOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ed := e.user("eddie", roles.Editor)
		if err := e.svc.Provision(t.Context()); err != nil {
			t.Fatal(err)
		}
		var got Stored
		ed.expect("GET", "/api/dashboards/"+ThisHostUID, nil, http.StatusOK, &got)
		if got.Dashboard.Title != "This host" || got.Dashboard.Version != 1 || len(got.Dashboard.Panels) != len(ThisHost().Panels) {
			t.Fatalf("provisioned %+v", got.Dashboard)
		}

		// A user's edit survives the next start.
		got.Dashboard.Title = "My host"
		ed.expect("PUT", "/api/dashboards/"+ThisHostUID, got.Dashboard, http.StatusOK, nil)
		if err := e.svc.Provision(t.Context()); err != nil {
			t.Fatal(err)
		}
		ed.expect("GET", "/api/dashboards/"+ThisHostUID, nil, http.StatusOK, &got)
		if got.Dashboard.Title != "My host" || got.Dashboard.Version != 2 {
			t.Errorf("provisioning again changed the dashboard: %q version %d", got.Dashboard.Title, got.Dashboard.Version)
		}

		// So does a deletion.
		ed.expect("DELETE", "/api/dashboards/"+ThisHostUID, nil, http.StatusNoContent, nil)
		if err := e.svc.Provision(t.Context()); err != nil {
			t.Fatal(err)
		}
		ed.expectError("GET", "/api/dashboards/"+ThisHostUID, nil, http.StatusNotFound)
	})
}

// A dashboard someone made with the uid before the first provisioning is kept as it is.
func TestProvisionKeepsExistingDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.SQLite(t))
	ed := e.user("eddie", roles.Editor)
	ed.expect("POST", "/api/dashboards", sample(ThisHostUID), http.StatusCreated, nil)
	if err := e.svc.Provision(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got Stored
	ed.expect("GET", "/api/dashboards/"+ThisHostUID, nil, http.StatusOK, &got)
	if got.Dashboard.Title != "Sample this-host" {
		t.Errorf("provisioning replaced a user's dashboard: %q", got.Dashboard.Title)
	}
}

// The provisioned model covers the machine and huddle itself, in the names the collectors use.
func TestThisHostModel(t *testing.T) {
	d := ThisHost()
	if err := d.normalize(); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	var exprs []string
	for _, p := range d.Panels {
		types[p.Type] = true
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, pt := range panelTypes {
		if !types[pt] {
			t.Errorf("no %s panel", pt)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, metric := range []string{
		`100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])))`, "node_memory_MemAvailable_bytes",
		"node_load1", "node_load5", "node_load15", "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
		"node_disk_read_bytes_total", "node_disk_written_bytes_total", "node_network_receive_bytes_total",
		"node_network_transmit_bytes_total", `huddle_connections{job="huddle"}`,
		`huddle_messages_received_total{job="huddle"}`, `huddle_messages_delivered_total{job="huddle"}`,
	} {
		if !strings.Contains(all, metric) {
			t.Errorf("no panel queries %s", metric)
		}
	}
}
