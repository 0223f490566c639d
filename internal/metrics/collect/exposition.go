package collect

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/storage"
)

// appendExposition parses a Prometheus or OpenMetrics exposition and adds
// its samples to b. honorTimestamps keeps the timestamps the exposition
// gives; otherwise every sample gets the collection's.
func appendExposition(b *batch, body []byte, contentType string, st *labels.SymbolTable, honorTimestamps bool) error {
	// A blank or unknown Content-Type is read as the classic text format, as
	// Prometheus 2 did, rather than failing the scrape as Prometheus 3 does
	// unless told a fallback: simple exporters often send none.
	p, err := textparse.New(body, contentType, st, textparse.ParserOptions{FallbackContentType: "text/plain"})
	if p == nil {
		return fmt.Errorf("choose a parser for Content-Type %q: %w", contentType, err)
	}
	var (
		lset       labels.Labels
		family     string
		familyMeta metadata.Metadata
	)
	exposed := func() labels.Labels {
		p.Labels(&lset)
		return lset
	}
	// setFamily starts a new family's metadata when a TYPE, HELP or UNIT
	// line names another family than the last one.
	setFamily := func(name []byte) {
		if string(name) != family {
			family = string(name)
			familyMeta = metadata.Metadata{Type: model.MetricTypeUnknown}
		}
	}
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse exposition: %w", err)
		}
		switch entry {
		case textparse.EntryType:
			name, typ := p.Type()
			setFamily(name)
			familyMeta.Type = typ
			continue
		case textparse.EntryHelp:
			name, help := p.Help()
			setFamily(name)
			familyMeta.Help = string(help)
			continue
		case textparse.EntryUnit:
			name, unit := p.Unit()
			setFamily(name)
			familyMeta.Unit = string(unit)
			continue
		case textparse.EntryComment:
			continue
		}
		var (
			key []byte
			ts  *int64
			v   float64
			h   *histogram.Histogram
			fh  *histogram.FloatHistogram
		)
		native := entry == textparse.EntryHistogram
		if native {
			key, ts, h, fh = p.Histogram()
		} else {
			key, ts, v = p.Series()
		}
		if !honorTimestamps {
			ts = nil
		}
		var meta metadata.Metadata
		if family != "" && inFamily(metricName(key), family, familyMeta.Type) {
			meta = familyMeta
		}
		if native {
			err = b.add(key, exposed, ts, meta, func(ref storage.SeriesRef, l labels.Labels, t int64) (storage.SeriesRef, error) {
				return b.app.AppendHistogram(ref, l, t, h, fh)
			})
		} else {
			err = b.addFloat(key, exposed, ts, v, meta)
		}
		if err != nil {
			return err
		}
	}
}

// metricName returns the name at the start of a series' exposition text,
// which is all the family check needs; a quoted UTF-8 name never matches a
// family and gets no metadata.
func metricName(series []byte) string {
	s := string(series)
	if i := strings.IndexAny(s, "{ "); i >= 0 {
		return s[:i]
	}
	return s
}

// inFamily says whether the series named name belongs to the family whose
// TYPE/HELP came last: the text formats let a series follow metadata of
// another family, which then must not be attached to it.
func inFamily(name, family string, typ model.MetricType) bool {
	if name == family {
		return true
	}
	suffix, ok := strings.CutPrefix(name, family)
	if !ok {
		return false
	}
	switch typ {
	case model.MetricTypeCounter:
		return suffix == "_total" || suffix == "_created"
	case model.MetricTypeHistogram:
		return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || suffix == "_created"
	case model.MetricTypeGaugeHistogram:
		return suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount"
	case model.MetricTypeSummary:
		return suffix == "_sum" || suffix == "_count" || suffix == "_created"
	}
	return false
}
