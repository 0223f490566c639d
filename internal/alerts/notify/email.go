package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// sendMail sends m as a plain-text e-mail through s's server, with net/smtp: STARTTLS required,
// when offered, or TLS from the start, then AUTH PLAIN when a username is set (net/smtp refuses
// to send a password in clear to any host but localhost).
func (d *Dispatcher) sendMail(ctx context.Context, s *EmailSettings, m *Message) error {
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return &attemptError{retry: true, err: describeNetError(ctx, err)}
	}
	// net/smtp takes no context: the connection's deadline and closing it on cancel bound it.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() { _ = conn.Close() }()
	if s.TLS == "tls" {
		tc := tls.Client(conn, d.tlsConfig(s.Host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return smtpError(ctx, "TLS handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return smtpError(ctx, "greeting", err)
	}
	if s.TLS != "tls" {
		ok, _ := c.Extension("STARTTLS")
		switch {
		case ok:
			if err := c.StartTLS(d.tlsConfig(s.Host)); err != nil {
				return smtpError(ctx, "STARTTLS", err)
			}
		case s.TLS == "starttls":
			return &attemptError{err: errors.New("the SMTP server does not offer STARTTLS, which this contact point requires")}
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return smtpError(ctx, "AUTH", err)
		}
	}
	from, _ := mail.ParseAddress(s.From) // validated when the contact point was saved
	if err := c.Mail(from.Address); err != nil {
		return smtpError(ctx, "MAIL FROM", err)
	}
	for _, to := range s.To {
		a, _ := mail.ParseAddress(to)
		if err := c.Rcpt(a.Address); err != nil {
			return smtpError(ctx, "RCPT TO "+a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(ctx, "DATA", err)
	}
	if _, err := w.Write(mailMessage(s, from, m)); err != nil {
		return smtpError(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError(ctx, "end of DATA", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted at the end of DATA; a failed QUIT changes nothing.
		d.logger.Debug("SMTP QUIT failed", "host", s.Host, "err", err)
	}
	return nil
}

// smtpError classifies a failure of step: SMTP 4xx replies and network errors may pass later,
// 5xx replies and TLS failures will not.
func smtpError(ctx context.Context, step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &attemptError{retry: te.Code >= 400 && te.Code < 500, err: fmt.Errorf("SMTP %s: %d %s", step, te.Code, te.Msg)}
	}
	var (
		ne      net.Error
		certErr *tls.CertificateVerificationError
	)
	if errors.As(err, &certErr) {
		return &attemptError{err: fmt.Errorf("SMTP %s: %w", step, err)}
	}
	if errors.As(err, &ne) || ctx.Err() != nil {
		return &attemptError{retry: true, err: fmt.Errorf("SMTP %s: %w", step, describeNetError(ctx, err))}
	}
	return &attemptError{err: fmt.Errorf("SMTP %s: %w", step, err)}
}

// mailMessage is m as an RFC 5322 message in UTF-8 plain text; the subject is Q-encoded, so no
// label value can add a header.
func mailMessage(s *EmailSettings, from *mail.Address, m *Message) []byte {
	title, body := plainText.render(m)
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	var b strings.Builder
	b.WriteString("From: " + from.String() + "\r\n")
	to := make([]string, 0, len(s.To))
	for _, t := range s.To {
		a, _ := mail.ParseAddress(t)
		to = append(to, a.String())
	}
	b.WriteString("To: " + strings.Join(to, ", ") + "\r\n")
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", title) + "\r\n")
	b.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + hex.EncodeToString(id) + "@huddle>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	for line := range strings.SplitSeq(body, "\n") {
		// A line of a single "." would end DATA early were it not for net/smtp's dot-stuffing;
		// bare CRs are what it does not fix.
		b.WriteString(strings.ReplaceAll(line, "\r", "") + "\r\n")
	}
	return []byte(b.String())
}
