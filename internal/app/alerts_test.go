package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/testkit"
)

// watchAlerts is the alerts page's connection: negotiated on no dashboard, in the alerts group.
func watchAlerts(t *testing.T, b *browser) *viewer {
	t.Helper()
	var neg struct{ URL, AlertsGroup string }
	if err := json.Unmarshal([]byte(b.expect("GET", "/api/negotiate", "", 200)), &neg); err != nil {
		t.Fatal(err)
	}
	v := watchURL(t, neg.URL)
	if err := v.ws.WriteJSON(map[string]any{"type": "joinGroup", "group": neg.AlertsGroup, "ackId": 1}); err != nil {
		t.Fatal(err)
	}
	for {
		if m := v.next(t); m["type"] == "ack" {
			if m["success"] != true {
				t.Fatalf("join %s: %v", neg.AlertsGroup, m)
			}
			return v
		}
	}
}

// incident reads the alerts group's news until an incident satisfies ok.
func (v *viewer) incident(t *testing.T, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	for {
		m := v.next(t)
		data, _ := m["data"].(map[string]any)
		if m["group"] != collab.AlertsGroup || data["type"] != "incident" {
			continue
		}
		if in := data["incident"].(map[string]any); ok(in) {
			return in
		}
	}
}

const quickRule = `interval: 1s
rules:
  - alert: AlwaysOn
    expr: vector(1) > 0
    severity: 2
    annotations:
      summary: "value {{ $value }}"
`

// A rule put over HTTP fires within its interval; a viewer hears of it on the alerts group,
// takes it and comments, and everyone's copy says so; the Prometheus-shaped APIs list it.
func TestAlertsEndToEnd(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/users", `{"login":"vera","name":"Vera","role":"viewer","password":"vera's long password"}`, 201)
	vera := newBrowser(t, srv.URL)
	vera.expect("POST", "/api/login", `{"user":"vera","password":"vera's long password"}`, 200)
	v := watchAlerts(t, vera)
	a := watchAlerts(t, admin)

	if code, body, _ := admin.doWith("PUT", "/api/alerting/rules/quick", "interval: 1s\nrules:\n  - alert: X\n    expr: 'up =='\n", "application/yaml"); code != 400 ||
		!strings.Contains(body, "rule 1 (X)") {
		t.Fatalf("a broken rule: %d %s", code, body)
	}
	vera.expect("PUT", "/api/alerting/rules/quick", `{"rules":[{"alert":"A","expr":"up"}]}`, 403)
	code, body, _ := admin.doWith("PUT", "/api/alerting/rules/quick", quickRule, "application/yaml")
	if code != 200 || !strings.Contains(body, `"source":"api"`) {
		t.Fatalf("put: %d %s", code, body)
	}

	fired := v.incident(t, func(in map[string]any) bool { return in["rule"] == "AlwaysOn" && in["state"] == "firing" })
	id := fired["id"].(string)
	if fired["severity"] != float64(2) || fired["annotations"].(map[string]any)["summary"] != "value 1" {
		t.Fatalf("incident %v", fired)
	}
	vera.expect("POST", "/api/alerting/incidents/"+id+"/take", "", 200)
	taken := a.incident(t, func(in map[string]any) bool { return in["takenBy"] != nil })
	if taken["takenBy"].(map[string]any)["name"] != "Vera" {
		t.Fatalf("taken %v", taken)
	}
	vera.expect("POST", "/api/alerting/incidents/"+id+"/comments", `{"text":"looking"}`, 201)
	vera.expect("POST", "/api/alerting/incidents/"+id+"/comments", `{"text":""}`, 400)
	vera.expect("POST", "/api/alerting/incidents/"+id+"/comments", `{"text":"x","extra":1}`, 400)
	a.incident(t, func(in map[string]any) bool { return in["comments"] == float64(1) })
	detail := admin.expect("GET", "/api/alerting/incidents/"+id, "", 200)
	for _, want := range []string{`"kind":"fired"`, `"kind":"taken"`, `"text":"looking"`} {
		if !strings.Contains(detail, want) {
			t.Fatalf("timeline lacks %s: %s", want, detail)
		}
	}
	vera.expect("GET", "/api/alerting/incidents/inc_nope", "", 404)
	list := vera.expect("GET", "/api/alerting/incidents?state=firing&severity=2", "", 200)
	if !strings.Contains(list, id) {
		t.Fatalf("firing incidents: %s", list)
	}
	vera.expect("GET", "/api/alerting/incidents?severity=9", "", 400)

	if rules := vera.expect("GET", "/api/v1/rules?type=alert", "", 200); !strings.Contains(rules, `"name":"AlwaysOn"`) ||
		!strings.Contains(rules, `"state":"firing"`) || !strings.Contains(rules, `"name":"host"`) {
		t.Fatalf("/api/v1/rules: %s", rules)
	}
	if alerts := vera.expect("GET", "/api/v1/alerts", "", 200); !strings.Contains(alerts, `"alertname":"AlwaysOn"`) {
		t.Fatalf("/api/v1/alerts: %s", alerts)
	}
	self := admin.expect("GET", "/metrics", "", 200)
	for _, want := range []string{`prometheus_rule_evaluations_total{rule_group=";quick"}`,
		`prometheus_rule_evaluation_failures_total{rule_group=";quick"} 0`, `prometheus_rule_group_last_duration_seconds{rule_group=";quick"}`} {
		if !strings.Contains(self, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	admin.expect("DELETE", "/api/alerting/rules/quick", "", http.StatusNoContent)
	v.incident(t, func(in map[string]any) bool { return in["id"] == id && in["state"] == "resolved" })
	if self := admin.expect("GET", "/metrics", "", 200); strings.Contains(self, `rule_group=";quick"`) {
		t.Fatal("/metrics keeps the series of a deleted group")
	}
	admin.expect("DELETE", "/api/alerting/rules/quick", "", 404)
}

// The default groups are stored on first start and may be edited.
func TestProvisionedRules(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	body := admin.expect("GET", "/api/alerting/rules/huddle", "", 200)
	if !strings.Contains(body, `"expr":"huddle_connections \u003e 1000"`) || !strings.Contains(body, `"severity":2`) ||
		!strings.Contains(body, `"for":"5m"`) || !strings.Contains(body, `"source":"provisioned"`) {
		t.Fatalf("provisioned group: %s", body)
	}
}

// An incident is marked on the dashboards that chart its rule's metrics, live, tagged alert.
func TestAlertAnnotatesDashboards(t *testing.T) {
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	admin.expect("POST", "/api/dashboards", strings.Replace(opsDashboard, `"refresh":"1s"`, `"refresh":""`, 1), 201)
	v := watch(t, admin, "ops")
	admin.doWith("PUT", "/api/alerting/rules/up", "interval: 1s\nrules:\n  - alert: Up\n    expr: up >= 0\n"+
		"    annotations: {summary: \"{{ $labels.job }} is up\"}\n", "application/yaml")
	ev := v.server(t, "annotation.created")
	got := ev["annotation"].(map[string]any)
	tags := fmt.Sprint(got["tags"])
	if !strings.Contains(tags, "alert") || !strings.Contains(tags, "Up") || !strings.Contains(tags, "firing") ||
		!strings.HasPrefix(got["text"].(string), "Up firing") || !strings.Contains(got["text"].(string), "huddle is up") ||
		got["login"] != "huddle" {
		t.Fatalf("annotation %v", got)
	}
}

// A firing rule reaches a webhook through the default policy, and the delivery is on the
// incident's timeline.
func TestAlertNotifiedToWebhook(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	srv := apptest.Start(t, config.Config{})
	admin := newBrowser(t, srv.URL)
	admin.expect("POST", "/api/login", `{"user":"admin","password":"`+apptest.AdminPassword+`"}`, 200)
	var cp struct{ ID string }
	if err := json.Unmarshal([]byte(admin.expect("POST", "/api/alerting/contact-points",
		`{"name":"ops-hook","kind":"webhook","settings":{"url":"`+hook.URL+`"}}`, 201)), &cp); err != nil {
		t.Fatal(err)
	}
	admin.expect("PUT", "/api/alerting/policies", `{"contactPoint":"`+cp.ID+`","groupBy":["alertname"],"groupWait":"0s"}`, 200)
	admin.doWith("PUT", "/api/alerting/rules/quick", quickRule, "application/yaml")
	testkit.WaitFor(t, "the webhook to get the alert", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) > 0 && strings.Contains(bodies[0], "AlwaysOn")
	})
	var list struct{ Incidents []struct{ ID string } }
	_ = json.Unmarshal([]byte(admin.expect("GET", "/api/alerting/incidents?state=firing", "", 200)), &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents %+v", list)
	}
	testkit.WaitFor(t, "the delivery on the incident's timeline", func() bool {
		return strings.Contains(admin.expect("GET", "/api/alerting/incidents/"+list.Incidents[0].ID, "", 200),
			`"kind":"notified","user":null,"text":"ops-hook (webhook): ok"`)
	})
}
