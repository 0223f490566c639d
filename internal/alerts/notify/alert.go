package notify

import (
	"maps"
	"strconv"
	"time"
)

// Alert is one alert as the evaluator sees it after an evaluation: firing while EndsAt is zero,
// resolved once EndsAt is set. The evaluator sends a firing alert again after every evaluation
// and a resolved one once, as Prometheus does to Alertmanager.
type Alert struct {
	// Fingerprint identifies the alert's label set; it is stable across evaluations.
	Fingerprint string
	Labels      map[string]string
	Annotations map[string]string
	// Severity is Azure Monitor's scale: 0 critical, 1 error, 2 warning, 3 informational,
	// 4 verbose.
	Severity     int
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
	// IncidentID names the firing episode the alert belongs to, carried into the delivery log.
	IncidentID string
}

// Resolved reports whether the alert has ended.
func (a Alert) Resolved() bool { return !a.EndsAt.IsZero() }

// matchLabels is what matchers and group_by see: the alert's labels, plus its severity as the
// label "severity" unless the alert has a label of that name.
func (a Alert) matchLabels() map[string]string {
	m := make(map[string]string, len(a.Labels)+1)
	maps.Copy(m, a.Labels)
	if _, ok := m["severity"]; !ok {
		m["severity"] = strconv.Itoa(a.Severity)
	}
	return m
}

// SeverityName is the name Azure Monitor gives a severity.
func SeverityName(s int) string {
	switch s {
	case 0:
		return "critical"
	case 1:
		return "error"
	case 2:
		return "warning"
	case 3:
		return "informational"
	case 4:
		return "verbose"
	}
	return "sev" + strconv.Itoa(s)
}

// Message is one notification of a group of alerts: the JSON body of webhook and hub contact
// points, and what the templates of the others render. Its shape follows Alertmanager's webhook
// payload (docs/configuration.md, <webhook_config>), so receivers written for it read it.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	Status            string            `json:"status"` // firing or resolved
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	// Test marks the message sent by "send a test".
	Test   bool           `json:"test,omitempty"`
	Alerts []MessageAlert `json:"alerts"`

	// resendEvery is how often the group sends its firing alerts again (its group_interval),
	// for receivers that resolve what is not sent again in time.
	resendEvery time.Duration
}

// MessageAlert is one alert of a [Message].
type MessageAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	Severity     int               `json:"severity"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint"`
	IncidentID   string            `json:"incidentId,omitempty"`
}

// newMessage builds the message of a group's alerts, firing ones first.
func newMessage(groupKey string, groupLabels map[string]string, firing, resolved []Alert, externalURL string) *Message {
	m := &Message{Version: "1", GroupKey: groupKey, Status: "resolved", GroupLabels: groupLabels, ExternalURL: externalURL}
	if len(firing) > 0 {
		m.Status = "firing"
	}
	all := append(append([]Alert(nil), firing...), resolved...)
	for i, a := range all {
		ma := MessageAlert{Status: "firing", Labels: a.Labels, Annotations: a.Annotations, Severity: a.Severity,
			StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint, IncidentID: a.IncidentID}
		if a.Resolved() {
			ma.Status = "resolved"
			ends := a.EndsAt
			ma.EndsAt = &ends
		}
		m.Alerts = append(m.Alerts, ma)
		if i == 0 {
			m.CommonLabels = maps.Clone(a.Labels)
			m.CommonAnnotations = maps.Clone(a.Annotations)
			continue
		}
		keepCommon(m.CommonLabels, a.Labels)
		keepCommon(m.CommonAnnotations, a.Annotations)
	}
	if m.CommonLabels == nil {
		m.CommonLabels = map[string]string{}
	}
	if m.CommonAnnotations == nil {
		m.CommonAnnotations = map[string]string{}
	}
	if m.GroupLabels == nil {
		m.GroupLabels = map[string]string{}
	}
	return m
}

// keepCommon removes from common what other does not have with the same value.
func keepCommon(common, other map[string]string) {
	for k, v := range common {
		if other[k] != v {
			delete(common, k)
		}
	}
}
