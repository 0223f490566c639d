package upstream

import (
	"slices"
	"strings"
)

// Handler is one event handler setting of a hub, as in the Azure portal.
type Handler struct {
	// URLTemplate is the handler's absolute http(s) URL. The placeholders {hub} and {event}
	// (in any letter case) are replaced with the hub and event names, percent-encoded so that
	// a name can never add a path segment or a query parameter.
	URLTemplate string
	// UserEvents selects user events: "*" for all, a comma-separated list of names (matched
	// case-insensitively, as the official emulator does), or "" for none.
	UserEvents string
	// SystemEvents lists which of connect, connected and disconnected the handler receives
	// (case-insensitive).
	SystemEvents []string
}

// route is a Handler prepared for one hub: the template split around {event}, the filters
// parsed, and the validation gate shared by every handler with the same validation URL.
type route struct {
	// pieces are the template's text with {hub} filled in; {event} goes between them.
	pieces    []string
	allUser   bool
	userNames []string
	system    []string
	gate      *gate
}

func newRoute(hub string, h Handler) *route {
	r := &route{pieces: splitTemplate(h.URLTemplate, escapeData(hub))}
	for name := range strings.SplitSeq(h.UserEvents, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case "*":
			r.allUser = true
		default:
			r.userNames = append(r.userNames, name)
		}
	}
	for _, e := range h.SystemEvents {
		r.system = append(r.system, strings.ToLower(strings.TrimSpace(e)))
	}
	return r
}

// url is where an event named event is sent.
func (r *route) url(event string) string {
	return strings.Join(r.pieces, escapeData(event))
}

func (r *route) wantsUser(event string) bool {
	return r.allUser || slices.ContainsFunc(r.userNames, func(n string) bool { return strings.EqualFold(n, event) })
}

func (r *route) wantsSystem(event string) bool {
	return slices.Contains(r.system, event)
}

// splitTemplate fills in {hub} and cuts the template at each {event}.
func splitTemplate(tmpl, hub string) []string {
	var pieces []string
	var cur strings.Builder
	for i := 0; i < len(tmpl); i++ {
		rest := tmpl[i:]
		switch {
		case hasPrefixFold(rest, "{hub}"):
			cur.WriteString(hub)
			i += len("{hub}") - 1
		case hasPrefixFold(rest, "{event}"):
			pieces = append(pieces, cur.String())
			cur.Reset()
			i += len("{event}") - 1
		default:
			cur.WriteByte(tmpl[i])
		}
	}
	return append(pieces, cur.String())
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// escapeData percent-encodes everything but RFC 3986 unreserved characters, like .NET's
// Uri.EscapeDataString that the service uses: url.PathEscape would leave '&', '=' and '+'
// alone, letting an event name add query parameters to a template such as ?event={event}.
func escapeData(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
