//go:build linux

package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/node_exporter/collector"
)

// nodeExporterArgs are the command-line flags node_exporter's collectors
// run with: its defaults, with three more collectors and overlay
// filesystems measured.
//
// The processes, interrupts and tcpstat collectors, off by default in
// node_exporter, are on because the common node dashboards chart them
// (Node Exporter Full's System Processes, Interrupts Detail and TCP
// connection-state panels) and they cost one read of /proc or one netlink
// dump per collection. In a container overlay is the root filesystem, the
// one whose fullness matters; the list is node_exporter's default
// (defFSTypesExcluded in prometheus/node_exporter
// collector/filesystem_linux.go) without overlay.
var nodeExporterArgs = []string{
	"--collector.processes",
	"--collector.interrupts",
	"--collector.tcpstat",
	"--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$",
}

// parseNodeExporterFlags parses nodeExporterArgs once per process:
// node_exporter's collectors read their settings from kingpin's global
// command line, which they register at init and which must be parsed
// before a collector is built.
var parseNodeExporterFlags = sync.OnceValue(func() error {
	_, err := kingpin.CommandLine.Parse(nodeExporterArgs)
	return err
})

// newHostSource collects this host with node_exporter's collectors, the
// ones it enables by default on Linux, so the series have node_exporter's
// names, labels, types and help. As in node_exporter, a collector that
// fails or finds nothing to report (hardware the host lacks, a file the
// kernel lacks, a permission) has node_scrape_collector_success{collector}
// = 0 and its series go stale, while the others and up stay valid.
//
// node_exporter keeps one instance of each collector per process (some
// hold state, such as the last CPU counters, to correct the kernel's), so
// the host jobs of several Collectors in one process share them, and what
// a collector logs from within goes to the first job's logger.
func newHostSource(logger *slog.Logger) (source, error) {
	if err := parseNodeExporterFlags(); err != nil {
		return nil, fmt.Errorf("configure node_exporter's collectors: %w", err)
	}
	errs := newErrorLog(logger.Handler())
	nc, err := collector.NewNodeCollector(slog.New(errs))
	if err != nil {
		return nil, fmt.Errorf("start node_exporter's collectors: %w", err)
	}
	reg := prometheus.NewRegistry()
	// node_exporter's own /metrics also has its process's process_* series,
	// which dashboards chart under the node job ("Node Exporter" rows): here
	// the exporting process is huddle.
	if err := reg.Register(nc); err != nil {
		return nil, fmt.Errorf("register node_exporter's collectors: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register the process collector: %w", err)
	}
	return newGatherSource(&hostGatherer{reg: reg, logger: logger, errs: errs.errors}), nil
}

// hostGatherer gathers node_exporter's collectors.
type hostGatherer struct {
	reg    *prometheus.Registry
	logger *slog.Logger
	errs   *errorsSeen
	// gatherErr is the last collection's error, logged when it changes.
	gatherErr string
}

// Gather returns what the collectors gave even when some of it is
// inconsistent, as node_exporter serves its /metrics (ContinueOnError),
// rather than failing the whole host; it adds the /proc/meminfo fields
// node_exporter leaves out (see meminfoPath).
func (h *hostGatherer) Gather() ([]*dto.MetricFamily, error) {
	h.errs.startCollection()
	families, err := h.reg.Gather()
	h.errs.endCollection()
	have := make(map[string]bool, len(families))
	for _, mf := range families {
		have[mf.GetName()] = true
	}
	rest, merr := readMeminfo(have)
	if merr != nil {
		err = errors.Join(err, fmt.Errorf("read the rest of %s: %w", meminfoPath, merr))
	}
	if msg := errorText(err); msg != h.gatherErr {
		if err != nil {
			h.logger.Warn("host metrics incomplete; the rest are recorded", "err", err)
		}
		h.gatherErr = msg
	}
	return append(families, rest...), nil
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// errorLog is the handler of node_exporter's logger. node_exporter logs a
// failing collector's error at every collection, a collector that finds
// nothing to report (no such hardware) at debug level, and at start what
// its collectors do without (as udev's device data in a container) as
// errors. errorLog passes an error logged during a collection on as a
// warning when the previous collection did not log the same one, so that a
// failure is logged when it starts, not every interval; everything else
// goes to debug level.
type errorLog struct {
	next slog.Handler
	// with identifies the attributes and groups of a derived logger (each
	// node_exporter collector has one) in the errors' keys.
	with   string
	errors *errorsSeen
}

// errorsSeen are the errors logged during the current and the previous
// collection, shared by every logger derived from the one node_exporter is
// given.
type errorsSeen struct {
	// mu guards the fields: the collectors run concurrently.
	mu            sync.Mutex
	collecting    bool
	current, last map[string]bool
}

func newErrorLog(next slog.Handler) *errorLog {
	return &errorLog{next: next, errors: &errorsSeen{current: make(map[string]bool), last: make(map[string]bool)}}
}

func (e *errorLog) Enabled(ctx context.Context, level slog.Level) bool {
	return e.next.Enabled(ctx, slog.LevelDebug) || level >= slog.LevelError && e.next.Enabled(ctx, slog.LevelWarn)
}

func (e *errorLog) Handle(ctx context.Context, r slog.Record) error {
	level := slog.LevelDebug
	if r.Level >= slog.LevelError && e.errors.isNew(e.key(r)) {
		level = slog.LevelWarn
	}
	if !e.next.Enabled(ctx, level) {
		return nil
	}
	r.Level = level
	return e.next.Handle(ctx, r)
}

func (e *errorLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	with := e.with
	for _, a := range attrs {
		with += " " + a.String()
	}
	return &errorLog{next: e.next.WithAttrs(attrs), with: with, errors: e.errors}
}

func (e *errorLog) WithGroup(name string) slog.Handler {
	return &errorLog{next: e.next.WithGroup(name), with: e.with + " " + name + ":", errors: e.errors}
}

// key identifies an error record by its logger, message and attributes,
// but for node_exporter's duration_seconds, which differs at every
// collection.
func (e *errorLog) key(r slog.Record) string {
	var b strings.Builder
	b.WriteString(e.with + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "duration_seconds" {
			b.WriteString(" " + a.String())
		}
		return true
	})
	return b.String()
}

// isNew reports whether key is an error of a collection that the previous
// collection did not log.
func (s *errorsSeen) isNew(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.collecting {
		return false
	}
	s.current[key] = true
	return !s.last[key]
}

func (s *errorsSeen) startCollection() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collecting = true
}

// endCollection makes the current collection's errors the previous one's.
func (s *errorsSeen) endCollection() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collecting = false
	s.last, s.current = s.current, make(map[string]bool)
}
