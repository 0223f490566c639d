package pubsub

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Permission is a right a connection may hold, for every group or for some of them.
type Permission uint8

const (
	// JoinLeaveGroup lets a client join and leave groups.
	JoinLeaveGroup Permission = iota
	// SendToGroup lets a client publish to groups.
	SendToGroup
	numPermissions
)

// ParsePermission maps the REST API's names to a Permission.
func ParsePermission(s string) (Permission, bool) {
	switch strings.ToLower(s) {
	case "joinleavegroup":
		return JoinLeaveGroup, true
	case "sendtogroup":
		return SendToGroup, true
	}
	return 0, false
}

// grants holds what one connection may do. It is guarded by its own lock because REST grants and
// revocations race with the connection's own requests.
type grants struct {
	mu       sync.RWMutex
	all      [numPermissions]bool
	groups   [numPermissions]map[string]struct{}
	patterns [numPermissions][]string
}

// Role prefixes of Web PubSub tokens. The plural forms carry a wildcard pattern.
const (
	roleJoinLeave        = "webpubsub.joinLeaveGroup"
	roleSend             = "webpubsub.sendToGroup"
	roleJoinLeavePattern = "webpubsub.joinLeaveGroups."
	roleSendPattern      = "webpubsub.sendToGroups."
)

func newGrants(roles []string) *grants {
	g := &grants{}
	for _, r := range roles {
		switch {
		case r == roleJoinLeave:
			g.all[JoinLeaveGroup] = true
		case r == roleSend:
			g.all[SendToGroup] = true
		case strings.HasPrefix(r, roleJoinLeavePattern):
			g.patterns[JoinLeaveGroup] = append(g.patterns[JoinLeaveGroup], r[len(roleJoinLeavePattern):])
		case strings.HasPrefix(r, roleSendPattern):
			g.patterns[SendToGroup] = append(g.patterns[SendToGroup], r[len(roleSendPattern):])
		case strings.HasPrefix(r, roleJoinLeave+"."):
			g.add(JoinLeaveGroup, r[len(roleJoinLeave)+1:])
		case strings.HasPrefix(r, roleSend+"."):
			g.add(SendToGroup, r[len(roleSend)+1:])
		}
	}
	return g
}

func (g *grants) add(p Permission, group string) {
	if g.groups[p] == nil {
		g.groups[p] = make(map[string]struct{})
	}
	g.groups[p][group] = struct{}{}
}

// Grant gives p for group, or for every group when group is empty.
func (g *grants) Grant(p Permission, group string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if group == "" {
		g.all[p] = true
		return
	}
	g.add(p, group)
}

// Revoke takes p away for group, or entirely when group is empty.
func (g *grants) Revoke(p Permission, group string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if group == "" {
		g.all[p] = false
		g.groups[p] = nil
		g.patterns[p] = nil
		return
	}
	delete(g.groups[p], group)
}

// Has reports whether p is held for group (or, with an empty group, for every group).
func (g *grants) Has(p Permission, group string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.all[p] {
		return true
	}
	if group == "" {
		return false
	}
	if _, ok := g.groups[p][group]; ok {
		return true
	}
	for _, pat := range g.patterns[p] {
		if matchGroupPattern(pat, group) {
			return true
		}
	}
	return false
}

// matchGroupPattern matches dot-separated group names segment by segment: `*` and `?` stay within
// one segment (see matchSegment) and a whole-segment `**` spans any number of segments. Matching is
// dynamic programming over segments, so hostile patterns cost at most len(pattern)×len(group).
func matchGroupPattern(pattern, group string) bool {
	pats := strings.Split(pattern, ".")
	segs := strings.Split(group, ".")
	// reach[j] reports whether the patterns consumed so far can match segs[:j].
	reach := make([]bool, len(segs)+1)
	reach[0] = true
	for _, p := range pats {
		next := make([]bool, len(segs)+1)
		for j := range reach {
			if !reach[j] {
				continue
			}
			if p == "**" {
				for k := j; k <= len(segs); k++ {
					next[k] = true
				}
				break // every later j is already covered
			}
			if j < len(segs) && matchSegment(p, segs[j]) {
				next[j+1] = true
			}
		}
		reach = next
	}
	return reach[len(segs)]
}

// matchSegment matches one segment: `*` is any run of characters, `?` is one character, and
// everything else (`[`, `\`, `/` included, which path.Match would treat specially) stands for itself.
func matchSegment(p, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0 // the last `*` seen and where its match would next end
	for sx < len(s) {
		switch {
		case px < len(p) && p[px] == '*':
			star, mark = px, sx
			px++
		case px < len(p) && p[px] == '?':
			_, n := utf8.DecodeRuneInString(s[sx:])
			px, sx = px+1, sx+n
		case px < len(p) && p[px] == s[sx]:
			px, sx = px+1, sx+1
		case star >= 0:
			_, n := utf8.DecodeRuneInString(s[mark:])
			mark += n
			px, sx = star+1, mark
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}
