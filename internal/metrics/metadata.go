package metrics

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"google.golang.org/protobuf/encoding/protowire"
)

// metadataEntry is one metadata of /api/v1/metadata, its fields in Prometheus's order
// (model/metadata.Metadata has another).
type metadataEntry struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// metadata answers /api/v1/metadata as Prometheus's metricMetadata does: limit bounds the
// metric families (0 answers none; negative, the default, all of them) and limit_per_metric
// the metadata of each.
func (a *API) metadata(r *http.Request) (any, error) {
	intParam := func(name string) (int, error) {
		s := r.FormValue(name)
		if s == "" {
			return -1, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, badData("%s must be a number", name)
		}
		return n, nil
	}
	limit, err := intParam("limit")
	if err != nil {
		return nil, err
	}
	perMetric, err := intParam("limit_per_metric")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]metadataEntry)
	if limit == 0 {
		return out, nil
	}
	md, err := a.src.Metadata(r.Context(), r.FormValue("metric"), max(limit, 0))
	if err != nil {
		return nil, err
	}
	for name, ms := range md {
		if limit > 0 && len(out) >= limit {
			break
		}
		if perMetric > 0 && len(ms) > perMetric {
			ms = ms[:perMetric]
		}
		entries := make([]metadataEntry, 0, len(ms))
		for _, m := range ms {
			entries = append(entries, metadataEntry{Type: string(m.Type), Help: m.Help, Unit: m.Unit})
		}
		out[name] = entries
	}
	return out, nil
}

// WriteStore is what the remote-write receiver writes to: samples through appenders, and the
// metric families' metadata, which remote write 1.0 sends per family and apart from the
// samples, so that it cannot go through an appender (whose metadata is per series).
type WriteStore interface {
	storage.Appendable
	SetMetadata(family string, m metadata.Metadata)
}

// maxWriteBytes bounds a remote-write body, compressed and decompressed: Prometheus's own
// receiver refuses a body that decompresses to more (client_golang exp/api/remote,
// maxDecodedSize).
const maxWriteBytes = 32 << 20

// keepMetadata keeps the metadata of a remote-write 1.0 request in st, then hands the request
// to next, which stores its samples. Senders (Prometheus's metadata watcher, Grafana Alloy)
// send metadata in requests of their own, so a request with metadata has few samples, and
// decompressing it twice costs little. A body that cannot be decoded is left for next to
// refuse with its reason.
func keepMetadata(st WriteStore, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWriteBytes))
		if err != nil {
			http.Error(w, fmt.Sprintf("read the request body: %v", err), http.StatusBadRequest)
			return
		}
		msg, err := remoteapi.ParseProtoMsg(r.Header.Get("Content-Type"))
		enc := r.Header.Get("Content-Encoding")
		if err == nil && msg == remoteapi.WriteV1MessageType && (enc == "" || enc == string(remoteapi.SnappyBlockCompression)) {
			if ms, err := writtenMetadata(body); err == nil {
				for _, m := range ms {
					if m.MetricFamilyName != "" {
						// The inverse of prompb.FromMetadataType.
						st.SetMetadata(m.MetricFamilyName, metadata.Metadata{
							Type: model.MetricType(strings.ToLower(m.Type.String())), Help: m.Help, Unit: m.Unit})
					}
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// writeRequestMetadata is the field number of prompb.WriteRequest's metadata.
const writeRequestMetadata = 3

// writtenMetadata decodes the metadata of a snappy-compressed prompb.WriteRequest, stepping
// over its time series without decoding them.
func writtenMetadata(body []byte) ([]prompb.MetricMetadata, error) {
	if n, err := snappy.DecodedLen(body); err != nil || n > maxWriteBytes {
		return nil, fmt.Errorf("decoded length %d (limit %d): %v", n, maxWriteBytes, err)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, err
	}
	var out []prompb.MetricMetadata
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		raw = raw[n:]
		if num == writeRequestMetadata && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(raw)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			var m prompb.MetricMetadata
			if err := m.Unmarshal(v); err != nil {
				return nil, err
			}
			out = append(out, m)
			raw = raw[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, raw)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		raw = raw[n:]
	}
	return out, nil
}
