package collab

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Present lists the user ids connected to a dashboard's collaboration group: the identities the
// hub took from their tokens, whatever the viewers say about themselves; and the dashboards
// whose collaboration group has members.
type Present interface {
	Viewers(uid string) []string
	Viewed() []string
}

// People tells the name shown for a login; an unknown login (a user deleted meanwhile) has none.
type People interface {
	DisplayName(ctx context.Context, login string) (string, error)
}

// Viewer is how a person watching a dashboard is shown to the others.
type Viewer struct {
	UserID string `json:"userId"`
	Name   string `json:"name"`
}

// Directory answers who is watching a dashboard, so that a page names its peers by their
// account, never by what their messages announce.
type Directory struct {
	Access  Access
	Present Present
	People  People
}

// maxViewers bounds one answer; a page asks again for a viewer it does not find.
const maxViewers = 500

// Viewers answers GET /api/dashboards/{uid}/viewers: the people connected to the dashboard's
// collaboration group, each once, ordered by user id.
func (d *Directory) Viewers(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("uid")
	if _, err := memberOf(d.Access, r, uid); err != nil {
		return err
	}
	out, err := d.named(r.Context(), d.Present.Viewers(uid))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// named is the people of ids, each once, ordered by user id, at most maxViewers.
func (d *Directory) named(ctx context.Context, ids []string) ([]Viewer, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]Viewer, 0, min(len(ids), maxViewers))
	for _, id := range ids[:min(len(ids), maxViewers)] {
		name, err := d.People.DisplayName(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("name of viewer %s: %w", id, err)
		}
		out = append(out, Viewer{UserID: id, Name: name})
	}
	return out, nil
}
