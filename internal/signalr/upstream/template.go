package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Template is one upstream setting, in the shape of Azure SignalR Service's upstream templates
// (ARM properties.upstream.templates).
type Template struct {
	// URLTemplate is the upstream's absolute http(s) URL; {hub}, {category} and {event} are
	// replaced with the event's names, percent-encoded as .NET's Uri.EscapeDataString does, so
	// that a name can never add a path segment or a query parameter.
	URLTemplate string `yaml:"urlTemplate"`
	// HubPattern, EventPattern and CategoryPattern each select by "*" (everything, the default
	// when empty), one name, or a comma-separated list of names. Categories are connections and
	// messages; the events of connections are connected and disconnected, those of messages
	// are the hub methods clients invoke.
	HubPattern      string `yaml:"hubPattern"`
	EventPattern    string `yaml:"eventPattern"`
	CategoryPattern string `yaml:"categoryPattern"`
}

// Categories and the events of the connections category, as the service names them.
const (
	CategoryConnections = "connections"
	CategoryMessages    = "messages"
	EventConnected      = "connected"
	EventDisconnected   = "disconnected"
)

// Check reports what makes t unusable, naming the field at fault.
func (t Template) Check() error {
	probe := t.expand("hub", CategoryMessages, "event")
	if strings.ContainsAny(probe, "{}") {
		return errors.New("urlTemplate: only {hub}, {category} and {event} may be used (Key Vault references are not supported: write the value into the URL)")
	}
	if u, err := url.Parse(probe); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("urlTemplate: %q must be an absolute http:// or https:// URL", t.URLTemplate)
	}
	for name := range strings.SplitSeq(t.CategoryPattern, ",") {
		if name = strings.TrimSpace(name); !slices.Contains([]string{"", "*", CategoryConnections, CategoryMessages}, strings.ToLower(name)) {
			return fmt.Errorf("categoryPattern: unknown category %q: use *, connections or messages", name)
		}
	}
	return nil
}

// matches reports whether the template takes event of category in hub.
func (t Template) matches(hub, category, event string) bool {
	return patternMatches(t.HubPattern, hub) && patternMatches(t.CategoryPattern, category) && patternMatches(t.EventPattern, event)
}

func patternMatches(pattern, name string) bool {
	if strings.TrimSpace(pattern) == "" {
		return true
	}
	for p := range strings.SplitSeq(pattern, ",") {
		if p = strings.TrimSpace(p); p == "*" || strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// expand fills in the template's parameters. The emulator's Utils.GetUpstreamUrl replaces
// exactly these three lower-case names.
func (t Template) expand(hub, category, event string) string {
	return strings.NewReplacer("{hub}", escapeData(hub), "{category}", escapeData(category), "{event}", escapeData(event)).Replace(t.URLTemplate)
}

// escapeData percent-encodes everything but RFC 3986 unreserved characters, as
// Uri.EscapeDataString does: QueryEscape differs from it only in writing a space as '+'.
func escapeData(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
