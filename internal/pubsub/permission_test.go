package pubsub

import (
	"context"
	"strings"
	"testing"
)

func TestMatchGroupPattern(t *testing.T) {
	tests := []struct {
		pattern, group string
		want           bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		// * stays within one segment.
		{"a.*", "a.b", true},
		{"a.*", "a.", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"*", "anything", true},
		{"*", "a.b", false},
		{"*.metrics", "dash1.metrics", true},
		{"*.metrics", "dash1.collab", false},
		{"dash*.metrics", "dash42.metrics", true},
		{"dash*.metrics", "board42.metrics", false},
		// ? is one character of a segment, never a dot.
		{"a.?", "a.b", true},
		{"a.?", "a.bc", false},
		{"a?b", "a.b", false},
		{"a?b", "axb", true},
		{"room.?1", "room.x1", true},
		// ** spans any number of whole segments, none included.
		{"a.**", "a.b", true},
		{"a.**", "a.b.c.d", true},
		{"a.**", "a", true},
		{"a.**", "b.c", false},
		{"**", "x", true},
		{"**", "x.y.z", true},
		{"**.z", "x.y.z", true},
		{"**.z", "z", true},
		{"**.z", "x.y", false},
		{"a.**.z", "a.z", true},
		{"a.**.z", "a.b.c.z", true},
		{"a.**.z", "a.b.c.y", false},
		{"a.**.*.z", "a.z", false},
		{"a.**.*.z", "a.b.z", true},
		// Case matters.
		{"Dash.*", "dash.x", false},
		// Segments are whatever lies between dots: slashes and brackets are ordinary characters.
		{"team.*", "team.a/b", true},
		{"team.?", "team./", true},
		{"a/*", "a/b", true},
		{"room[1]", "room[1]", true},
		{"room[1]", "room1", false},
		{"x.[", "x.[", true},
		{"back\\slash", "back\\slash", true},
		// Within a segment: runs, backtracking, and ? as one character, not one byte.
		{"room?", "roomü", true},
		{"*ü", "aaü", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*b", "a", false},
		{"a**b", "axb", true},
		{"*?", "", false},
		{"a.*?", "a.xy", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.group, func(t *testing.T) {
			if got := matchGroupPattern(tt.pattern, tt.group); got != tt.want {
				t.Errorf("matchGroupPattern(%q, %q) = %v, want %v", tt.pattern, tt.group, got, tt.want)
			}
		})
	}
}

// A hostile pattern costs segments × segments, not an exponential backtrack.
func TestMatchGroupPatternHostile(t *testing.T) {
	pattern := strings.Repeat("**.", 200) + "x"
	group := strings.Repeat("a.", 500) + "b"
	if matchGroupPattern(pattern, group) {
		t.Fatal("matched a group that does not end in x")
	}
	if !matchGroupPattern(pattern, group+".x") {
		t.Fatal("did not match a group that ends in x")
	}
}

func TestParsePermission(t *testing.T) {
	tests := []struct {
		in   string
		want Permission
		ok   bool
	}{
		{"joinLeaveGroup", JoinLeaveGroup, true},
		{"JOINLEAVEGROUP", JoinLeaveGroup, true},
		{"sendToGroup", SendToGroup, true},
		{"sendtogroup", SendToGroup, true},
		{"sendToGroups", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParsePermission(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParsePermission(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

type permCheck struct {
	perm  Permission
	group string
	want  bool
}

func TestRolePermissions(t *testing.T) {
	tests := []struct {
		name   string
		roles  []string
		checks []permCheck
	}{
		{"no roles", nil, []permCheck{
			{JoinLeaveGroup, "g", false}, {SendToGroup, "g", false}, {SendToGroup, "", false},
		}},
		{"join any group", []string{"webpubsub.joinLeaveGroup"}, []permCheck{
			{JoinLeaveGroup, "g", true}, {JoinLeaveGroup, "a.b", true}, {JoinLeaveGroup, "", true},
			{SendToGroup, "g", false},
		}},
		{"send any group", []string{"webpubsub.sendToGroup"}, []permCheck{
			{SendToGroup, "g", true}, {SendToGroup, "", true}, {JoinLeaveGroup, "g", false},
		}},
		{"one group each", []string{"webpubsub.joinLeaveGroup.g1", "webpubsub.sendToGroup.g2"}, []permCheck{
			{JoinLeaveGroup, "g1", true}, {JoinLeaveGroup, "g2", false}, {JoinLeaveGroup, "", false},
			{SendToGroup, "g2", true}, {SendToGroup, "g1", false}, {SendToGroup, "", false},
		}},
		{"group names with dots are literal", []string{"webpubsub.sendToGroup.dash.1.metrics"}, []permCheck{
			{SendToGroup, "dash.1.metrics", true}, {SendToGroup, "dash.2.metrics", false},
			{SendToGroup, "dash", false},
		}},
		{"per-group role is not a pattern", []string{"webpubsub.sendToGroup.a*"}, []permCheck{
			{SendToGroup, "a*", true}, {SendToGroup, "ab", false},
		}},
		{"patterns", []string{"webpubsub.joinLeaveGroups.dash.*.metrics", "webpubsub.sendToGroups.dash.**"}, []permCheck{
			{JoinLeaveGroup, "dash.1.metrics", true}, {JoinLeaveGroup, "dash.1.collab", false},
			{JoinLeaveGroup, "dash.1.2.metrics", false}, {JoinLeaveGroup, "", false},
			{SendToGroup, "dash.1.collab", true}, {SendToGroup, "dash.1.2.3", true},
			{SendToGroup, "alerts", false},
		}},
		{"pattern with ?", []string{"webpubsub.joinLeaveGroups.room?"}, []permCheck{
			{JoinLeaveGroup, "room1", true}, {JoinLeaveGroup, "room12", false}, {JoinLeaveGroup, "room", false},
		}},
		{"unknown and look-alike roles grant nothing", []string{
			"webpubsub.joinleavegroup", "webpubsub.sendToGroupX", "sendToGroup", "webpubsub.joinLeaveGroupsX",
		}, []permCheck{
			{JoinLeaveGroup, "g", false}, {SendToGroup, "g", false}, {SendToGroup, "X", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGrants(tt.roles)
			for _, c := range tt.checks {
				if got := g.Has(c.perm, c.group); got != c.want {
					t.Errorf("roles %q: Has(%v, %q) = %v, want %v", tt.roles, c.perm, c.group, got, c.want)
				}
			}
		})
	}
}

func TestGrantRevoke(t *testing.T) {
	type op struct {
		grant bool
		perm  Permission
		group string
	}
	tests := []struct {
		name   string
		roles  []string
		ops    []op
		checks []permCheck
	}{
		{"grant one group", nil, []op{{true, SendToGroup, "g1"}}, []permCheck{
			{SendToGroup, "g1", true}, {SendToGroup, "g2", false}, {JoinLeaveGroup, "g1", false},
		}},
		{"grant every group", nil, []op{{true, JoinLeaveGroup, ""}}, []permCheck{
			{JoinLeaveGroup, "g1", true}, {JoinLeaveGroup, "", true}, {SendToGroup, "g1", false},
		}},
		{"revoke one group", nil, []op{{true, SendToGroup, "g1"}, {true, SendToGroup, "g2"}, {false, SendToGroup, "g1"}}, []permCheck{
			{SendToGroup, "g1", false}, {SendToGroup, "g2", true},
		}},
		{"revoke everything clears roles and patterns", []string{
			"webpubsub.sendToGroup", "webpubsub.sendToGroup.g1", "webpubsub.sendToGroups.a.*", "webpubsub.joinLeaveGroup",
		}, []op{{false, SendToGroup, ""}}, []permCheck{
			{SendToGroup, "g1", false}, {SendToGroup, "a.b", false}, {SendToGroup, "", false},
			{JoinLeaveGroup, "g1", true},
		}},
		{"revoke unknown group is a no-op", []string{"webpubsub.joinLeaveGroup.g1"}, []op{{false, JoinLeaveGroup, "zz"}}, []permCheck{
			{JoinLeaveGroup, "g1", true},
		}},
		{"grant after revoke", nil, []op{{false, SendToGroup, ""}, {true, SendToGroup, "g"}}, []permCheck{
			{SendToGroup, "g", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{})
			h := svc.Hub("perm")
			target, _ := connect(t, h, ConnOptions{ID: "target", Roles: tt.roles, Codec: newTestCodec(FormatWebPubSubJSON)})
			other, _ := connect(t, h, ConnOptions{ID: "other", Codec: newTestCodec(FormatWebPubSubJSON)})
			for _, o := range tt.ops {
				e := &Envelope{Op: OpRevoke, To: Selector{Kind: ToConnection, Name: "target"}, Permission: o.perm, PermissionTarget: o.group}
				if o.grant {
					e.Op = OpGrant
				}
				if err := h.Publish(context.Background(), e); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tt.checks {
				if got := target.Can(c.perm, c.group); got != c.want {
					t.Errorf("Can(%v, %q) = %v, want %v", c.perm, c.group, got, c.want)
				}
				if other.Can(c.perm, c.group) {
					t.Errorf("a grant to one connection reached another: Can(%v, %q)", c.perm, c.group)
				}
			}
		})
	}
}
