package collab_test

import (
	"flag"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app/apptest"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files of web/src/golden")

// The answer of /api/negotiate, on a dashboard and on none, is the golden file that the web UI's
// tests read (web/src/messages.test.ts): the page connects and joins its groups with it. The
// clock and the key are fixed, so the token is the same at every run.
func TestNegotiateGolden(t *testing.T) {
	n := &collab.Negotiator{Keys: accesskey.Keys{Primary: apptest.Key}, Access: staticAccess{}, PublicURL: "https://huddle.example",
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC) }}
	for query, name := range map[string]string{"?dashboard=ops": "negotiate-dashboard.json", "": "negotiate-alerts.json"} {
		req := httptest.NewRequest("GET", "/api/negotiate"+query, nil)
		req.Header.Set("X-Test-User", "ada")
		rec := httptest.NewRecorder()
		httpapi.ErrorWriter{}.Handler(n.Negotiate).ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: status %d (%s)", query, rec.Code, rec.Body)
		}
		testkit.WebGolden(t, name, rec.Body.Bytes(), *update)
	}
}
