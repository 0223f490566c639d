package collect

import (
	"bytes"
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
)

// selfFormat is the exposition the self job renders its registry in.
var selfFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// selfSource collects the process's own registry. It renders the gathered
// families as the text exposition and parses that as a scrape would: one
// conversion path, so the series are exactly those a scrape of /metrics
// gives (histogram _bucket/_sum/_count, summary quantiles, escaped names),
// and no HTTP round trip through our own listener.
type selfSource struct {
	gatherer prometheus.Gatherer
	st       *labels.SymbolTable
	text     bytes.Buffer
}

func (s *selfSource) collect(_ context.Context, b *batch) error {
	families, err := s.gatherer.Gather()
	if err != nil {
		return fmt.Errorf("gather own metrics: %w", err)
	}
	s.text.Reset()
	enc := expfmt.NewEncoder(&s.text, selfFormat)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encode own metric %s: %w", mf.GetName(), err)
		}
	}
	return appendExposition(b, s.text.Bytes(), string(selfFormat), s.st, true)
}
