package app_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/dashboard"
)

// fleet writes half an hour of node_exporter-shaped series, every 10 s up to now, for two
// jobs: edge (one node) and fleet (two nodes, one target down).
func fleet(t *testing.T, base, key string, now time.Time) {
	t.Helper()
	type node struct{ job, name, instance string }
	nodes := []node{{"edge", "edge-1", "10.0.0.9:9100"}, {"fleet", "fleet-b", "10.0.1.2:9100"}, {"fleet", "fleet-a", "10.0.1.1:9100"}}
	var series []prompb.TimeSeries
	add := func(value func(i int) float64, ls ...string) {
		s := prompb.TimeSeries{}
		for i := 0; i < len(ls); i += 2 {
			s.Labels = append(s.Labels, prompb.Label{Name: ls[i], Value: ls[i+1]})
		}
		for i := range 180 {
			s.Samples = append(s.Samples, prompb.Sample{Value: value(i), Timestamp: now.Add(time.Duration(i-179) * 10 * time.Second).UnixMilli()})
		}
		series = append(series, s)
	}
	one := func(int) float64 { return 1 }
	for _, n := range nodes {
		add(one, "__name__", "node_uname_info", "job", n.job, "instance", n.instance, "nodename", n.name)
		add(one, "__name__", "up", "job", n.job, "instance", n.instance)
		for k, mode := range []string{"user", "system", "iowait", "idle"} {
			add(func(i int) float64 { return float64(i * (k + 1)) }, "__name__", "node_cpu_seconds_total",
				"job", n.job, "instance", n.instance, "nodename", n.name, "cpu", "0", "mode", mode)
		}
		for k, mount := range []string{"/", "/boot", "/data1"} {
			add(func(int) float64 { return float64(k+1) * 1e9 }, "__name__", "node_filesystem_avail_bytes",
				"job", n.job, "instance", n.instance, "nodename", n.name, "mountpoint", mount)
		}
	}
	add(func(int) float64 { return 0 }, "__name__", "up", "job", "fleet", "instance", "10.0.1.1:9200")
	if code := remoteWriteSeries(t, base, key, series...); code != 204 {
		t.Fatalf("remote write: %d", code)
	}
}

// expansion asks for a dashboard's queries over the last 30 minutes before now, as the browser
// does when it opens the dashboard on its own range.
func expansion(t *testing.T, b *browser, uid string, now time.Time) dashboard.Expansion {
	t.Helper()
	var x dashboard.Expansion
	q := url.Values{"from": {fmt.Sprint(now.Add(-30 * time.Minute).UnixMilli())}, "to": {fmt.Sprint(now.UnixMilli())}}
	if err := json.Unmarshal([]byte(b.expect("GET", "/api/dashboards/"+uid+"/queries?"+q.Encode(), "", 200)), &x); err != nil {
		t.Fatal(err)
	}
	return x
}

// rangeResult is one series of a range query's answer.
type rangeResult struct {
	Metric map[string]string
	Values [][2]any
}

// evaluateAll runs every target of x as the browser loads history (query_range over the
// expansion's start, end and step) and requires data from each; it returns the series of each
// panel's targets, by panel id.
func evaluateAll(t *testing.T, b *browser, x dashboard.Expansion) map[int64][]map[string]string {
	t.Helper()
	out := map[int64][]map[string]string{}
	for _, p := range x.Panels {
		for _, tg := range p.Targets {
			q := url.Values{"query": {tg.Expr}, "start": {strconv.FormatFloat(float64(x.Start)/1000, 'f', -1, 64)},
				"end": {strconv.FormatFloat(float64(x.End)/1000, 'f', -1, 64)}, "step": {strconv.FormatFloat(float64(x.Step)/1000, 'f', -1, 64)}}
			var res struct {
				Status string
				Data   struct{ Result []rangeResult }
			}
			body := b.expect("GET", "/api/v1/query_range?"+q.Encode(), "", 200)
			if err := json.Unmarshal([]byte(body), &res); err != nil {
				t.Fatal(err)
			}
			if len(res.Data.Result) == 0 || len(res.Data.Result[0].Values) == 0 {
				t.Errorf("panel %d target %s: no data for %s", p.ID, tg.RefID, tg.Expr)
			}
			for _, r := range res.Data.Result {
				out[p.ID] = append(out[p.ID], r.Metric)
			}
		}
	}
	return out
}

func importGrafana(t *testing.T, b *browser, model []byte) dashboard.ImportResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"dashboard": json.RawMessage(model), "overwrite": true})
	var resp dashboard.ImportResponse
	if err := json.Unmarshal([]byte(b.expect("POST", "/api/dashboards/import", string(body), 201)), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// A Grafana dashboard with the variable shapes of real ones (written here, not copied): it
// imports, every variable takes Grafana's value, every panel's queries as the browser gets them
// return data, a chained variable follows the one it uses, and the live pushes are of the same
// queries as the history.
func TestGrafanaVariables(t *testing.T) {
	// The fleet's series alone: this host's own node_uname_info would add a job.
	admin, now, raw := fleetServer(t, config.Config{Metrics: config.Metrics{Host: config.HostJob{CollectJob: config.CollectJob{Disabled: true}}}})
	imported := importGrafana(t, admin, raw)
	if want := `variable "ds" (datasource): not supported`; !slices.Contains(imported.Skipped, want) {
		t.Errorf("skipped %q, want %q among them", imported.Skipped, want)
	}
	uid := imported.Dashboard.UID

	x := expansion(t, admin, uid, now)
	states := map[string]string{}
	for _, v := range x.Variables {
		states[v.Name] = fmt.Sprintf("%v %v %s", v.Options, v.Current, v.Error)
	}
	// As Grafana resolves them: current {} is the first option (sort 1: edge), or All when
	// there is one; a chained variable lists the values of the job chosen; regex keeps the
	// port ($1) and the value group of the mounts, sorted numerically and descending.
	for name, want := range map[string]string{
		"job":      "[edge fleet] [edge] ",
		"node":     "[edge-1] [edge-1] ",
		"instance": "[10.0.0.9:9100] [$__all] ",
		"port":     "[9100] [$__all] ",
		"mode":     "[user system iowait idle] [user system] ",
		"mount":    "[/data1 /boot] [$__all] ",
		"scrape":   "[10s] [10s] ",
	} {
		if states[name] != want {
			t.Errorf("$%s: %s, want %s", name, states[name], want)
		}
	}
	exprs := map[int64]string{}
	for _, p := range x.Panels {
		exprs[p.ID] = p.Targets[0].Expr
	}
	for id, want := range map[int64]string{
		2: `sum by (mode) (rate(node_cpu_seconds_total{job="edge",nodename="edge-1",mode=~"(user|system)"}[40s]))`,
		3: `up{job="edge",instance=~".+"}`,
		4: `node_filesystem_avail_bytes{job="edge",nodename="edge-1",mountpoint=~"(/data1|/boot)"}`,
		5: `count(up{job="edge",instance=~".*:9100"})`,
	} {
		if exprs[id] != want {
			t.Errorf("panel %d: %s, want %s", id, exprs[id], want)
		}
	}
	if x.Step != 3000 {
		t.Errorf("step %d ms, want 3000 (30 min / 720 points)", x.Step)
	}
	history := evaluateAll(t, admin, x)

	// The live pushes evaluate the same expansion: same key, and the series of each panel are
	// among those its history holds.
	v := watch(t, admin, uid)
	push := v.server(t, "points")
	if push["key"] != x.Key {
		t.Errorf("push key %v, history key %s", push["key"], x.Key)
	}
	for _, r := range push["results"].([]any) {
		res := r.(map[string]any)
		panel := int64(res["panel"].(float64))
		for _, s := range res["result"].([]any) {
			metric := map[string]string{}
			for k, val := range s.(map[string]any)["metric"].(map[string]any) {
				metric[k] = val.(string)
			}
			if !slices.ContainsFunc(history[panel], func(h map[string]string) bool { return fmt.Sprint(h) == fmt.Sprint(metric) }) {
				t.Errorf("panel %d: pushed series %v is not in its history %v", panel, metric, history[panel])
			}
		}
	}

	// The job chosen for everyone: the node follows, its first value in place of edge's.
	var st dashboard.Stored
	if err := json.Unmarshal([]byte(admin.expect("GET", "/api/dashboards/"+uid, "", 200)), &st); err != nil {
		t.Fatal(err)
	}
	for i := range st.Dashboard.Variables {
		if st.Dashboard.Variables[i].Name == "job" {
			st.Dashboard.Variables[i].Current = []string{"fleet"}
		}
	}
	saved, _ := json.Marshal(st.Dashboard)
	admin.expect("PUT", "/api/dashboards/"+uid, string(saved), 200)
	x = expansion(t, admin, uid, now)
	for _, v := range x.Variables {
		if v.Name == "node" && fmt.Sprint(v.Options, v.Current) != "[fleet-a fleet-b] [fleet-a]" {
			t.Errorf("$node after choosing fleet: %v %v", v.Options, v.Current)
		}
		if v.Name == "port" && fmt.Sprint(v.Options) != "[9100 9200]" {
			t.Errorf("$port of fleet: %v", v.Options)
		}
	}
	evaluateAll(t, admin, x)
}

// A dashboard of 125 panels in rows, some collapsed, of every panel type, imports whole and
// every panel shows data.
func TestGrafanaDashboardOf125Panels(t *testing.T) {
	admin, now, raw := fleetServer(t, config.Config{})
	var model map[string]any
	if err := json.Unmarshal(raw, &model); err != nil {
		t.Fatal(err)
	}
	model["uid"], model["title"] = "fleet-125", "Fleet, 125 panels"
	model["panels"] = panelsInRows(125, 10)
	raw, _ = json.Marshal(model)
	imported := importGrafana(t, admin, raw)
	if n := len(imported.Dashboard.Panels); n != 125 {
		t.Fatalf("%d panels imported, want 125; skipped %q", n, imported.Skipped)
	}
	types := map[string]int{}
	for _, p := range imported.Dashboard.Panels {
		types[p.Type]++
	}
	if len(types) != 5 {
		t.Errorf("panel types %v", types)
	}
	evaluateAll(t, admin, expansion(t, admin, "fleet-125", now))
}

// panelsInRows lays n panels out in rows of perRow, every other row collapsed (its panels
// inside it, as Grafana saves them), cycling through the panel types and queries of a node
// dashboard that use the variables.
func panelsInRows(n, perRow int) []any {
	types := []string{"timeseries", "stat", "gauge", "bargauge", "table"}
	exprs := []string{
		`sum by (mode) (rate(node_cpu_seconds_total{job="$job",nodename="$node",mode=~"$mode"}[$__rate_interval]))`,
		`count(node_uname_info{job="$job"})`,
		`avg(up{job="$job",instance=~"$instance"})`,
		`node_filesystem_avail_bytes{job="$job",nodename="$node",mountpoint=~"$mount"}`,
		`up{job="$job",instance=~".*:$port"}`,
	}
	var out []any
	y, id := 0, 1
	for row := 0; id <= n; row++ {
		collapsed := row%2 == 1
		r := map[string]any{"type": "row", "id": 1000 + row, "title": fmt.Sprintf("Row %d", row),
			"collapsed": collapsed, "gridPos": map[string]int{"x": 0, "y": y, "w": 24, "h": 1}, "panels": []any{}}
		y++
		var children []any
		for k := 0; k < perRow && id <= n; k, id = k+1, id+1 {
			children = append(children, map[string]any{
				"type": types[id%len(types)], "id": id, "title": fmt.Sprintf("Panel %d of $job", id),
				"gridPos":    map[string]int{"x": (k % 4) * 6, "y": y + (k/4)*5, "w": 6, "h": 5},
				"datasource": map[string]string{"type": "prometheus", "uid": "${DS_PROM}"},
				"targets":    []any{map[string]any{"refId": "A", "expr": exprs[id%len(exprs)], "legendFormat": "{{instance}}"}},
			})
		}
		height := ((len(children) + 3) / 4) * 5
		if collapsed {
			r["panels"] = children
			out = append(out, r)
		} else {
			out = append(out, r)
			out = append(out, children...)
			y += height
		}
	}
	return out
}

// fleetServer starts a server holding the fleet's series, with its administrator signed in, and
// reads the Grafana fixture of the variable tests.
func fleetServer(t *testing.T, cfg config.Config) (*browser, time.Time, []byte) {
	srv := apptest.Start(t, cfg)
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	now := time.Now()
	fleet(t, srv.URL, createKey(t, admin, "editor", "metrics:write"), now)
	raw, err := os.ReadFile(filepath.Join("testdata", "grafana-variables.json"))
	if err != nil {
		t.Fatal(err)
	}
	return admin, now, raw
}
