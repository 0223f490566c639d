package pubsub

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/huddle-dev/huddle/internal/testkit"
)

func TestValidGroupName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"simple", "g1", true},
		{"dots", "dash.1.metrics", true},
		{"inner spaces", "my group", true},
		{"leading space", " g", true},
		{"unicode", "grüße", true},
		{"slash", "a/b", true},
		{"empty", "", false},
		{"space", " ", false},
		{"white space only", " \t\r\n", false},
		{"1024 bytes", strings.Repeat("x", 1024), true},
		{"1025 bytes", strings.Repeat("x", 1025), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidGroupName(tt.in); got != tt.want {
				t.Errorf("ValidGroupName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestHubNamesAreCaseInsensitive(t *testing.T) {
	svc := newTestService(t, Options{})
	if svc.Hub("Chat") != svc.Hub("chat") {
		t.Fatal("Hub(\"Chat\") and Hub(\"chat\") are different hubs")
	}
	if got := svc.Hub("chat").Name(); got != "Chat" {
		t.Errorf("Name() = %q, want the name as first used, %q", got, "Chat")
	}
}

func TestConnect(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	codec := newTestCodec(FormatWebPubSubJSON)

	c, err := h.Connect(ConnOptions{Codec: codec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ID()) != 22 {
		t.Errorf("generated id %q: want 22 URL-safe characters", c.ID())
	}
	if c2, _ := h.Connect(ConnOptions{Codec: codec}, nil); c2.ID() == c.ID() {
		t.Error("two generated ids are equal")
	}
	if _, err := h.Connect(ConnOptions{ID: c.ID(), Codec: codec}, nil); !errors.Is(err, ErrDuplicateConn) {
		t.Errorf("duplicate id: err = %v, want ErrDuplicateConn", err)
	}
	if _, err := h.Connect(ConnOptions{ID: "bad", Codec: codec}, []string{"ok", " "}); !errors.Is(err, ErrInvalidGroup) {
		t.Errorf("invalid initial group: err = %v, want ErrInvalidGroup", err)
	}
	if h.HasConnection("bad") {
		t.Error("a connection refused for its groups was registered")
	}
	u, err := h.Connect(ConnOptions{ID: "u", UserID: "alice", Codec: codec}, []string{"g1", "g2"})
	if err != nil {
		t.Fatal(err)
	}
	if !h.HasUser("alice") || !h.HasGroup("g1") || !h.HasGroup("g2") || !h.HasConnection("u") {
		t.Error("user, groups or connection missing after Connect")
	}
	if got := u.FilterGroups(); !slices.Equal(got, []string{"g1", "g2"}) {
		t.Errorf("FilterGroups() = %q", got)
	}
	u.Close(CloseNormal, "")
	if h.HasUser("alice") || h.HasGroup("g1") || h.HasConnection("u") {
		t.Error("user, group or connection still indexed after Close")
	}
	if err := h.Join(u, "g3"); !errors.Is(err, ErrClosed) {
		t.Errorf("Join after Close: err = %v, want ErrClosed", err)
	}
	if err := u.Attach(newTestSocket()); !errors.Is(err, ErrClosed) {
		t.Errorf("Attach after Close: err = %v, want ErrClosed", err)
	}
}

func TestJoinLeave(t *testing.T) {
	type step struct {
		join    bool
		group   string
		wantErr error
	}
	tests := []struct {
		name      string
		maxGroups int
		initial   []string
		steps     []step
		want      []string
	}{
		{"join", 0, nil, []step{{true, "b", nil}, {true, "a", nil}}, []string{"a", "b"}},
		{"join twice", 0, nil, []step{{true, "a", nil}, {true, "a", nil}}, []string{"a"}},
		{"leave", 0, []string{"a", "b"}, []step{{false, "a", nil}}, []string{"b"}},
		{"leave a group never joined", 0, []string{"a"}, []step{{false, "zz", nil}}, []string{"a"}},
		{"invalid name", 0, nil, []step{{true, "", ErrInvalidGroup}, {true, "  ", ErrInvalidGroup},
			{true, strings.Repeat("g", 1025), ErrInvalidGroup}}, nil},
		{"limit", 2, nil, []step{{true, "a", nil}, {true, "b", nil}, {true, "c", ErrTooManyGroups}}, []string{"a", "b"}},
		{"limit counts initial groups", 2, []string{"a", "b"}, []step{{true, "c", ErrTooManyGroups}}, []string{"a", "b"}},
		{"rejoining at the limit is fine", 2, []string{"a", "b"}, []step{{true, "a", nil}}, []string{"a", "b"}},
		{"leaving frees a slot", 2, []string{"a", "b"}, []step{{false, "a", nil}, {true, "c", nil}}, []string{"b", "c"}},
		{"initial groups over the limit are not joined", 1, []string{"a", "b"}, nil, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newTestService(t, Options{Limits: Limits{MaxGroupsPerConn: tt.maxGroups}})
			h := svc.Hub("h")
			c, err := h.Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)}, tt.initial)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.steps {
				if s.join {
					if err := h.Join(c, s.group); !errors.Is(err, s.wantErr) {
						t.Errorf("Join(%.10q) = %v, want %v", s.group, err, s.wantErr)
					}
				} else {
					h.Leave(c, s.group)
				}
			}
			if got := c.FilterGroups(); !slices.Equal(got, tt.want) {
				t.Errorf("groups = %q, want %q", got, tt.want)
			}
			for _, g := range tt.want {
				if got := h.GroupMembers(g); !slices.Equal(got, []Member{{ConnectionID: "c"}}) {
					t.Errorf("GroupMembers(%q) = %v", g, got)
				}
			}
			if got := h.Groups(""); !slices.Equal(got, tt.want) {
				t.Errorf("Groups() = %q, want %q", got, tt.want)
			}
			for _, g := range []string{"a", "b", "c", "zz"} {
				if got, want := h.Groups(g), slices.Contains(tt.want, g); (len(got) == 1) != want {
					t.Errorf("Groups(%q) = %q", g, got)
				}
				if want := slices.Contains(tt.want, g); h.HasGroup(g) != want {
					t.Errorf("HasGroup(%q) = %v, want %v", g, !want, want)
				}
			}
		})
	}
}

// FilterGroups hands out a slice that later joins and leaves must not modify: filters read it
// without the hub's lock.
func TestFilterGroupsSnapshot(t *testing.T) {
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	c, _ := h.Connect(ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)}, []string{"b", "d"})
	snap := c.FilterGroups()
	_ = h.Join(c, "a")
	_ = h.Join(c, "c")
	h.Leave(c, "b")
	if !slices.Equal(snap, []string{"b", "d"}) {
		t.Errorf("an old FilterGroups slice changed to %q", snap)
	}
	if got := c.FilterGroups(); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Errorf("FilterGroups() = %q", got)
	}
}

func TestGroupMembersAndUsers(t *testing.T) {
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	codec := newTestCodec(FormatWebPubSubJSON)
	for _, o := range []ConnOptions{{ID: "c3", UserID: "bob"}, {ID: "c1", UserID: "alice"}, {ID: "c2"}} {
		o.Codec = codec
		if _, err := h.Connect(o, []string{"g"}); err != nil {
			t.Fatal(err)
		}
	}
	want := []Member{{"c1", "alice"}, {"c2", ""}, {"c3", "bob"}}
	if got := h.GroupMembers("g"); !slices.Equal(got, want) {
		t.Errorf("GroupMembers = %v, want %v", got, want)
	}
	if got := h.GroupMembers("none"); len(got) != 0 {
		t.Errorf("GroupMembers of an unknown group = %v", got)
	}
	if !h.HasUser("bob") || h.HasUser("carol") || h.HasUser("") {
		t.Error("HasUser wrong")
	}
}

func TestChangeGroupsByEnvelope(t *testing.T) {
	tests := []struct {
		name string
		e    Envelope
		want map[string][]string // connection → groups afterwards
	}{
		{"add a connection", Envelope{Op: OpAddToGroups, To: Selector{Kind: ToConnection, Name: "c1"}, Groups: []string{"x", "y"}},
			map[string][]string{"c1": {"a", "x", "y"}, "c2": {"a", "b"}, "c3": nil}},
		{"add a user's connections", Envelope{Op: OpAddToGroups, To: Selector{Kind: ToUser, Name: "alice"}, Groups: []string{"x"}},
			map[string][]string{"c1": {"a", "x"}, "c2": {"a", "b", "x"}, "c3": nil}},
		{"add everyone but one", Envelope{Op: OpAddToGroups, To: Selector{Kind: ToAll, Excluded: []string{"c2"}}, Groups: []string{"x"}},
			map[string][]string{"c1": {"a", "x"}, "c2": {"a", "b"}, "c3": {"x"}}},
		{"add a group to another", Envelope{Op: OpAddToGroups, To: Selector{Kind: ToGroup, Name: "b"}, Groups: []string{"x"}},
			map[string][]string{"c1": {"a"}, "c2": {"a", "b", "x"}, "c3": nil}},
		{"remove one group", Envelope{Op: OpRemoveFromGroups, To: Selector{Kind: ToGroup, Name: "a"}, Groups: []string{"a"}},
			map[string][]string{"c1": nil, "c2": {"b"}, "c3": nil}},
		{"remove from all groups", Envelope{Op: OpRemoveFromGroups, To: Selector{Kind: ToConnection, Name: "c2"}},
			map[string][]string{"c1": {"a"}, "c2": nil, "c3": nil}},
		{"by filter", Envelope{Op: OpAddToGroups, To: Selector{Kind: ToAll, Filter: "user=alice"}, Groups: []string{"x"}},
			map[string][]string{"c1": {"a", "x"}, "c2": {"a", "b", "x"}, "c3": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newTestService(t, Options{ParseFilter: parseTestFilter})
			h := svc.Hub("h")
			codec := newTestCodec(FormatWebPubSubJSON)
			_, _ = h.Connect(ConnOptions{ID: "c1", UserID: "alice", Codec: codec}, []string{"a"})
			_, _ = h.Connect(ConnOptions{ID: "c2", UserID: "alice", Codec: codec}, []string{"a", "b"})
			_, _ = h.Connect(ConnOptions{ID: "c3", UserID: "bob", Codec: codec}, nil)
			e := tt.e
			if err := h.Publish(context.Background(), &e); err != nil {
				t.Fatal(err)
			}
			for id, want := range tt.want {
				c, _ := h.Connection(id)
				if got := c.FilterGroups(); !slices.Equal(got, want) {
					t.Errorf("%s in %q, want %q", id, got, want)
				}
			}
		})
	}
}

// parseTestFilter understands "user=<id>", "conn=<id>", "group=<name>" and "bad"; it stands in for
// the OData parser of the webpubsub package.
func parseTestFilter(expr string) (func(*Conn) bool, error) {
	k, v, ok := strings.Cut(expr, "=")
	if !ok {
		return nil, fmt.Errorf("bad filter %q", expr)
	}
	switch k {
	case "user":
		return func(c *Conn) bool { return c.FilterUserID() == v }, nil
	case "conn":
		return func(c *Conn) bool { return c.FilterConnectionID() == v }, nil
	case "group":
		return func(c *Conn) bool { return slices.Contains(c.FilterGroups(), v) }, nil
	}
	return nil, fmt.Errorf("unknown filter field %q", k)
}

func TestSend(t *testing.T) {
	// c1 alice {a}, c2 alice {a,b}, c3 bob {b}, c4 anonymous {}.
	tests := []struct {
		name string
		to   Selector
		want []string // connections that receive the message
	}{
		{"all", Selector{Kind: ToAll}, []string{"c1", "c2", "c3", "c4"}},
		{"all but excluded", Selector{Kind: ToAll, Excluded: []string{"c1", "c4", "nobody"}}, []string{"c2", "c3"}},
		{"all except the sender", Selector{Kind: ToAll, ExceptConnection: "c3"}, []string{"c1", "c2", "c4"}},
		{"all with filter", Selector{Kind: ToAll, Filter: "user=alice"}, []string{"c1", "c2"}},
		{"group", Selector{Kind: ToGroup, Name: "a"}, []string{"c1", "c2"}},
		{"group noEcho", Selector{Kind: ToGroup, Name: "b", ExceptConnection: "c2"}, []string{"c3"}},
		{"group excluded", Selector{Kind: ToGroup, Name: "b", Excluded: []string{"c3"}}, []string{"c2"}},
		{"group with filter", Selector{Kind: ToGroup, Name: "b", Filter: "group=a"}, []string{"c2"}},
		{"group with filter and excluded", Selector{Kind: ToGroup, Name: "a", Filter: "user=alice", Excluded: []string{"c1"}}, []string{"c2"}},
		{"empty group", Selector{Kind: ToGroup, Name: "none"}, nil},
		{"user", Selector{Kind: ToUser, Name: "alice"}, []string{"c1", "c2"}},
		{"user excluded", Selector{Kind: ToUser, Name: "alice", Excluded: []string{"c2"}}, []string{"c1"}},
		{"user with filter", Selector{Kind: ToUser, Name: "alice", Filter: "conn=c2"}, []string{"c2"}},
		{"unknown user", Selector{Kind: ToUser, Name: "carol"}, nil},
		{"anonymous is not a user", Selector{Kind: ToUser, Name: ""}, nil},
		{"connection", Selector{Kind: ToConnection, Name: "c4"}, []string{"c4"}},
		{"connection excluded", Selector{Kind: ToConnection, Name: "c4", ExceptConnection: "c4"}, nil},
		{"connection filtered out", Selector{Kind: ToConnection, Name: "c4", Filter: "user=alice"}, nil},
		{"unknown connection", Selector{Kind: ToConnection, Name: "zz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			svc := newTestService(t, Options{ParseFilter: parseTestFilter})
			h := svc.Hub("h")
			codec := newTestCodec(FormatWebPubSubJSON)
			conns := map[string]*Conn{}
			socks := map[string]*testSocket{}
			for _, c := range []struct {
				id, user string
				groups   []string
			}{{"c1", "alice", []string{"a"}}, {"c2", "alice", []string{"a", "b"}}, {"c3", "bob", []string{"b"}}, {"c4", "", nil}} {
				conns[c.id], socks[c.id] = connect(t, h, ConnOptions{ID: c.id, UserID: c.user, Codec: codec}, c.groups...)
			}
			// Another hub's connections never hear this hub's messages.
			_, stranger := connect(t, svc.Hub("other"), ConnOptions{ID: "c1", UserID: "alice", Codec: codec}, "a")

			send(t, h, tt.to, textMsg("hello"))
			waitIdle(t, slices.Collect(maps.Values(conns))...)
			for id, s := range socks {
				if slices.Contains(tt.want, id) {
					assertFrames(t, s, "text::hello")
				} else {
					assertFrames(t, s)
				}
			}
			assertFrames(t, stranger)
			if got, want := codec.encodes.Load(), int64(min(len(tt.want), 1)); got != want {
				t.Errorf("Encode called %d times, want %d", got, want)
			}
		})
	}
}

func TestSendFilterErrors(t *testing.T) {
	t.Run("no parser", func(t *testing.T) {
		svc := newTestService(t, Options{})
		err := svc.Hub("h").Publish(context.Background(), &Envelope{Op: OpSend, To: Selector{Kind: ToAll, Filter: "user=a"}, Message: textMsg("x")})
		if !errors.Is(err, ErrFilterRequired) {
			t.Errorf("err = %v, want ErrFilterRequired", err)
		}
	})
	t.Run("bad filter", func(t *testing.T) {
		svc := newTestService(t, Options{ParseFilter: parseTestFilter})
		h := svc.Hub("h")
		_, s := connect(t, h, ConnOptions{ID: "c", Codec: newTestCodec(FormatWebPubSubJSON)})
		err := h.Publish(context.Background(), &Envelope{Op: OpSend, To: Selector{Kind: ToAll, Filter: "bad"}, Message: textMsg("x")})
		if err == nil || !strings.Contains(err.Error(), "bad filter") {
			t.Errorf("err = %v, want the parser's error", err)
		}
		assertFrames(t, s)
	})
}

// Encode once, write many: each wire format renders a message once however many connections of
// that format receive it, and all of them get the same bytes.
func TestEncodeOnce(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	plain := newTestCodec(FormatWebPubSubJSON)
	reliable := newTestCodec(FormatWebPubSubReliableJSON)
	raw := newTestCodec(FormatWebPubSubRaw)
	const n = 50
	var conns []*Conn
	var socks []*testSocket
	for i := range n {
		for _, codec := range []*testCodec{plain, reliable, raw} {
			c, s := connect(t, h, ConnOptions{ID: fmt.Sprintf("%d-%d", codec.format, i), Codec: codec, Reliable: codec.reliable}, "g")
			conns, socks = append(conns, c), append(socks, s)
		}
	}
	m := groupMsg("g", "payload")
	m.DataType = Binary
	send(t, h, Selector{Kind: ToGroup, Name: "g"}, m)
	waitIdle(t, conns...)
	for _, codec := range []*testCodec{plain, reliable, raw} {
		if got := codec.encodes.Load(); got != 1 {
			t.Errorf("format %d: Encode called %d times for %d recipients, want 1", codec.format, got, n)
		}
	}
	for i, s := range socks {
		want := "binary:g:payload"
		if conns[i].Reliable() {
			want += "#1"
		}
		assertFrames(t, s, want)
	}

	// A message only plain connections receive is not rendered in the other formats.
	only, onlySock := connect(t, h, ConnOptions{ID: "plain-only", Codec: plain}, "p")
	send(t, h, Selector{Kind: ToGroup, Name: "p"}, groupMsg("p", "x"))
	waitIdle(t, only)
	assertFrames(t, onlySock, "text:p:x")
	for _, codec := range []*testCodec{reliable, raw} {
		if got := codec.encodes.Load(); got != 1 {
			t.Errorf("format %d: Encode called %d times, want 1: a message none of its connections received was rendered", codec.format, got)
		}
	}
}

func TestOpClose(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	var log closeLog
	codec := newTestCodec(FormatWebPubSubJSON)
	_, s1 := connect(t, h, ConnOptions{ID: "c1", Codec: codec, OnClose: log.onClose}, "g")
	_, s2 := connect(t, h, ConnOptions{ID: "c2", Codec: codec, OnClose: log.onClose}, "g")
	c3, s3 := connect(t, h, ConnOptions{ID: "c3", Codec: codec, OnClose: log.onClose})
	err := h.Publish(context.Background(), &Envelope{Op: OpClose, To: Selector{Kind: ToGroup, Name: "g", Excluded: []string{"c2"}}, Reason: "kicked"})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "c1 closed", s1.isClosed)
	assertFrames(t, s1, "text:bye:kicked", "close:1000:kicked")
	assertFrames(t, s2)
	if s2.isClosed() || s3.isClosed() {
		t.Error("a connection that was not selected was closed")
	}
	if got := log.get(); !slices.Equal(got, []string{"kicked"}) {
		t.Errorf("OnClose reasons = %q", got)
	}
	if h.HasConnection("c1") || !h.HasConnection("c2") {
		t.Error("wrong connections left in the hub")
	}
	waitIdle(t, c3)
}

// A publish before the service subscribed to its broker fails instead of being accepted with
// nowhere to go.
func TestPublishBeforeStart(t *testing.T) {
	svc, err := NewService(Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Envelope{Op: OpSend, To: Selector{Kind: ToAll}, Message: NewMessage(Text, []byte("early"))}
	if err := svc.Hub("h").Publish(context.Background(), e); !errors.Is(err, ErrNotSubscribed) {
		t.Fatalf("publish before Start = %v, want ErrNotSubscribed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Hub("h").Publish(context.Background(), e); err != nil {
		t.Fatalf("publish after Start = %v", err)
	}
}
