package app_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// viewer is a dashboard viewer's WebSocket, negotiated as the browser does.
type viewer struct{ ws *websocket.Conn }

func watch(t *testing.T, b *browser, uid string) *viewer {
	t.Helper()
	var neg struct{ URL, MetricsGroup string }
	if err := json.Unmarshal([]byte(b.expect("GET", "/api/negotiate?dashboard="+uid, "", 200)), &neg); err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"json.reliable.webpubsub.azure.v1"}}
	ws, _, err := d.Dial(neg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	v := &viewer{ws: ws}
	if err := ws.WriteJSON(map[string]any{"type": "joinGroup", "group": neg.MetricsGroup, "ackId": 1}); err != nil {
		t.Fatal(err)
	}
	for {
		m := v.next(t)
		if m["type"] == "ack" {
			if m["success"] != true {
				t.Fatalf("join %s: %v", neg.MetricsGroup, m)
			}
			return v
		}
	}
}

func (v *viewer) next(t *testing.T) map[string]any {
	t.Helper()
	_ = v.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	var m map[string]any
	if err := v.ws.ReadJSON(&m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// server reads the next message of the given type that the server sent to the dashboard's
// group. As in Web PubSub, what an app server sends to a group reaches its members as a group
// message without a fromUserId, which every viewer's message has.
func (v *viewer) server(t *testing.T, typ string) map[string]any {
	t.Helper()
	for {
		m := v.next(t)
		data, _ := m["data"].(map[string]any)
		group, _ := m["group"].(string)
		_, metrics := collab.DashboardOfMetricsGroup(group)
		_, fromViewer := m["fromUserId"]
		if m["type"] == "message" && m["from"] == "group" && metrics && !fromViewer && data["type"] == typ {
			return data
		}
	}
}

const opsDashboard = `{"uid":"ops","title":"Ops","refresh":"1s","time":{"from":"now-5m","to":"now"},"panels":[
 {"type":"timeseries","title":"Load","gridPos":{"x":0,"y":0,"w":12,"h":8},"targets":[{"refId":"A","expr":"node_load1"},{"refId":"B","expr":"node_load5"}]},
 {"type":"stat","title":"Up","gridPos":{"x":12,"y":0,"w":12,"h":8},"targets":[{"refId":"A","expr":"sum(up)"}]}]}`

// Fifty viewers of one dashboard cost one evaluation of each panel query per interval: the
// server's query counter grows with pushes, not with viewers, and every viewer gets every push.
func TestLivePanelsCostOneQueryPerInterval(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", opsDashboard, 201)

	const viewers = 50
	vs := make([]*viewer, viewers)
	for i := range vs {
		vs[i] = watch(t, admin, "ops")
	}
	// Viewers that joined early may hold pushes from before the last one joined: each skips
	// those, so that all of them count from the same push.
	joined := float64(time.Now().UnixMilli())
	before := liveCounters(t, admin)
	const pushes = 3
	var wg sync.WaitGroup
	times := make([][]float64, viewers)
	for i, v := range vs {
		wg.Go(func() {
			for len(times[i]) < pushes {
				p := v.server(t, "points")
				if p["time"].(float64) < joined {
					continue
				}
				times[i] = append(times[i], p["time"].(float64))
				if n := len(p["results"].([]any)); n != 3 {
					t.Errorf("push with %d results, want 3: %v", n, p)
				}
			}
		})
	}
	wg.Wait()
	after := liveCounters(t, admin)
	evaluations := after["huddle_live_pushes_total"] - before["huddle_live_pushes_total"]
	queries := after["huddle_live_queries_total"] - before["huddle_live_queries_total"]
	// Between the two readings the dashboard was evaluated about `pushes` times (one more or
	// less at the edges), each time with its 3 queries, whatever the 50 viewers.
	if evaluations < pushes-1 || evaluations > pushes+2 || queries < 3*(evaluations-1) || queries > 3*(evaluations+1) {
		t.Fatalf("%v evaluations and %v queries for %d pushes to %d viewers: want 3 queries per evaluation", evaluations, queries, pushes, viewers)
	}
	for i := 1; i < viewers; i++ {
		if fmt.Sprint(times[i]) != fmt.Sprint(times[0]) {
			t.Fatalf("viewer %d got pushes at %v, viewer 0 at %v", i, times[i], times[0])
		}
	}
}

var counterLine = regexp.MustCompile(`(?m)^(huddle_live_\w+) (\S+)$`)

func liveCounters(t *testing.T, b *browser) map[string]float64 {
	t.Helper()
	_, body, _ := b.do("GET", "/metrics", "")
	out := map[string]float64{}
	for _, m := range counterLine.FindAllStringSubmatch(body, -1) {
		out[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	return out
}

// An editor's annotation reaches a viewer over the hub right after it is saved; the viewer
// cannot annotate, and its resync by change number returns what it missed.
func TestAnnotationsByRole(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", strings.Replace(opsDashboard, `"refresh":"1s"`, `"refresh":""`, 1), 201)
	admin.expect("POST", "/api/users", `{"login":"vera","name":"Vera","role":"viewer","password":"vera's long password"}`, 201)
	admin.expect("POST", "/api/users", `{"login":"eddie","name":"Eddie","role":"editor","password":"eddie's long password"}`, 201)
	vera := newBrowser(t, srv.URL)
	vera.expect("POST", "/api/login", `{"user":"vera","password":"vera's long password"}`, 200)
	eddie := newBrowser(t, srv.URL)
	eddie.expect("POST", "/api/login", `{"user":"eddie","password":"eddie's long password"}`, 200)

	v := watch(t, vera, "ops")
	vera.expect("POST", "/api/dashboards/ops/annotations", `{"text":"viewers watch"}`, 403)
	created := eddie.expect("POST", "/api/dashboards/ops/annotations", `{"text":"<script>alert(1)</script> deploy 42","tags":["deploy"]}`, 201)
	var a struct {
		ID  int64
		Seq int64
	}
	_ = json.Unmarshal([]byte(created), &a)

	ev := v.server(t, "annotation.created")
	got, _ := ev["annotation"].(map[string]any)
	if got["text"] != "<script>alert(1)</script> deploy 42" || got["login"] != "eddie" {
		t.Fatalf("event %v", ev)
	}
	missed := vera.expect("GET", fmt.Sprintf("/api/dashboards/ops/annotations?since=%d", a.Seq-1), "", 200)
	if !strings.Contains(missed, `"deploy 42`) && !strings.Contains(missed, `deploy 42"`) {
		t.Fatalf("resync since %d: %s", a.Seq-1, missed)
	}
	eddie.expect("DELETE", fmt.Sprintf("/api/dashboards/ops/annotations/%d", a.ID), "", 204)
	if ev := v.server(t, "annotation.deleted"); ev["annotation"].(map[string]any)["deleted"] != true {
		t.Fatalf("delete event %v", ev)
	}
}

// Every query of the provisioned "This host" dashboard finds data on a fresh server, once the
// collector has collected twice (rates need two samples).
func TestThisHostDashboardHasData(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the host job collects on Linux only")
	}
	srv := apptest.Start(t, config.Config{Metrics: config.Metrics{Interval: time.Second}})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	var st struct {
		Dashboard struct {
			Panels []struct {
				Title   string
				Targets []struct{ RefID, Expr string }
			}
		}
	}
	if err := json.Unmarshal([]byte(admin.expect("GET", "/api/dashboards/this-host", "", 200)), &st); err != nil {
		t.Fatal(err)
	}
	key := createKey(t, admin, "viewer", "metrics:read")
	for _, p := range st.Dashboard.Panels {
		for _, tg := range p.Targets {
			testkit.WaitFor(t, fmt.Sprintf("data for panel %q query %s: %s", p.Title, tg.RefID, tg.Expr), func() bool {
				code, v := queryValue(t, srv.URL, key, tg.Expr)
				return code == 200 && v != ""
			})
		}
	}
}

// The people watching a dashboard are listed by the identity behind their connection, named by
// their account: what a viewer announces about itself plays no part.
func TestViewersAreNamedByTheirAccount(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", `{"uid":"ops","title":"Ops"}`, 201)
	admin.expect("POST", "/api/users", `{"login":"vera","name":"Vera Viewer","role":"viewer","password":"vera's long password"}`, 201)
	vera := newBrowser(t, srv.URL)
	vera.expect("POST", "/api/login", `{"user":"vera","password":"vera's long password"}`, 200)

	if got := admin.expect("GET", "/api/dashboards/ops/viewers", "", 200); strings.TrimSpace(got) != "[]" {
		t.Fatalf("viewers of a dashboard nobody watches: %s", got)
	}
	v := watchURL(t, negotiate(t, vera))
	if err := v.ws.WriteJSON(map[string]any{"type": "joinGroup", "group": "dash.ops.collab", "ackId": 1}); err != nil {
		t.Fatal(err)
	}
	if m := v.next(t); m["type"] != "ack" || m["success"] != true {
		t.Fatalf("join the collaboration group: %v", m)
	}
	if err := v.ws.WriteJSON(map[string]any{"type": "sendToGroup", "group": "dash.ops.collab", "dataType": "json",
		"data": map[string]any{"type": "hello", "name": "Administrator"}}); err != nil {
		t.Fatal(err)
	}
	var viewers []struct{ UserID, Name string }
	if err := json.Unmarshal([]byte(admin.expect("GET", "/api/dashboards/ops/viewers", "", 200)), &viewers); err != nil {
		t.Fatal(err)
	}
	if len(viewers) != 1 || viewers[0].UserID != "vera" || viewers[0].Name != "Vera Viewer" {
		t.Fatalf("viewers = %+v, want vera named Vera Viewer", viewers)
	}
	vera.expect("GET", "/api/dashboards/nowhere/viewers", "", 404)
}
