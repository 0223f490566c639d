package notify

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/testkit"
)

// alertmanagerBin is Debian's prometheus-alertmanager package's binary.
const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// startAlertmanager runs the real Alertmanager on a free port with a one-receiver configuration
// and returns its base URL once it is ready.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(alertmanagerBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: apt-get install prometheus-alertmanager", alertmanagerBin)
		}
		t.Skipf("%s is missing (apt-get install prometheus-alertmanager)", alertmanagerBin)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	logs := &testkit.LogBuffer{}
	cmd := exec.Command(alertmanagerBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", logs)
		}
	})
	base := "http://" + addr
	testkit.WaitFor(t, "alertmanager ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// gettableAlert is what Alertmanager's GET /api/v2/alerts answers per alert (api/v2/openapi.yaml
// in prometheus/alertmanager, definition gettableAlert), the fields this test reads.
type gettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

func alertmanagerAlerts(t *testing.T, base string) []gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var alerts []gettableAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	return alerts
}

// TestRealAlertmanager: the alertmanager contact point's POST is accepted by the real
// Alertmanager, whose API then lists the alert as active, and no longer once it is resolved.
func TestRealAlertmanager(t *testing.T) {
	t.Parallel()
	base := startAlertmanager(t)
	d, _ := newDispatcher(t, nil, Options{})
	cp := addContactPoint(t, d, "am", &AlertmanagerSettings{URLs: []string{base}})
	setPolicy(t, d, Policy{ContactPoint: cp.ID, GroupWait: "0s", GroupInterval: "100ms", RepeatInterval: "1h"})

	a := firing("DiskFull", "fp1")
	a.StartsAt = time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	d.Notify(a)
	var got []gettableAlert
	testkit.WaitFor(t, "alertmanager to list the alert", func() bool {
		got = alertmanagerAlerts(t, base)
		return len(got) > 0
	})
	if len(got) != 1 {
		t.Fatalf("alertmanager lists %d alerts, want 1: %+v", len(got), got)
	}
	g := got[0]
	if g.Labels["alertname"] != "DiskFull" || g.Labels["instance"] != "db1:9100" || g.Annotations["summary"] != a.Annotations["summary"] ||
		!g.StartsAt.Equal(a.StartsAt) || g.GeneratorURL != a.GeneratorURL || g.Status.State != "active" {
		t.Errorf("alertmanager has %+v", g)
	}

	d.Notify(resolvedAt(a, time.Now().Add(-time.Second)))
	testkit.WaitFor(t, "alertmanager to drop the resolved alert", func() bool { return len(alertmanagerAlerts(t, base)) == 0 })
	dls, err := d.Deliveries(context.Background(), DeliveryFilter{Fingerprint: "fp1", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range dls {
		if dl.Status != StatusOK || dl.HTTPStatus != http.StatusOK {
			t.Errorf("delivery %+v", dl)
		}
	}
}
