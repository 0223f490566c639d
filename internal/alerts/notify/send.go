package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// HubPublisher sends data to a group of a hub: what a hub contact point needs of huddle's
// real-time service.
type HubPublisher interface {
	SendToGroup(ctx context.Context, hub, group string, data []byte) error
}

// sender delivers one message by one contact point; status is the receiver's HTTP status, if
// it answered one.
type sender func(ctx context.Context, m *Message) (status int, err error)

// attemptError is a failed attempt: what to tell the user, and whether trying again may help.
type attemptError struct {
	status int
	retry  bool
	err    error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// retryable reports whether an attempt that failed with err may succeed later: network errors
// and timeouts may, as may answers that say so (HTTP 5xx and 429, SMTP 4xx); an answer refusing
// the request does not.
func retryable(err error) bool {
	var ae *attemptError
	if errors.As(err, &ae) {
		return ae.retry
	}
	return true
}

// senderFor returns how cp delivers.
func (d *Dispatcher) senderFor(cp *ContactPoint) sender {
	switch s := cp.Settings.(type) {
	case *WebhookSettings:
		return func(ctx context.Context, m *Message) (int, error) {
			body, h := jsonBody(m)
			for k, v := range s.Headers {
				h.Set(k, v)
			}
			if s.Secret != "" {
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				h.Set("X-Huddle-Timestamp", ts)
				h.Set("X-Huddle-Signature", Sign(s.Secret, ts, body))
			}
			return d.post(ctx, s.URL, body, h)
		}
	case *AlertmanagerSettings:
		return func(ctx context.Context, m *Message) (int, error) { return d.postAlertmanager(ctx, s, m) }
	case *SlackSettings:
		return func(ctx context.Context, m *Message) (int, error) {
			body, h := jsonBody(slackPayload(m))
			return d.post(ctx, s.URL, body, h)
		}
	case *TeamsSettings:
		return func(ctx context.Context, m *Message) (int, error) {
			body, h := jsonBody(teamsPayload(m))
			return d.post(ctx, s.URL, body, h)
		}
	case *EmailSettings:
		return func(ctx context.Context, m *Message) (int, error) { return 0, d.sendMail(ctx, s, m) }
	case *HubSettings:
		return func(ctx context.Context, m *Message) (int, error) {
			if d.hub == nil { // saved by a server that had one
				return 0, &attemptError{err: errors.New("this server has no hub to send to")}
			}
			body, _ := jsonBody(m)
			if err := d.hub.SendToGroup(ctx, s.Hub, s.Group, body); err != nil {
				return 0, fmt.Errorf("send to group %q of hub %q: %w", s.Group, s.Hub, err)
			}
			return 0, nil
		}
	}
	panic(fmt.Sprintf("notify: no sender for %T", cp.Settings))
}

// Sign is the X-Huddle-Signature of a webhook request: "sha256=" and the hex HMAC-SHA256, keyed
// with the secret, of the X-Huddle-Timestamp value, ".", and the body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// jsonBody encodes v, which is made of plain values, and the headers of a JSON request.
func jsonBody(v any) ([]byte, http.Header) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("notify: encode %T: %v", v, err))
	}
	return b, http.Header{"Content-Type": {"application/json"}, "User-Agent": {"huddle"}}
}

// maxAnswerShown is how much of a receiver's answer an error quotes.
const maxAnswerShown = 256

// post sends body to rawURL. The URL is never part of an error, since Slack's and Teams' are
// secrets.
func (d *Dispatcher) post(ctx context.Context, rawURL string, body []byte, h http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, &attemptError{err: fmt.Errorf("bad URL: %w", unwrapURL(err))}
	}
	req.Header = h
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, &attemptError{retry: true, err: describeNetError(ctx, unwrapURL(err))}
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &attemptError{
		status: resp.StatusCode,
		retry:  resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests,
		err:    fmt.Errorf("receiver answered %s: %s", resp.Status, quote(answer)),
	}
}

// unwrapURL drops the *url.Error around err, whose text repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// describeNetError says a timeout in words rather than as "context deadline exceeded".
func describeNetError(ctx context.Context, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no answer within the contact point's timeout: %w", err)
	}
	return err
}

// quote shows the start of a receiver's answer, as printable text on one line.
func quote(b []byte) string {
	if len(b) == 0 {
		return "(empty answer)"
	}
	s := string(b)
	if len(s) > maxAnswerShown {
		s = s[:maxAnswerShown]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strconv.Quote(strings.TrimSpace(s))
}

// postableAlert is one element of Alertmanager's API v2 postableAlerts (api/v2/openapi.yaml in
// prometheus/alertmanager: definitions postableAlert and alert): labels, annotations, startsAt,
// endsAt, generatorURL.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// postAlertmanager posts m's alerts to every URL, and passes when one took them, as Prometheus
// does, with Prometheus's bodies: a resolved alert with its endsAt, a firing one with an endsAt four resends ahead
// (Prometheus's ValidUntil, rules/alerting.go in prometheus/prometheus), so that Alertmanager
// resolves it by itself if huddle stops sending it. It fails when every URL failed.
func (d *Dispatcher) postAlertmanager(ctx context.Context, s *AlertmanagerSettings, m *Message) (int, error) {
	alerts := make([]postableAlert, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		pa := postableAlert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
			GeneratorURL: a.GeneratorURL}
		if pa.EndsAt == nil && m.resendEvery > 0 {
			validUntil := time.Now().Add(4 * m.resendEvery).UTC()
			pa.EndsAt = &validUntil
		}
		alerts = append(alerts, pa)
	}
	body, h := jsonBody(alerts)
	switch {
	case s.BearerToken != "":
		h.Set("Authorization", "Bearer "+s.BearerToken)
	case s.Username != "":
		req := http.Request{Header: h}
		req.SetBasicAuth(s.Username, s.Password)
	}
	// Every Alertmanager of a cluster is to hear of every alert (Alertmanager's README, "High
	// Availability"), at once, so that one that hangs costs the others nothing.
	type result struct {
		status int
		err    error
	}
	results := make([]result, len(s.URLs))
	var wg sync.WaitGroup
	for i, base := range s.URLs {
		wg.Go(func() {
			st, err := d.post(ctx, strings.TrimRight(base, "/")+"/api/v2/alerts", body, h.Clone())
			if err != nil {
				err = fmt.Errorf("%s: %w", base, err)
			}
			results[i] = result{st, err}
		})
	}
	wg.Wait()
	var (
		ok     = -1
		errs   []error
		status int
	)
	for i, r := range results {
		if r.err == nil {
			ok = i
			continue
		}
		status = r.status
		errs = append(errs, r.err)
	}
	if ok >= 0 {
		for _, err := range errs {
			d.logger.Warn("an Alertmanager of the cluster did not take the alerts", "err", err)
		}
		return results[ok].status, nil
	}
	return status, &attemptError{status: status, retry: retryableAll(errs), err: errors.Join(errs...)}
}

// retryableAll reports whether any of errs may pass on a retry.
func retryableAll(errs []error) bool {
	for _, err := range errs {
		if retryable(err) {
			return true
		}
	}
	return false
}

// tlsConfig is the TLS of connections to receivers; SMTP needs the server's name set.
func (d *Dispatcher) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: d.rootCAs, ServerName: serverName, MinVersion: tls.VersionTLS12}
}
