package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// Mask is what the API answers in place of a secret; sent back in an update, it keeps the stored
// secret.
const Mask = "<secret>"

// The kinds of contact point.
const (
	KindWebhook      = "webhook"
	KindAlertmanager = "alertmanager"
	KindSlack        = "slack"
	KindTeams        = "teams"
	KindEmail        = "email"
	KindHub          = "hub"
)

// Contact point defaults and bounds.
const (
	defaultTimeout  = 10 * time.Second
	maxTimeout      = 2 * time.Minute
	defaultAttempts = 3
	maxAttempts     = 10
	maxNameLen      = 128
)

// ContactPoint is where notifications go: a kind and its settings, with the bounds of each
// delivery.
type ContactPoint struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Timeout bounds each attempt (default 10s, at most 2m).
	Timeout Duration `json:"timeout"`
	timeout time.Duration
	// Attempts is how many times a notification is tried in all (default 3, at most 10).
	Attempts int `json:"attempts"`
	// Settings is the kind's: *WebhookSettings, *AlertmanagerSettings, *SlackSettings,
	// *TeamsSettings, *EmailSettings or *HubSettings.
	Settings  settings  `json:"-"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

// settings is what every kind's settings do.
type settings interface {
	// validate returns an *httpapi.Error naming the field at fault (relative to "settings").
	validate(hub HubPublisher) error
	// mask replaces each secret that is set by Mask.
	mask()
	// keep replaces each Mask by the secret old has in its place; old is of the same kind.
	keep(old settings)
}

// WebhookSettings posts the [Message] as JSON. With a Secret, each request is signed: the header
// X-Huddle-Timestamp holds the unix seconds of the request and X-Huddle-Signature is
// "sha256=" + hex HMAC-SHA256(Secret, timestamp + "." + body), so a receiver that checks the
// signature and refuses old timestamps refuses replays.
type WebhookSettings struct {
	URL     string            `json:"url"`
	Secret  string            `json:"secret,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// AlertmanagerSettings posts the alerts to Alertmanager's API v2 (POST /api/v2/alerts) of every
// URL (the members of an Alertmanager cluster), so its routing, silences and paging go on working. Alertmanager
// groups and repeats by itself: a policy sending to it sends the group's firing alerts at every
// group_interval, each valid for four of them, as Prometheus does at every evaluation.
type AlertmanagerSettings struct {
	URLs        []string `json:"urls"`
	Username    string   `json:"username,omitempty"`
	Password    string   `json:"password,omitempty"`
	BearerToken string   `json:"bearerToken,omitempty"`
}

// SlackSettings posts to a Slack incoming webhook; its URL is a secret.
type SlackSettings struct {
	URL string `json:"url"`
}

// TeamsSettings posts an Adaptive Card to a Microsoft Teams incoming webhook (or a Workflows
// webhook); its URL is a secret.
type TeamsSettings struct {
	URL string `json:"url"`
}

// EmailSettings sends a plain-text e-mail over SMTP.
type EmailSettings struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	// TLS is "starttls" (the default: STARTTLS required), "opportunistic" (STARTTLS when
	// offered) or "tls" (TLS from the first byte, usually port 465).
	TLS string `json:"tls,omitempty"`
}

// HubSettings sends the [Message] as JSON to a group of a Web PubSub hub, so that apps connected
// to huddle react.
type HubSettings struct {
	Hub   string `json:"hub"`
	Group string `json:"group"`
}

// contactPointJSON is ContactPoint on the wire, settings raw until the kind is known.
type contactPointJSON struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Timeout   Duration        `json:"timeout"`
	Attempts  int             `json:"attempts"`
	Settings  json.RawMessage `json:"settings"`
	UpdatedAt time.Time       `json:"updatedAt"`
	UpdatedBy string          `json:"updatedBy"`
}

// MarshalJSON writes the contact point with its settings.
func (cp ContactPoint) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(cp.Settings)
	if err != nil {
		return nil, err
	}
	return json.Marshal(contactPointJSON{cp.ID, cp.Name, cp.Kind, cp.Timeout, cp.Attempts, raw, cp.UpdatedAt, cp.UpdatedBy})
}

// UnmarshalJSON reads a contact point, its settings as its kind's, refusing unknown fields.
func (cp *ContactPoint) UnmarshalJSON(b []byte) error {
	var w contactPointJSON
	if err := httpapi.DecodeJSONFrom(bytes.NewReader(b), &w); err != nil {
		return err
	}
	s, err := newSettings(w.Kind)
	if err != nil {
		return err
	}
	if len(w.Settings) == 0 || string(w.Settings) == "null" {
		return httpapi.Invalid("settings", "settings are required for a %s contact point", w.Kind)
	}
	if err := httpapi.DecodeJSONFrom(bytes.NewReader(w.Settings), s); err != nil {
		var he *httpapi.Error
		if errors.As(err, &he) && he.Field != "" {
			return httpapi.Invalid("settings."+he.Field, "settings: %s", he.Msg)
		}
		return httpapi.Invalid("settings", "settings: %v", err)
	}
	*cp = ContactPoint{ID: w.ID, Name: w.Name, Kind: w.Kind, Timeout: w.Timeout, Attempts: w.Attempts, Settings: s,
		UpdatedAt: w.UpdatedAt, UpdatedBy: w.UpdatedBy}
	return nil
}

func newSettings(kind string) (settings, error) {
	switch kind {
	case KindWebhook:
		return &WebhookSettings{}, nil
	case KindAlertmanager:
		return &AlertmanagerSettings{}, nil
	case KindSlack:
		return &SlackSettings{}, nil
	case KindTeams:
		return &TeamsSettings{}, nil
	case KindEmail:
		return &EmailSettings{}, nil
	case KindHub:
		return &HubSettings{}, nil
	}
	return nil, httpapi.Invalid("kind", "kind %q is not one of webhook, alertmanager, slack, teams, email, hub", httpapi.Truncate(kind, 32))
}

// normalize applies the defaults and validates cp.
func (cp *ContactPoint) normalize(hub HubPublisher) error {
	cp.Name = strings.TrimSpace(cp.Name)
	if cp.Name == "" || len(cp.Name) > maxNameLen {
		return httpapi.Invalid("name", "name is required, at most %d bytes", maxNameLen)
	}
	if cp.Settings == nil {
		return httpapi.Invalid("settings", "settings are required")
	}
	if cp.Timeout == "" {
		cp.Timeout = durationOf(defaultTimeout)
	}
	timeout, err := cp.Timeout.get("timeout")
	if err != nil {
		return err
	}
	if timeout <= 0 || timeout > maxTimeout {
		return httpapi.Invalid("timeout", "timeout must be positive and at most %s", maxTimeout)
	}
	cp.timeout = timeout
	if cp.Attempts == 0 {
		cp.Attempts = defaultAttempts
	}
	if cp.Attempts < 1 || cp.Attempts > maxAttempts {
		return httpapi.Invalid("attempts", "attempts must be between 1 and %d", maxAttempts)
	}
	if field := maskedField(cp.Settings); field != "" {
		return httpapi.Invalid("settings."+field, "%s: %s keeps a stored secret only in an update of a contact point of the same kind", field, Mask)
	}
	if err := cp.Settings.validate(hub); err != nil {
		var he *httpapi.Error
		if errors.As(err, &he) {
			return httpapi.Invalid("settings."+he.Field, "%s", he.Msg)
		}
		return err
	}
	return nil
}

// masked returns a copy of cp whose secrets read as Mask.
func (cp ContactPoint) masked() ContactPoint {
	s, _ := newSettings(cp.Kind)
	b, _ := json.Marshal(cp.Settings) // settings are plain structs: Marshal cannot fail
	_ = json.Unmarshal(b, s)
	s.mask()
	cp.Settings = s
	return cp
}

// maskedField names a field of s that still holds Mask, once the stored secrets are kept: one
// that had no stored secret to keep, which must not be saved as if it were the secret.
func maskedField(s settings) string {
	b, _ := json.Marshal(s) // settings are plain structs: Marshal cannot fail
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	for name, v := range fields {
		switch v := v.(type) {
		case string:
			if v == Mask {
				return name
			}
		case map[string]any:
			for k, hv := range v {
				if hv == Mask {
					return name + "." + k
				}
			}
		}
	}
	return ""
}

func maskString(s *string) {
	if *s != "" {
		*s = Mask
	}
}

func keepString(s *string, old string) {
	if *s == Mask {
		*s = old
	}
}

// checkURL refuses anything but an absolute http(s) URL without credentials in it.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return httpapi.Invalid(field, "%s must be an absolute http:// or https:// URL", field)
	}
	if u.User != nil {
		return httpapi.Invalid(field, "%s must not hold credentials: use the contact point's own fields", field)
	}
	return nil
}

func (s *WebhookSettings) validate(HubPublisher) error {
	if err := checkURL("url", s.URL); err != nil {
		return err
	}
	for name, v := range s.Headers {
		if !validHeaderName(name) || strings.ContainsAny(v, "\r\n") {
			return httpapi.Invalid("headers", "header %q: a token name and a value on one line", httpapi.Truncate(name, 64))
		}
		switch strings.ToLower(name) {
		case "content-type", "content-length", "host", "x-huddle-signature", "x-huddle-timestamp":
			return httpapi.Invalid("headers", "header %q is set by huddle", name)
		}
	}
	return nil
}

func (s *WebhookSettings) mask() {
	maskString(&s.Secret)
	for k := range s.Headers {
		s.Headers[k] = Mask
	}
}

func (s *WebhookSettings) keep(o settings) {
	old := o.(*WebhookSettings)
	keepString(&s.Secret, old.Secret)
	for k, v := range s.Headers {
		if ov, ok := old.Headers[k]; ok && v == Mask {
			s.Headers[k] = ov
		}
	}
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c > 127 || !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (s *AlertmanagerSettings) validate(HubPublisher) error {
	if len(s.URLs) == 0 || len(s.URLs) > 10 {
		return httpapi.Invalid("urls", "urls: one to ten Alertmanager base URLs (http://host:9093)")
	}
	for i, u := range s.URLs {
		if err := checkURL(fmt.Sprintf("urls[%d]", i), u); err != nil {
			return err
		}
	}
	if s.BearerToken != "" && (s.Username != "" || s.Password != "") {
		return httpapi.Invalid("bearerToken", "bearerToken and basic auth (username, password) exclude each other")
	}
	if s.Password != "" && s.Username == "" {
		return httpapi.Invalid("username", "a password needs a username")
	}
	return nil
}

func (s *AlertmanagerSettings) mask() { maskString(&s.Password); maskString(&s.BearerToken) }

func (s *AlertmanagerSettings) keep(o settings) {
	old := o.(*AlertmanagerSettings)
	keepString(&s.Password, old.Password)
	keepString(&s.BearerToken, old.BearerToken)
}

func (s *SlackSettings) validate(HubPublisher) error { return checkURL("url", s.URL) }
func (s *SlackSettings) mask()                       { maskString(&s.URL) }
func (s *SlackSettings) keep(o settings)             { keepString(&s.URL, o.(*SlackSettings).URL) }
func (s *TeamsSettings) validate(HubPublisher) error { return checkURL("url", s.URL) }
func (s *TeamsSettings) mask()                       { maskString(&s.URL) }
func (s *TeamsSettings) keep(o settings)             { keepString(&s.URL, o.(*TeamsSettings).URL) }

func (s *EmailSettings) validate(HubPublisher) error {
	if s.Host == "" || strings.ContainsAny(s.Host, " /:\r\n") {
		return httpapi.Invalid("host", "host is the SMTP server's name or address, without port")
	}
	if s.Port == 0 {
		s.Port = 587
		if s.TLS == "tls" {
			s.Port = 465
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		return httpapi.Invalid("port", "port must be between 1 and 65535")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return httpapi.Invalid("from", "from is not an e-mail address: %v", err)
	}
	if len(s.To) == 0 || len(s.To) > 100 {
		return httpapi.Invalid("to", "to: one to a hundred e-mail addresses")
	}
	for i, to := range s.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return httpapi.Invalid(fmt.Sprintf("to[%d]", i), "to[%d] is not an e-mail address: %v", i, err)
		}
	}
	switch s.TLS {
	case "":
		s.TLS = "starttls"
	case "starttls", "opportunistic", "tls":
	default:
		return httpapi.Invalid("tls", "tls is starttls (required), opportunistic or tls")
	}
	if s.Password != "" && s.Username == "" {
		return httpapi.Invalid("username", "a password needs a username")
	}
	return nil
}

func (s *EmailSettings) mask()           { maskString(&s.Password) }
func (s *EmailSettings) keep(o settings) { keepString(&s.Password, o.(*EmailSettings).Password) }

func (s *HubSettings) validate(hub HubPublisher) error {
	if hub == nil {
		return httpapi.Invalid("hub", "this server has no hub to send to")
	}
	if !pubsub.ValidHubName(s.Hub) {
		return httpapi.Invalid("hub", "hub: a letter, then up to 127 letters, digits or _`,.[]")
	}
	if !pubsub.ValidGroupName(s.Group) {
		return httpapi.Invalid("group", "group: 1 to 1,024 characters, not all white space")
	}
	return nil
}

func (s *HubSettings) mask()         {}
func (s *HubSettings) keep(settings) {}
