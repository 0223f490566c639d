package app

import (
	"crypto/tls"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/testkit"
)

// A renewed certificate is served without a restart; a renewal that does not load leaves the
// previous one in service and is logged once.
func TestCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := testkit.WriteSelfSignedCert(t, dir, "127.0.0.1")
	log := &testkit.LogBuffer{}
	c, err := loadCertificate(certFile, keyFile, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Now())
	c.now = clock.Now
	served := func() string {
		t.Helper()
		cert, err := c.get(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return string(cert.Certificate[0])
	}
	firstDER := served()
	if !strings.Contains(string(first), "CERTIFICATE") || firstDER == "" {
		t.Fatal("no certificate served")
	}
	// Modification times are compared, so the renewal is stamped later than the first write.
	later := time.Now().Add(time.Minute)
	testkit.WriteSelfSignedCert(t, dir, "127.0.0.1")
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if served() != firstDER {
		t.Fatal("the files were read again before the recheck interval")
	}
	clock.Advance(certRecheck)
	renewed := served()
	if renewed == firstDER {
		t.Fatal("the renewed certificate is not served")
	}

	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := later.Add(time.Minute)
	if err := os.Chtimes(certFile, broken, broken); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock.Advance(certRecheck)
		if served() != renewed {
			t.Fatal("a broken renewal replaced the certificate in service")
		}
	}
	if n := strings.Count(log.String(), "TLS certificate not reloaded"); n != 1 {
		t.Fatalf("the broken renewal was logged %d times, want once:\n%s", n, log)
	}
}
