package collect

import (
	"bytes"
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
)

// gatherFormat is the exposition a gathered registry is rendered in.
var gatherFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// gatherSource collects a registry in process: huddle's own for the self
// job, node_exporter's collectors for the host job. It renders the gathered
// families as the text exposition and parses that as a scrape would: one
// conversion path, so the series are exactly those a scrape of the
// registry's /metrics gives (histogram _bucket/_sum/_count, summary
// quantiles, untyped families, escaped names), and no HTTP round trip.
type gatherSource struct {
	gatherer prometheus.Gatherer
	st       *labels.SymbolTable
	text     bytes.Buffer
}

func newGatherSource(g prometheus.Gatherer) *gatherSource {
	return &gatherSource{gatherer: g, st: labels.NewSymbolTable()}
}

func (s *gatherSource) collect(_ context.Context, b *batch) error {
	families, err := s.gatherer.Gather()
	if err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	s.text.Reset()
	enc := expfmt.NewEncoder(&s.text, gatherFormat)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encode %s: %w", mf.GetName(), err)
		}
	}
	return appendExposition(b, s.text.Bytes(), string(gatherFormat), s.st, true)
}
