package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang/snappy"
	"github.com/huddle-dev/huddle/internal/httpapi"
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

// remoteWrite bounds the request body, keeps the metadata of a remote-write 1.0 request in the
// store, then hands the request to Prometheus's receiver, which stores its samples. Senders
// (Prometheus's metadata watcher, Grafana Alloy) send metadata in requests of their own, so a
// request with metadata has few samples, and decompressing it twice costs little. A body that
// cannot be decoded is left for the receiver to refuse with its reason.
func (a *API) remoteWrite(w http.ResponseWriter, r *http.Request) error {
	body, err := readWriteBody(w, r)
	if err != nil {
		return err
	}
	msg, err := remoteapi.ParseProtoMsg(r.Header.Get("Content-Type"))
	if err == nil && msg == remoteapi.WriteV1MessageType && isSnappy(r) {
		if ms, err := writtenMetadata(body); err == nil {
			for _, m := range ms {
				if m.MetricFamilyName != "" {
					// The inverse of prompb.FromMetadataType.
					a.opts.Appendable.SetMetadata(m.MetricFamilyName, metadata.Metadata{
						Type: model.MetricType(strings.ToLower(m.Type.String())), Help: m.Help, Unit: m.Unit})
				}
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	a.write.ServeHTTP(w, r)
	return nil
}

// isSnappy says whether r's body is snappy-compressed, the receiver's only encoding and its
// default.
func isSnappy(r *http.Request) bool {
	enc := r.Header.Get("Content-Encoding")
	return enc == "" || enc == string(remoteapi.SnappyBlockCompression)
}

// readWriteBody reads a remote-write body of at most maxWriteBytes, refusing a larger one with
// 413 before reading it when its Content-Length says so, and a snappy body whose header
// announces more than maxWriteBytes decompressed with 413 before decompressing it: every byte
// the receiver holds is bounded, compressed or not.
func readWriteBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxWriteBytes {
		return nil, &http.MaxBytesError{Limit: maxWriteBytes}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWriteBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, &httpapi.ProtocolError{Status: http.StatusBadRequest,
			Body: map[string]string{"error": "the request body could not be read"},
			Err:  fmt.Errorf("read the remote-write body: %w", err)}
	}
	if isSnappy(r) {
		if n, err := snappy.DecodedLen(body); err == nil && n > maxWriteBytes {
			return nil, &httpapi.ProtocolError{Status: http.StatusRequestEntityTooLarge,
				Body: map[string]string{"error": fmt.Sprintf("request body decompresses to %d bytes, more than the limit of %d", n, maxWriteBytes)},
				Err:  fmt.Errorf("remote-write body decompresses to %d bytes", n)}
		}
	}
	return body, nil
}

// writeRequestMetadata is the field number of prompb.WriteRequest's metadata.
const writeRequestMetadata = 3

// writtenMetadata decodes the metadata of a snappy-compressed prompb.WriteRequest, stepping
// over its time series without decoding them. body comes from readWriteBody, which bounded its
// decompressed length.
func writtenMetadata(body []byte) ([]prompb.MetricMetadata, error) {
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
