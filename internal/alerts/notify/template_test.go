package notify

import (
	"strconv"
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	t.Parallel()
	var all []Alert
	for i := range 25 {
		all = append(all, firing("DiskFull", "fp"+strconv.Itoa(i)))
	}
	resolved := firing("DiskFull", "fp-r")
	resolved.EndsAt = resolved.StartsAt.Add(1)
	m := newMessage("k", map[string]string{"alertname": "DiskFull", "team": "db"}, all, []Alert{resolved}, "http://huddle.example")
	title, body := plainText.render(m)
	if title != "[FIRING:25] DiskFull team=db" {
		t.Errorf("title %q", title)
	}
	if n := strings.Count(body, "DiskFull — error, firing on db1:9100"); n != maxShown {
		t.Errorf("%d alerts listed, want %d", n, maxShown)
	}
	if !strings.Contains(body, "… and 6 more") || !strings.HasSuffix(body, "http://huddle.example") {
		t.Errorf("body %q", body)
	}
	m = newMessage("k", nil, nil, []Alert{resolved}, "")
	m.Test = true
	if title, _ := slackText.render(m); title != "[TEST] [RESOLVED] DiskFull" {
		t.Errorf("title %q", title)
	}
}
