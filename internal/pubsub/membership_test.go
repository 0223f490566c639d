package pubsub

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestUserMembership: a membership kept for a user reaches the connections the user opens later,
// ends at its expiry (taking the user's connections out of the group), and ends when the user is
// removed from the group or from all groups.
func TestUserMembership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{})
		h := svc.Hub("chat")
		connect := func(user string) *Conn {
			t.Helper()
			c, err := h.Connect(ConnOptions{UserID: user, Codec: newTestCodec(FormatWebPubSubJSON)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		change := func(op Op, user string, groups []string, keep bool, expires time.Time) {
			t.Helper()
			e := &Envelope{Op: op, To: Selector{Kind: ToUser, Name: user}, Groups: groups, KeepForUser: keep, MembershipExpires: expires}
			if err := h.Publish(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
		inGroup := func(c *Conn, g string) bool {
			h.mu.RLock()
			defer h.mu.RUnlock()
			_, in := c.groups[g]
			return in
		}

		before := connect("u1")
		change(OpAddToGroups, "u1", []string{"g"}, true, time.Now().Add(10*time.Second))
		change(OpAddToGroups, "u1", []string{"forever"}, true, time.Time{})
		change(OpAddToGroups, "u2", []string{"g"}, false, time.Time{}) // not kept: u2 has no connection
		after := connect("u1")
		other := connect("u2")
		for _, c := range []*Conn{before, after} {
			if !inGroup(c, "g") || !inGroup(c, "forever") {
				t.Fatalf("connection %s of u1 is not in g and forever", c.ID())
			}
		}
		if inGroup(other, "g") || h.HasUserInGroup("u2", "g") {
			t.Fatal("a membership not kept reached the user's later connection")
		}
		if !h.HasUserInGroup("u1", "g") {
			t.Fatal("HasUserInGroup(u1, g) = false before the expiry")
		}

		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if h.HasUserInGroup("u1", "g") || inGroup(before, "g") || inGroup(after, "g") || h.HasGroup("g") {
			t.Fatal("u1 is still in g after its membership expired")
		}
		if !inGroup(after, "forever") {
			t.Fatal("the expiry of one membership removed another")
		}

		// A removal ends the membership: a later connection does not join.
		change(OpRemoveFromGroups, "u1", nil, false, time.Time{})
		if h.HasUserInGroup("u1", "forever") || inGroup(connect("u1"), "forever") {
			t.Fatal("u1 is still in forever after removal from all groups")
		}

		// Adding again replaces the expiry; the old timer does not end the new membership.
		change(OpAddToGroups, "u1", []string{"g"}, true, time.Now().Add(time.Second))
		change(OpAddToGroups, "u1", []string{"g"}, true, time.Now().Add(time.Minute))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !h.HasUserInGroup("u1", "g") {
			t.Fatal("the replaced expiry ended the new membership")
		}
		change(OpRemoveFromGroups, "u1", []string{"g"}, false, time.Time{})
		if h.HasUserInGroup("u1", "g") {
			t.Fatal("u1 is still in g after its removal")
		}
	})
}

// TestLastingMembershipsAreCapped: a user keeps its MaxLastingMemberships most recently changed
// memberships without expiry; memberships with one do not count.
func TestLastingMembershipsAreCapped(t *testing.T) {
	svc := newTestService(t, Options{})
	h := svc.Hub("chat")
	add := func(g string, expires time.Time) {
		t.Helper()
		e := &Envelope{Op: OpAddToGroups, To: Selector{Kind: ToUser, Name: "u"}, Groups: []string{g}, KeepForUser: true, MembershipExpires: expires}
		if err := h.Publish(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	add("timed", time.Now().Add(time.Hour))
	for i := range MaxLastingMemberships {
		add(fmt.Sprint("g", i), time.Time{})
	}
	add("g0", time.Time{}) // changed again: now the most recent
	add("new", time.Time{})
	for g, want := range map[string]bool{"timed": true, "g0": true, "g1": false, "g2": true, "new": true} {
		if got := h.HasUserInGroup("u", g); got != want {
			t.Errorf("HasUserInGroup(u, %s) = %v, want %v", g, got, want)
		}
	}
}

// TestGroupChanged: the observer hears of every join and leave that changes a group's members,
// whichever way it happens, and of nothing that leaves them as they were.
func TestGroupChanged(t *testing.T) {
	var (
		mu      sync.Mutex
		changes []string
	)
	svc := newTestService(t, Options{GroupChanged: func(hub, group string) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, hub+"/"+group)
	}})
	h := svc.Hub("Chat")
	c, _ := connect(t, h, ConnOptions{UserID: "u", Codec: newTestCodec(FormatWebPubSubJSON)}, "a")
	if err := h.Join(c, "b"); err != nil {
		t.Fatal(err)
	}
	if err := h.Join(c, "b"); err != nil { // already a member: no change
		t.Fatal(err)
	}
	h.Leave(c, "a")
	h.Leave(c, "a") // no longer a member: no change
	if err := h.Publish(context.Background(), &Envelope{Op: OpAddToGroups, To: Selector{Kind: ToConnection, Name: c.ID()}, Groups: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	c.Close(CloseNormal, "bye")
	mu.Lock()
	got := slices.Clone(changes)
	mu.Unlock()
	slices.Sort(got[len(got)-2:]) // the connection's end leaves its groups in no set order
	want := []string{"Chat/a", "Chat/b", "Chat/a", "Chat/c", "Chat/b", "Chat/c"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %q, want %q", got, want)
	}
}
