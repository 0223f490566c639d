// Package metrics stores and queries huddle's time series.
//
// It provides an embedded Prometheus TSDB ([Store]) that the collector and
// remote-write clients append to, a [Source] interface that the live
// dashboard updates and the HTTP API query through (implemented by the Store
// and by [Remote], an external Prometheus-compatible server), an HTTP API
// compatible with Prometheus's /api/v1 ([API]: queries, listings, metadata,
// status) and a remote-write 1.0 receiver that keeps samples and metadata.
//
// Guarantees: Commit writes an appender's samples to the write-ahead log
// before it returns (written, not fsynced, as Prometheus does), so a crash of
// the process loses only uncommitted samples, and a crash of the machine
// what the kernel had not yet written back. [Store.Close] closes the head cleanly and [Open]
// replays the WAL, so a clean shutdown loses nothing. Every query runs under
// a timeout, a sample limit and a concurrency limit ([StoreOptions]) so that
// one huge query cannot starve the server. [Cache] keeps range query results
// in extents, in memory bounded in bytes, and answers every range query
// exactly as its Source answers it; in front of the Store it learns from
// the Store's append log ([AppendLog]) which cached steps samples committed
// since could have changed, and evaluates only those and the uncached ones.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
)

// Source is what the live dashboard updates and the HTTP API query through. The
// embedded [Store] implements it, and so does [Remote] with a
// Prometheus-compatible server's HTTP API, which is why every method takes the same
// arguments as the matching /api/v1 endpoint and nothing TSDB-specific.
//
// Errors are [*Error] values when their kind matters to a caller (bad input,
// timeout, cancellation, an unreachable remote); anything else is an
// execution error.
type Source interface {
	// Query evaluates expr at ts.
	Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error)
	// QueryRange evaluates expr at every step from start to end inclusive.
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (*promql.Result, error)
	// Series lists the label sets of the series that match any of the
	// selectors and have samples between start and end.
	Series(ctx context.Context, selectors []string, start, end time.Time) ([]labels.Labels, error)
	// LabelNames lists label names, of the series matching any selector when
	// selectors is not empty.
	LabelNames(ctx context.Context, selectors []string, start, end time.Time) ([]string, error)
	// LabelValues lists the values of label name, of the series matching
	// any selector when selectors is not empty.
	LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) ([]string, error)
	// Metadata returns the type, help and unit known for each metric name
	// (only metric when it is not empty), at most limit names when limit > 0.
	Metadata(ctx context.Context, metric string, limit int) (map[string][]metadata.Metadata, error)
}

// ErrorKind classifies a query error the way Prometheus's HTTP API does, so
// one function can map it to a status code and errorType.
type ErrorKind string

// The kinds of [Error], named as Prometheus's errorType values.
const (
	KindBadData   ErrorKind = "bad_data"
	KindExecution ErrorKind = "execution"
	KindTimeout   ErrorKind = "timeout"
	KindCanceled  ErrorKind = "canceled"
	KindInternal  ErrorKind = "internal"
	// KindUnavailable is a source that cannot answer at all: a remote
	// server that is unreachable, refuses us or answers with something
	// other than its API's JSON.
	KindUnavailable ErrorKind = "unavailable"
	// KindNotFound is an endpoint that does not exist, or has nothing to
	// answer with this source.
	KindNotFound ErrorKind = "not_found"
)

// Error is a query error with its kind.
type Error struct {
	Kind ErrorKind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// kindOf returns the kind of err: that of an [*Error] in its chain, or the
// one the promql engine's error types imply, or execution.
func kindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var (
		timeout  promql.ErrQueryTimeout
		canceled promql.ErrQueryCanceled
		stor     promql.ErrStorage
	)
	switch {
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.As(err, &stor):
		return KindInternal
	}
	return KindExecution
}
