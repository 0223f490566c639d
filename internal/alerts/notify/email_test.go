package notify

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/huddle-dev/huddle/internal/testkit"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on a free port, with STARTTLS when given a
// certificate, and AUTH PLAIN for user "alerts", password "pw".
type smtpServer struct {
	addr string
	mu   sync.Mutex
	mail []received
}

type received struct {
	from, user string
	to         []string
	tls        bool
	data       string
}

func newSMTPServer(t *testing.T, startTLS bool) (*smtpServer, *x509.CertPool) {
	t.Helper()
	ss := &smtpServer{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: ss, conn: c}, nil }))
	s.Domain = "localhost"
	pool := x509.NewCertPool()
	if startTLS {
		certFile, keyFile, certPEM := testkit.WriteSelfSignedCert(t, t.TempDir(), "localhost")
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		pool.AppendCertsFromPEM(certPEM)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ss.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return ss, pool
}

func (ss *smtpServer) received() []received {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]received(nil), ss.mail...)
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "alerts" || pass != "pw" {
			return smtp.ErrAuthFailed // 535, as RFC 4954 section 6 has servers answer bad credentials
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "full@") {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.mail = append(s.srv.mail, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur = received{user: s.cur.user} }
func (s *smtpSession) Logout() error { return nil }

func TestEmail(t *testing.T) {
	t.Parallel()
	srv, pool := newSMTPServer(t, true)
	plain, _ := newSMTPServer(t, false)
	d, _ := newDispatcher(t, nil, Options{RootCAs: pool})
	port := func(addr string) int {
		_, p, _ := net.SplitHostPort(addr)
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		return n
	}
	ok := addContactPoint(t, d, "mail", &EmailSettings{Host: "localhost", Port: port(srv.addr), From: "Huddle <huddle@example.com>",
		To: []string{"ops@example.com", "Dee <dee@example.com>"}, Username: "alerts", Password: "pw"})
	noTLS := addContactPoint(t, d, "mail-no-tls", &EmailSettings{Host: "localhost", Port: port(plain.addr), From: "huddle@example.com",
		To: []string{"ops@example.com"}})
	full := addContactPoint(t, d, "mail-full", &EmailSettings{Host: "localhost", Port: port(srv.addr), From: "huddle@example.com",
		To: []string{"full@example.com"}, Username: "alerts", Password: "pw"}, func(cp *ContactPoint) { cp.Attempts = 2 })
	badAuth := addContactPoint(t, d, "mail-bad-auth", &EmailSettings{Host: "localhost", Port: port(srv.addr), From: "huddle@example.com",
		To: []string{"ops@example.com"}, Username: "alerts", Password: "wrong"})
	setPolicy(t, d, Policy{ContactPoint: ok.ID, GroupWait: "0s", GroupInterval: "10ms", Routes: []Route{
		{Matchers: []string{`alertname="DiskFull"`}, ContactPoint: ok.ID},
		{Matchers: []string{`alertname="NoTLS"`}, ContactPoint: noTLS.ID},
		{Matchers: []string{`alertname="Full"`}, ContactPoint: full.ID},
		{Matchers: []string{`alertname="BadAuth"`}, ContactPoint: badAuth.ID},
	}})

	a := firing("DiskFull", "fp1")
	a.Labels["instance"] = "db1\r\nBcc: evil@example.com" // a label cannot add a header
	d.Notify(a, firing("NoTLS", "fp2"), firing("Full", "fp3"), firing("BadAuth", "fp4"))

	if dl := waitDeliveries(t, d, "fp1", 1)[0]; dl.Status != StatusOK {
		t.Errorf("delivery %+v", dl)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("%d mails, want 1", len(got))
	}
	m := got[0]
	if !m.tls || m.user != "alerts" || m.from != "huddle@example.com" || strings.Join(m.to, ",") != "ops@example.com,dee@example.com" {
		t.Errorf("envelope %+v", m)
	}
	msg, err := mail.ReadMessage(strings.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "[FIRING:1] DiskFull" {
		t.Errorf("subject %q (%v)", subject, err)
	}
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers %v", msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "DiskFull — error, firing on db1") || !strings.Contains(string(body), "DiskFull is up to something") {
		t.Errorf("body %q", body)
	}

	cases := []struct {
		fp, status, errText string
		attempts            int
	}{
		{"fp2", StatusFailed, "does not offer STARTTLS", 1},
		{"fp3", StatusFailed, "SMTP RCPT TO full@example.com: 452", 2}, // 4xx: retried
		{"fp4", StatusFailed, "SMTP AUTH: 535", 1},                     // 5xx: final
	}
	for _, c := range cases {
		dls := waitDeliveries(t, d, c.fp, c.attempts)
		if dl := dls[0]; dl.Status != c.status || !strings.Contains(dl.Error, c.errText) {
			t.Errorf("%s: %+v, want %s with %q", c.fp, dl, c.status, c.errText)
		}
	}
}
