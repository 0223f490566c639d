package notify

import (
	"strings"
	"text/template"
)

// The default texts of a notification: a title, and a few lines per alert (name, severity,
// state, instance, summary and description annotations, link). Each kind renders them with its
// own emphasis: Slack's mrkdwn, Teams' Markdown, plain text for e-mail.
const (
	titleText = `{{if .Test}}[TEST] {{end}}[{{upper .Status}}{{if eq .Status "firing"}}:{{firing .}}{{end}}] ` +
		`{{or .CommonLabels.alertname .GroupLabels.alertname "alerts"}}` +
		`{{range $k, $v := .GroupLabels}}{{if ne $k "alertname"}} {{$k}}={{$v}}{{end}}{{end}}`
	bodyText = `{{range shown .}}{{bold (or .Labels.alertname "alert")}} — {{severity .Severity}}, {{.Status}}` +
		`{{with .Labels.instance}} on {{.}}{{end}}
{{with .Annotations.summary}}{{.}}
{{end}}{{with .Annotations.description}}{{.}}
{{end}}{{with .GeneratorURL}}{{.}}
{{end}}
{{end}}{{with more .}}… and {{.}} more
{{end}}{{with .ExternalURL}}{{.}}
{{end}}`
)

// maxShown is how many alerts a text lists; the rest are counted. Chat messages have size
// limits (a Slack section's text is 3,000 characters) and people read the first few.
const maxShown = 20

// renderer renders the title and body of a message for one kind.
type renderer struct{ title, body *template.Template }

func newRenderer(bold func(string) string) renderer {
	funcs := template.FuncMap{
		"upper":    strings.ToUpper,
		"severity": SeverityName,
		"bold":     bold,
		"shown":    func(m *Message) []MessageAlert { return m.Alerts[:min(len(m.Alerts), maxShown)] },
		"more":     func(m *Message) int { return max(len(m.Alerts)-maxShown, 0) },
		"firing": func(m *Message) int {
			n := 0
			for _, a := range m.Alerts {
				if a.Status == "firing" {
					n++
				}
			}
			return n
		},
	}
	return renderer{
		title: template.Must(template.New("title").Option("missingkey=zero").Funcs(funcs).Parse(titleText)),
		body:  template.Must(template.New("body").Option("missingkey=zero").Funcs(funcs).Parse(bodyText)),
	}
}

var (
	plainText = newRenderer(func(s string) string { return s })
	slackText = newRenderer(func(s string) string { return "*" + s + "*" })
	teamsText = newRenderer(func(s string) string { return "**" + s + "**" })
)

// render returns m's title and body. The templates only read plain fields, so they cannot
// fail.
func (r renderer) render(m *Message) (title, body string) {
	var t, b strings.Builder
	_ = r.title.Execute(&t, m)
	_ = r.body.Execute(&b, m)
	return t.String(), strings.TrimSpace(b.String())
}

// slackPayload is a Slack incoming webhook message: text (the notification's fallback) and one
// section block in mrkdwn (Slack's docs: "Sending messages using incoming webhooks" and the
// section block reference, whose text is at most 3,000 characters).
func slackPayload(m *Message) any {
	title, body := slackText.render(m)
	text := "*" + title + "*\n" + body
	if len(text) > 3000 {
		text = cut(text, 2990) + "…"
	}
	type textObj struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type string  `json:"type"`
		Text textObj `json:"text"`
	}
	return struct {
		Text   string  `json:"text"`
		Blocks []block `json:"blocks"`
	}{title, []block{{"section", textObj{"mrkdwn", text}}}}
}

// teamsPayload is a Microsoft Teams message with one Adaptive Card attachment, as Microsoft's
// "Create Incoming Webhooks" documents under "Send Adaptive Cards using an Incoming Webhook"
// (MicrosoftDocs/msteams-docs, webhooks-and-connectors/how-to/add-incoming-webhook.md); the
// Workflows webhooks that replace Office 365 connectors take the same body.
func teamsPayload(m *Message) any {
	title, body := teamsText.render(m)
	type textBlock struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Weight string `json:"weight,omitempty"`
		Size   string `json:"size,omitempty"`
		Wrap   bool   `json:"wrap"`
	}
	type card struct {
		Schema  string      `json:"$schema"`
		Type    string      `json:"type"`
		Version string      `json:"version"`
		Body    []textBlock `json:"body"`
	}
	type attachment struct {
		ContentType string  `json:"contentType"`
		ContentURL  *string `json:"contentUrl"`
		Content     card    `json:"content"`
	}
	return struct {
		Type        string       `json:"type"`
		Attachments []attachment `json:"attachments"`
	}{"message", []attachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content: card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.2",
			Body: []textBlock{{Type: "TextBlock", Text: title, Weight: "Bolder", Size: "Medium", Wrap: true},
				{Type: "TextBlock", Text: body, Wrap: true}}},
	}}}
}

// cut returns at most n bytes of s, ending at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
