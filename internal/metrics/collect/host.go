package collect

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// hostSource collects this host's resources under node_exporter's names.
// Its parts run as node_exporter's collectors do: one that fails (a file
// the platform lacks, a permission) is reported by
// node_scrape_collector_success{collector} = 0 and its series go stale,
// while the others and up stay valid.
type hostSource struct {
	logger *slog.Logger
	// failing holds the collectors whose last run failed, so that a failure
	// is logged when it starts, not every interval.
	failing map[string]bool
}

// hostCollectors are named as node_exporter's collectors that expose the
// same series.
var hostCollectors = []struct {
	name    string
	collect func(context.Context, *hostWriter) error
}{
	{"cpu", collectCPU},
	{"loadavg", collectLoad},
	{"meminfo", collectMemory},
	{"filesystem", collectFilesystems},
	{"diskstats", collectDisks},
	{"netdev", collectNetwork},
	{"stat", collectBootTime},
}

func (h *hostSource) collect(ctx context.Context, b *batch) error {
	w := &hostWriter{b: b}
	for _, c := range hostCollectors {
		err := c.collect(ctx, w)
		if w.err != nil {
			return w.err
		}
		success := 1.0
		if err != nil {
			success = 0
			if !h.failing[c.name] {
				h.logger.Warn("host collector failed; its series are missing until it succeeds", "collector", c.name, "err", err)
			}
		} else if h.failing[c.name] {
			h.logger.Info("host collector works again", "collector", c.name)
		}
		h.failing[c.name] = err != nil
		w.add(model.MetricTypeGauge, "node_scrape_collector_success", "node_exporter: Whether a collector succeeded.", success, "collector", c.name)
	}
	return w.err
}

// hostWriter adds host samples to a batch and keeps the first storage
// error, so that the collectors need not check every add.
type hostWriter struct {
	b   *batch
	key []byte
	err error
}

// add appends v to the series name{labelPairs…}.
func (w *hostWriter) add(typ model.MetricType, name, help string, v float64, labelPairs ...string) {
	if w.err != nil {
		return
	}
	w.key = append(w.key[:0], name...)
	for i := 0; i+1 < len(labelPairs); i += 2 {
		w.key = fmt.Appendf(w.key, "\xff%s\xff%s", labelPairs[i], labelPairs[i+1])
	}
	exposed := func() labels.Labels {
		return labels.FromStrings(append([]string{model.MetricNameLabel, name}, labelPairs...)...)
	}
	w.err = w.b.addFloat(w.key, exposed, nil, v, metadata.Metadata{Type: typ, Help: help})
}

// cpuModes are node_exporter's modes; guest time is part of user time and
// has a metric of its own there, which we do not collect.
var cpuModes = []struct {
	mode string
	get  func(cpu.TimesStat) float64
}{
	{"user", func(t cpu.TimesStat) float64 { return t.User }},
	{"nice", func(t cpu.TimesStat) float64 { return t.Nice }},
	{"system", func(t cpu.TimesStat) float64 { return t.System }},
	{"idle", func(t cpu.TimesStat) float64 { return t.Idle }},
	{"iowait", func(t cpu.TimesStat) float64 { return t.Iowait }},
	{"irq", func(t cpu.TimesStat) float64 { return t.Irq }},
	{"softirq", func(t cpu.TimesStat) float64 { return t.Softirq }},
	{"steal", func(t cpu.TimesStat) float64 { return t.Steal }},
}

func collectCPU(ctx context.Context, w *hostWriter) error {
	times, err := cpu.TimesWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("read CPU times: %w", err)
	}
	if len(times) == 0 {
		return fmt.Errorf("read CPU times: no CPU listed")
	}
	for _, t := range times {
		// gopsutil names them cpu0, cpu1…; node_exporter 0, 1…
		id := strings.TrimPrefix(t.CPU, "cpu")
		for _, m := range cpuModes {
			w.add(model.MetricTypeCounter, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", m.get(t), "cpu", id, "mode", m.mode)
		}
	}
	return nil
}

func collectLoad(ctx context.Context, w *hostWriter) error {
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read load average: %w", err)
	}
	w.add(model.MetricTypeGauge, "node_load1", "1m load average.", avg.Load1)
	w.add(model.MetricTypeGauge, "node_load5", "5m load average.", avg.Load5)
	w.add(model.MetricTypeGauge, "node_load15", "15m load average.", avg.Load15)
	return nil
}

func collectMemory(ctx context.Context, w *hostWriter) error {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read memory: %w", err)
	}
	gauge := func(field string, v uint64) {
		name := "node_memory_" + field + "_bytes"
		w.add(model.MetricTypeGauge, name, "Memory information field "+field+"_bytes.", float64(v))
	}
	gauge("MemTotal", vm.Total)
	gauge("MemAvailable", vm.Available)
	gauge("MemFree", vm.Free)
	// gopsutil adds SReclaimable to Cached, as free(1) does; node_exporter
	// reports /proc/meminfo's Cached alone.
	gauge("Cached", vm.Cached-min(vm.Sreclaimable, vm.Cached))
	gauge("Buffers", vm.Buffers)
	gauge("SwapTotal", vm.SwapTotal)
	gauge("SwapFree", vm.SwapFree)
	return nil
}

// Filesystems and mount points skipped as node_exporter skips them by
// default, except overlay: in a container it is the root filesystem, the
// one whose fullness matters.
var (
	pseudoFilesystems = regexp.MustCompile(`^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$`)
	pseudoMountPoints = regexp.MustCompile(`^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`)
)

func collectFilesystems(ctx context.Context, w *hostWriter) error {
	parts, err := disk.PartitionsWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("list mounts: %w", err)
	}
	for _, p := range parts {
		if pseudoFilesystems.MatchString(p.Fstype) || pseudoMountPoints.MatchString(p.Mountpoint) {
			continue
		}
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		if err != nil {
			// node_exporter too skips a mount it cannot stat (permission,
			// vanished) rather than failing the whole collector.
			continue
		}
		ls := []string{"device", p.Device, "fstype", p.Fstype, "mountpoint", p.Mountpoint}
		w.add(model.MetricTypeGauge, "node_filesystem_size_bytes", "Filesystem size in bytes.", float64(u.Total), ls...)
		w.add(model.MetricTypeGauge, "node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", float64(u.Free), ls...)
		w.add(model.MetricTypeGauge, "node_filesystem_free_bytes", "Filesystem free space in bytes.", float64(u.Total-u.Used), ls...)
	}
	return nil
}

// ignoredDisks are node_exporter's default: partitions, RAM and loop
// devices, whose I/O is counted on their disk or not at all.
var ignoredDisks = regexp.MustCompile(`^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`)

func collectDisks(ctx context.Context, w *hostWriter) error {
	counters, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read disk counters: %w", err)
	}
	for name, d := range counters {
		if ignoredDisks.MatchString(name) {
			continue
		}
		counter := func(metric, help string, v float64) {
			w.add(model.MetricTypeCounter, metric, help, v, "device", name)
		}
		counter("node_disk_read_bytes_total", "The total number of bytes read successfully.", float64(d.ReadBytes))
		counter("node_disk_written_bytes_total", "The total number of bytes written successfully.", float64(d.WriteBytes))
		counter("node_disk_reads_completed_total", "The total number of reads completed successfully.", float64(d.ReadCount))
		counter("node_disk_writes_completed_total", "The total number of writes completed successfully.", float64(d.WriteCount))
		counter("node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", float64(d.IoTime)/1000)
	}
	return nil
}

func collectNetwork(ctx context.Context, w *hostWriter) error {
	counters, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		return fmt.Errorf("read network counters: %w", err)
	}
	for _, n := range counters {
		counter := func(stat string, v uint64) {
			w.add(model.MetricTypeCounter, "node_network_"+stat+"_total", "Network device statistic "+stat+".", float64(v), "device", n.Name)
		}
		counter("receive_bytes", n.BytesRecv)
		counter("transmit_bytes", n.BytesSent)
		counter("receive_packets", n.PacketsRecv)
		counter("transmit_packets", n.PacketsSent)
		counter("receive_errs", n.Errin)
		counter("transmit_errs", n.Errout)
	}
	return nil
}

func collectBootTime(ctx context.Context, w *hostWriter) error {
	boot, err := host.BootTimeWithContext(ctx)
	if err != nil {
		return fmt.Errorf("read boot time: %w", err)
	}
	w.add(model.MetricTypeGauge, "node_boot_time_seconds", "Node boot time, in unixtime.", float64(boot))
	return nil
}
