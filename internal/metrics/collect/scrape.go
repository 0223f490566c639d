package collect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// acceptHeader is what Prometheus 3 sends with its default scrape protocols,
// except that it asks for names escaped to underscores: UTF-8 names would
// need quoting in every PromQL query our users write.
const acceptHeader = "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6," +
	"application/openmetrics-text;version=0.0.1;q=0.5," +
	"text/plain;version=1.0.0;escaping=underscores;q=0.4," +
	"text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// scrapeSource scrapes one target over HTTP.
type scrapeSource struct {
	client          *http.Client
	url             string
	timeout         time.Duration
	limit           int64
	basicAuth       *BasicAuth
	bearerToken     string
	honorTimestamps bool
	st              *labels.SymbolTable
	// body is reused between scrapes: a target's size varies little.
	body bytes.Buffer
}

func newScrapeSource(c *ScrapeConfig, url string, client *http.Client) *scrapeSource {
	s := &scrapeSource{
		client:          client,
		url:             url,
		timeout:         c.Timeout,
		limit:           c.BodySizeLimit,
		bearerToken:     c.BearerToken,
		honorTimestamps: !c.IgnoreTimestamps,
		st:              labels.NewSymbolTable(),
	}
	if c.BasicAuth != nil {
		// A copy, so that the caller's later changes do not race with
		// running scrapes.
		auth := *c.BasicAuth
		s.basicAuth = &auth
	}
	return s
}

func (s *scrapeSource) collect(ctx context.Context, b *batch) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	contentType, err := s.fetch(ctx)
	if err != nil {
		return err
	}
	return appendExposition(b, s.body.Bytes(), contentType, s.st, s.honorTimestamps)
}

// fetch reads the target's exposition into s.body and returns its
// Content-Type.
func (s *scrapeSource) fetch(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return "", fmt.Errorf("scrape %s: %w", s.url, err)
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "huddle")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(s.timeout.Seconds(), 'f', -1, 64))
	switch {
	case s.basicAuth != nil:
		req.SetBasicAuth(s.basicAuth.Username, s.basicAuth.Password)
	case s.bearerToken != "":
		req.Header.Set("Authorization", "Bearer "+s.bearerToken)
	}
	// Accept-Encoding is left to the transport, which then asks for gzip and
	// decompresses; the size limit applies to the decompressed body.
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scrape %s: server returned HTTP status %s", s.url, resp.Status)
	}
	s.body.Reset()
	n, err := s.body.ReadFrom(io.LimitReader(resp.Body, s.limit+1))
	if err != nil {
		return "", fmt.Errorf("scrape %s: read body: %w", s.url, err)
	}
	if n > s.limit {
		s.body.Reset()
		return "", fmt.Errorf("scrape %s: body exceeds the %d-byte limit; raise bodySizeLimit or expose fewer series", s.url, s.limit)
	}
	return resp.Header.Get("Content-Type"), nil
}
