package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// certRecheck is how often the certificate files are looked at for a renewal.
const certRecheck = 10 * time.Second

// certificate is the configured TLS certificate, read again when either of its files changes so
// that a renewed certificate (certbot, cert-manager) is served without a restart. A renewal that
// does not load leaves the previous certificate in service and is logged once.
type certificate struct {
	certFile, keyFile string
	logger            *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamps  [2]time.Time // modification times of the files cert was read from
	checked time.Time
	problem string // the last reload's error, logged when it first appears
}

func loadCertificate(certFile, keyFile string, logger *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, logger: logger, now: time.Now}
	stamps, err := c.modTimes()
	if err == nil {
		err = c.load(stamps)
	}
	if err != nil {
		return nil, err
	}
	c.checked = c.now()
	return c, nil
}

func (c *certificate) modTimes() ([2]time.Time, error) {
	var s [2]time.Time
	for i, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return s, fmt.Errorf("tls: %w", err)
		}
		s[i] = fi.ModTime()
	}
	return s, nil
}

func (c *certificate) load(stamps [2]time.Time) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.stamps = &cert, stamps
	return nil
}

// get serves the certificate to a TLS handshake.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.checked) >= certRecheck {
		c.checked = now
		if err := c.reload(); err != nil {
			if err.Error() != c.problem {
				c.logger.Warn("TLS certificate not reloaded; serving the previous one", "err", err)
			}
			c.problem = err.Error()
		} else {
			c.problem = ""
		}
	}
	return c.cert, nil
}

// reload reads the files again if either changed since the certificate in service was read.
func (c *certificate) reload() error {
	stamps, err := c.modTimes()
	if err != nil || stamps == c.stamps {
		return err
	}
	if err := c.load(stamps); err != nil {
		return err
	}
	c.logger.Info("TLS certificate reloaded", "cert", c.certFile)
	return nil
}

// tlsListener serves HTTPS on ln. Only HTTP/1.1 is offered: a WebSocket upgrade needs it, and a
// browser that had negotiated HTTP/2 for the page would have to open a second connection anyway.
func tlsListener(ln net.Listener, cert *certificate) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		GetCertificate: cert.get,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	})
}
