package pubsub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Hub is one named space of connections, users and groups. Every operation that reaches
// connections goes through the service's broker: the in-memory broker applies it at once,
// and another [Broker] implementation could carry it between processes.
type Hub struct {
	name string
	svc  *Service

	mu     sync.RWMutex
	conns  map[string]*Conn
	users  map[string]map[*Conn]struct{}
	groups map[string]map[*Conn]struct{}
	// memberships are users' own group memberships (user, then group), which their later
	// connections take on when they connect.
	memberships map[string]map[string]*membership
	changes     uint64 // counts membership changes, for membership.changed
}

// membership is a user's membership of a group; timer, when set, ends it at its expiry. A
// membership without one is lasting; changed orders the user's lasting memberships by their
// last change.
type membership struct {
	timer   *time.Timer
	changed uint64
}

// MaxLastingMemberships is how many memberships without expiry a user keeps: a new one beyond
// it ends the least recently changed, as Azure SignalR Service keeps "only the latest updated
// 100 groups" of a user added without ttl (Azure/azure-signalr docs/swagger/V20220601.json).
// Connections already in that group stay in it.
const MaxLastingMemberships = 100

// Errors a hub operation may return; protocol layers map them to their own error shapes.
var (
	ErrNoConnection   = errors.New("connection does not exist")
	ErrTooManyGroups  = errors.New("too many groups for one connection")
	ErrInvalidGroup   = errors.New("invalid group name")
	ErrDuplicateConn  = errors.New("connection id already in use")
	ErrFilterRequired = errors.New("a filter parser is not configured")
)

// FilterError is a selector's filter that does not compile; nothing was published.
type FilterError struct{ Err error }

func (e *FilterError) Error() string { return "invalid filter: " + e.Err.Error() }
func (e *FilterError) Unwrap() error { return e.Err }

// Name is the hub's name as first used.
func (h *Hub) Name() string { return h.name }

// EphemeralGroup reports whether what clients publish to group is ephemeral, as the service's
// [Options.EphemeralGroup] says.
func (h *Hub) EphemeralGroup(group string) bool {
	return h.svc.ephemeral != nil && h.svc.ephemeral(h.name, group)
}

// hubNamePattern is the hub name rule of the official SDKs of both Azure services.
var hubNamePattern = regexp.MustCompile("^[A-Za-z][A-Za-z0-9_`,.\\[\\]]{0,127}$")

// ValidHubName reports whether name is a hub name the SDKs accept.
func ValidHubName(name string) bool { return hubNamePattern.MatchString(name) }

// ValidGroupName reports whether g is a usable group name: 1 to 1,024 characters, not all white
// space, as Web PubSub requires.
func ValidGroupName(g string) bool {
	if len(g) == 0 || len(g) > 1024 {
		return false
	}
	for _, r := range g {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return true
		}
	}
	return false
}

// Connect registers a new connection and joins its initial groups. The connection receives
// nothing until [Conn.Attach] gives it a socket.
func (h *Hub) Connect(opts ConnOptions, initialGroups []string) (*Conn, error) {
	id := opts.ID
	if id == "" {
		id = NewID()
	}
	for _, g := range initialGroups {
		if !ValidGroupName(g) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidGroup, g)
		}
	}
	c := &Conn{
		id:         id,
		userID:     opts.UserID,
		roles:      opts.Roles,
		hub:        h,
		codec:      opts.Codec,
		reliable:   opts.Reliable,
		counting:   isCounting(opts.Codec),
		unframed:   opts.Unframed,
		attachment: opts.Attachment,
		onClose:    opts.OnClose,
		grants:     newGrants(opts.Roles),
		limits:     &h.svc.limits,
		metrics:    h.svc.metrics,
		flusher:    h.svc.flusher,
		groups:     make(map[string]struct{}),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.conns[id]; dup {
		return nil, ErrDuplicateConn
	}
	h.conns[id] = c
	if c.userID != "" {
		set := h.users[c.userID]
		if set == nil {
			set = make(map[*Conn]struct{})
			h.users[c.userID] = set
		}
		set[c] = struct{}{}
	}
	for _, g := range initialGroups {
		h.joinLocked(c, g)
	}
	for g := range h.memberships[c.userID] {
		h.joinLocked(c, g)
	}
	h.svc.metrics.connections.Inc()
	return c, nil
}

// NewID returns a random connection id, URL-safe and unguessable.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// remove takes c out of every index; it runs once when the connection ends.
func (h *Hub) remove(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[c.id] != c {
		return
	}
	delete(h.conns, c.id)
	if set := h.users[c.userID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.users, c.userID)
		}
	}
	for g := range c.groups {
		h.leaveLocked(c, g)
	}
	h.svc.metrics.connections.Dec()
}

func (h *Hub) joinLocked(c *Conn, g string) bool {
	if _, in := c.groups[g]; in {
		return true
	}
	if len(c.groups) >= c.limits.MaxGroupsPerConn {
		return false
	}
	// The name may be a slice of a request line (a REST path value) that the membership would
	// otherwise keep for as long as it lasts.
	g = strings.Clone(g)
	members := h.groups[g]
	if members == nil {
		members = make(map[*Conn]struct{})
		h.groups[g] = members
		h.svc.metrics.groups.Inc()
	}
	members[c] = struct{}{}
	c.groups[g] = struct{}{}
	i, _ := slices.BinarySearch(c.groupList, g)
	c.groupList = slices.Insert(slices.Clip(c.groupList), i, g)
	h.groupChangedLocked(g)
	return true
}

func (h *Hub) leaveLocked(c *Conn, g string) {
	if _, in := c.groups[g]; !in {
		return
	}
	delete(c.groups, g)
	if i, ok := slices.BinarySearch(c.groupList, g); ok {
		// Filters may hold the old slice while they evaluate: replace, never edit in place.
		c.groupList = slices.Delete(slices.Clone(c.groupList), i, i+1)
	}
	members := h.groups[g]
	delete(members, c)
	if len(members) == 0 {
		delete(h.groups, g)
		h.svc.metrics.groups.Dec()
	}
	h.groupChangedLocked(g)
}

// groupChangedLocked tells the service's observer, if any, that group g's members changed.
func (h *Hub) groupChangedLocked(g string) {
	if h.svc.changed != nil {
		h.svc.changed(h.name, g)
	}
}

// Join adds the connection to group directly, for requests made by the connection itself.
func (h *Hub) Join(c *Conn, group string) error {
	if !ValidGroupName(group) {
		return ErrInvalidGroup
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[c.id] != c {
		return ErrClosed
	}
	if !h.joinLocked(c, group) {
		return ErrTooManyGroups
	}
	return nil
}

// Leave removes the connection from group directly.
func (h *Hub) Leave(c *Conn, group string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.leaveLocked(c, group)
}

// Connection returns a live connection by id.
func (h *Hub) Connection(id string) (*Conn, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.conns[id]
	return c, ok
}

// HasConnection, HasUser and HasGroup answer the REST API's existence checks.
func (h *Hub) HasConnection(id string) bool {
	_, ok := h.Connection(id)
	return ok
}

func (h *Hub) HasUser(user string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users[user]) > 0
}

// HasUserInGroup reports whether user is a member of group: by a membership of its own, or
// through one of its connections.
func (h *Hub) HasUserInGroup(user, group string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.memberships[user][group] != nil {
		return true
	}
	for c := range h.users[user] {
		if _, in := c.groups[group]; in {
			return true
		}
	}
	return false
}

func (h *Hub) HasGroup(group string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.groups[group]) > 0
}

// Groups lists, sorted, the groups that have members and whose names start with prefix: how a
// server-side producer finds the audiences it has to serve.
func (h *Hub) Groups(prefix string) []string {
	h.mu.RLock()
	var out []string
	for g, members := range h.groups {
		if len(members) > 0 && strings.HasPrefix(g, prefix) {
			out = append(out, g)
		}
	}
	h.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Member is one connection of a group listing.
type Member struct {
	ConnectionID string `json:"connectionId"`
	UserID       string `json:"userId,omitempty"`
}

// GroupMembers lists a group's connections ordered by id, so that pages are stable.
func (h *Hub) GroupMembers(group string) []Member {
	h.mu.RLock()
	out := make([]Member, 0, len(h.groups[group]))
	for c := range h.groups[group] {
		out = append(out, Member{ConnectionID: c.id, UserID: c.userID})
	}
	h.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ConnectionID < out[j].ConnectionID })
	return out
}

// Publish hands an operation on this hub to the broker, which applies it.
func (h *Hub) Publish(ctx context.Context, e *Envelope) error {
	e.Hub = h.name
	if e.To.Filter != "" {
		if _, err := e.To.compile(h.svc.parseFilter); err != nil {
			return &FilterError{Err: err}
		}
	}
	h.svc.metrics.published.Inc()
	if err := h.svc.broker.Publish(ctx, e); err != nil {
		return fmt.Errorf("publish to hub %s: %w", h.name, err)
	}
	return nil
}

// apply carries out an envelope on the hub's connections.
func (h *Hub) apply(e *Envelope) {
	switch e.Op {
	case OpSend:
		h.deliver(e)
	case OpAddToGroups, OpRemoveFromGroups:
		h.changeGroups(e)
	case OpClose:
		for _, c := range h.selected(e.To) {
			c.Close(CloseNormal, e.Reason)
		}
	case OpGrant, OpRevoke:
		for _, c := range h.selected(e.To) {
			if e.Op == OpGrant {
				c.grants.Grant(e.Permission, e.PermissionTarget)
			} else {
				c.grants.Revoke(e.Permission, e.PermissionTarget)
			}
		}
	}
}

// deliver queues e's message to every selected connection while holding the read lock: queuing
// never blocks, so the lock is held for one pass over the recipients and no copy of the
// recipient set is made.
func (h *Hub) deliver(e *Envelope) {
	match, err := e.To.compile(h.svc.parseFilter)
	if err != nil {
		h.svc.logger.Warn("dropping message with an invalid filter", "hub", h.name, "err", err)
		return
	}
	wake := wakeListPool.Get().(*[]*Conn)
	h.mu.RLock()
	h.forEachLocked(e.To, match, func(c *Conn) {
		if c.queueMessage(e.Message) {
			*wake = append(*wake, c)
		}
	})
	h.mu.RUnlock()
	h.svc.flusher.scheduleAll(*wake)
	clear(*wake)
	*wake = (*wake)[:0]
	wakeListPool.Put(wake)
}

// wakeListPool recycles the lists of connections whose writers one fan-out wakes, so that waking
// them costs one lock of the ready line, not one per recipient.
var wakeListPool = sync.Pool{New: func() any { return new([]*Conn) }}

func (h *Hub) changeGroups(e *Envelope) {
	targets := h.selected(e.To)
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.To.Kind == ToUser {
		h.changeMembershipsLocked(e)
	}
	for _, c := range targets {
		if h.conns[c.id] != c {
			continue
		}
		groups := e.Groups
		if e.Op == OpRemoveFromGroups && len(groups) == 0 {
			// No group named: leave them all.
			groups = slices.Collect(maps.Keys(c.groups))
		}
		for _, g := range groups {
			if e.Op == OpAddToGroups {
				h.joinLocked(c, g)
			} else {
				h.leaveLocked(c, g)
			}
		}
	}
}

// changeMembershipsLocked applies a change of a user's groups to the user's own memberships.
func (h *Hub) changeMembershipsLocked(e *Envelope) {
	user := e.To.Name
	if e.Op == OpRemoveFromGroups {
		names := e.Groups
		if len(names) == 0 {
			names = slices.Collect(maps.Keys(h.memberships[user]))
		}
		for _, g := range names {
			h.forgetLocked(user, g)
		}
		return
	}
	if !e.KeepForUser {
		return
	}
	for _, g := range e.Groups {
		h.forgetLocked(user, g) // a new expiry replaces the old one
		h.changes++
		m := &membership{changed: h.changes}
		if !e.MembershipExpires.IsZero() {
			m.timer = time.AfterFunc(time.Until(e.MembershipExpires), func() { h.expire(user, g, m) })
		}
		if h.memberships[user] == nil {
			h.memberships[user] = make(map[string]*membership)
		}
		h.memberships[user][g] = m
		if m.timer == nil {
			h.capLastingLocked(user)
		}
	}
}

// capLastingLocked ends the user's least recently changed lasting membership while there are
// more than MaxLastingMemberships.
func (h *Hub) capLastingLocked(user string) {
	for {
		oldest, n := "", 0
		for g, m := range h.memberships[user] {
			if m.timer != nil {
				continue
			}
			n++
			if oldest == "" || m.changed < h.memberships[user][oldest].changed {
				oldest = g
			}
		}
		if n <= MaxLastingMemberships {
			return
		}
		h.forgetLocked(user, oldest)
	}
}

// forgetLocked ends user's own membership of group, if any; its connections stay where they are.
func (h *Hub) forgetLocked(user, group string) {
	groups := h.memberships[user]
	m := groups[group]
	if m == nil {
		return
	}
	if m.timer != nil {
		m.timer.Stop()
	}
	delete(groups, group)
	if len(groups) == 0 {
		delete(h.memberships, user)
	}
}

// expire ends user's membership m of group when its time is up, taking the user's connections
// out of the group with it, unless m has been replaced or removed meanwhile.
func (h *Hub) expire(user, group string, m *membership) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.memberships[user][group] != m {
		return
	}
	h.forgetLocked(user, group)
	for c := range h.users[user] {
		h.leaveLocked(c, group)
	}
}

// selected returns a snapshot of the connections a selector names.
func (h *Hub) selected(s Selector) []*Conn {
	match, err := s.compile(h.svc.parseFilter)
	if err != nil {
		return nil
	}
	var out []*Conn
	h.mu.RLock()
	defer h.mu.RUnlock()
	h.forEachLocked(s, match, func(c *Conn) { out = append(out, c) })
	return out
}

func (h *Hub) forEachLocked(s Selector, match func(*Conn) bool, fn func(*Conn)) {
	visit := func(c *Conn) {
		if c.id == s.ExceptConnection || slices.Contains(s.Excluded, c.id) {
			return
		}
		if match != nil && !match(c) {
			return
		}
		fn(c)
	}
	switch s.Kind {
	case ToAll:
		for _, c := range h.conns {
			visit(c)
		}
	case ToGroup:
		for c := range h.groups[s.Name] {
			visit(c)
		}
	case ToUser:
		for c := range h.users[s.Name] {
			visit(c)
		}
	case ToConnection:
		if c, ok := h.conns[s.Name]; ok {
			visit(c)
		}
	}
}
