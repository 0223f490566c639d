package collab_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// sent records what a feed sends, as "<group> <data>".
type sent struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sent) SendToGroup(_ context.Context, group string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, group+" "+string(data))
	return nil
}

// take returns what was sent since the last call.
func (s *sent) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.msgs
	s.msgs = nil
	return out
}

func announced(uids ...string) []string {
	out := make([]string, len(uids))
	for i, uid := range uids {
		out[i] = collab.PresenceGroup + ` {"type":"presence","dashboard":"` + uid + `"}`
	}
	return out
}

// TestPresenceFeed: the first change is announced at once; changes within PresenceInterval of a
// round are merged into one announcement per dashboard after it; groups other than a dashboard's
// collaboration group on the dashboards' hub are not announced.
func TestPresenceFeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		feed := collab.NewPresenceFeed(slog.New(slog.NewTextHandler(io.Discard, nil)))
		var out sent
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- feed.Run(ctx, &out) }()

		feed.GroupChanged(collab.Hub, collab.CollabGroup("ops"))
		synctest.Wait()
		if got, want := out.take(), announced("ops"); !slices.Equal(got, want) {
			t.Fatalf("first change: sent %q, want %q", got, want)
		}

		feed.GroupChanged("HUDDLE", collab.CollabGroup("web"))
		feed.GroupChanged(collab.Hub, collab.CollabGroup("ops"))
		feed.GroupChanged(collab.Hub, collab.CollabGroup("ops"))
		feed.GroupChanged(collab.Hub, collab.MetricsGroup("db"))
		feed.GroupChanged("chat", collab.CollabGroup("db"))
		feed.GroupChanged(collab.Hub, collab.AlertsGroup)
		synctest.Wait()
		if got := out.take(); len(got) != 0 {
			t.Fatalf("sent %q within the interval", got)
		}
		time.Sleep(collab.PresenceInterval)
		synctest.Wait()
		if got, want := out.take(), announced("ops", "web"); !slices.Equal(got, want) {
			t.Fatalf("after the interval: sent %q, want %q", got, want)
		}

		time.Sleep(time.Minute) // quiet: the next change goes out at once again
		feed.GroupChanged(collab.Hub, collab.CollabGroup("db"))
		synctest.Wait()
		if got, want := out.take(), announced("db"); !slices.Equal(got, want) {
			t.Fatalf("after a quiet minute: sent %q, want %q", got, want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// present is a hub where ada and bob are on ops (ada twice), eve on secret and nobody on web.
type present struct{}

func (present) Viewers(uid string) []string {
	return map[string][]string{"ops": {"bob", "ada", "ada"}, "secret": {"eve"}, "gone": {"ada"}}[uid]
}
func (present) Viewed() []string { return []string{"secret", "web", "ops", "gone"} }

type people struct{}

func (people) DisplayName(_ context.Context, login string) (string, error) {
	return map[string]string{"ada": "Ada Lovelace", "bob": "Bob"}[login], nil
}

// TestPresence: GET /api/presence lists the dashboards the caller may see that have viewers,
// each viewer once and named by their account.
func TestPresence(t *testing.T) {
	d := &collab.Directory{Access: staticAccess{}, Present: present{}, People: people{}}
	req := httptest.NewRequest("GET", "/api/presence", nil)
	req.Header.Set("X-Test-User", "ada")
	rec := httptest.NewRecorder()
	httpapi.ErrorWriter{}.Handler(d.Presence).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got []collab.DashboardPresence
	if err := json.NewDecoder(rec.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := []collab.DashboardPresence{{Dashboard: "ops", Viewers: []collab.Viewer{{UserID: "ada", Name: "Ada Lovelace"}, {UserID: "bob", Name: "Bob"}}}}
	if b, w := mustJSON(t, got), mustJSON(t, want); b != w {
		t.Fatalf("presence %s, want %s", b, w)
	}

	req = httptest.NewRequest("GET", "/api/presence", nil)
	rec = httptest.NewRecorder()
	httpapi.ErrorWriter{}.Handler(d.Presence).ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("anonymous: status %d, want 401", rec.Code)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
