//go:build linux

package collect

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"

	"github.com/huddle-dev/huddle/internal/metrics"
)

// collectHost runs one collection of the host job, instance "box", into a
// store and returns it with a time at which the samples are current.
func collectHost(t *testing.T) (*metrics.Store, time.Time) {
	t.Helper()
	s := openStore(t)
	c, err := New(Options{Appendable: s, Logger: discard, Host: HostJob{Instance: "box"}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	c.jobs[0].collect(context.Background())
	return s, t0.Add(time.Second)
}

// TestHostJob collects this host into a real store and queries it the way
// node_exporter dashboards do.
func TestHostJob(t *testing.T) {
	s, at := collectHost(t)

	// The collectors of node_exporter that read what every Linux host has;
	// the others report 0 where the host lacks the hardware.
	for _, name := range []string{"cpu", "diskstats", "filefd", "filesystem", "loadavg", "meminfo", "netdev", "stat", "time", "uname", "vmstat"} {
		if v := only(t, s, `node_scrape_collector_success{collector="`+name+`"}`, at); v != 1 {
			t.Errorf("collector %s failed", name)
		}
	}
	if v := only(t, s, `up{job="node",instance="box"}`, at); v != 1 {
		t.Errorf("up = %v, want 1", v)
	}
	for _, expr := range []string{
		`node_cpu_seconds_total{job="node",instance="box",mode="idle",cpu="0"}`,
		`node_memory_MemTotal_bytes > 0`,
		`node_memory_MemAvailable_bytes <= on() node_memory_MemTotal_bytes`,
		`node_load1 >= 0`,
		`node_filesystem_size_bytes{mountpoint="/"} > 0`,
		`node_network_receive_bytes_total{device="lo"}`,
		`node_boot_time_seconds > 0`,
	} {
		if v := query(t, s, expr, at); len(v) == 0 {
			t.Errorf("%s: no series", expr)
		}
	}
	if v := query(t, s, `node_filesystem_size_bytes{fstype=~"proc|sysfs|devtmpfs|cgroup2?"}`, at); len(v) > 0 {
		t.Errorf("pseudo filesystems collected: %v", v)
	}
	// node_exporter's help text, as in its collector/fixtures/e2e-output.txt.
	if m := metadataOf(t, s, "node_cpu_seconds_total"); m != (metadata.Metadata{Type: "counter", Help: "Seconds the CPUs spent in each mode."}) {
		t.Errorf("metadata of node_cpu_seconds_total = %+v", m)
	}
}

// hostFamilies are node_exporter's families that dashboards such as Node
// Exporter Full query (processes, interrupts and tcpstat from collectors
// huddle turns on, process_* of the exporting process as node_exporter
// serves its own), with the type and label names node_exporter gives
// them (prometheus/node_exporter v1.12.1 collector/fixtures/e2e-output.txt;
// the filesystem families, which that fixture lacks, as Debian's
// prometheus-node-exporter 1.5 exposes them, with the device_error label
// added since). A label marked ? may be empty, and an empty label is no
// label once stored. file is what the kernel must have for the family to
// exist. Untyped families are stored as unknown, as Prometheus records
// them.
var hostFamilies = []struct {
	name, typ string
	labels    []string
	file      string
}{
	{"node_uname_info", "gauge", []string{"domainname", "machine", "nodename", "release", "sysname", "version"}, ""},
	{"node_os_info", "gauge", []string{"build_id?", "id", "id_like?", "image_id?", "image_version?", "name", "pretty_name", "variant?", "variant_id?", "version?", "version_codename?", "version_id?"}, "/etc/os-release"},
	{"node_time_seconds", "gauge", nil, ""},
	{"node_boot_time_seconds", "gauge", nil, "/proc/stat"},
	{"node_cpu_seconds_total", "counter", []string{"cpu", "mode"}, "/proc/stat"},
	{"node_cpu_guest_seconds_total", "counter", []string{"cpu", "mode"}, "/proc/stat"},
	{"node_context_switches_total", "counter", nil, "/proc/stat"},
	{"node_intr_total", "counter", nil, "/proc/stat"},
	{"node_forks_total", "counter", nil, "/proc/stat"},
	{"node_procs_running", "gauge", nil, "/proc/stat"},
	{"node_procs_blocked", "gauge", nil, "/proc/stat"},
	{"node_load1", "gauge", nil, "/proc/loadavg"},
	{"node_load5", "gauge", nil, "/proc/loadavg"},
	{"node_load15", "gauge", nil, "/proc/loadavg"},
	{"node_memory_MemTotal_bytes", "gauge", nil, "/proc/meminfo"},
	{"node_memory_MemAvailable_bytes", "gauge", nil, "/proc/meminfo"},
	{"node_memory_Active_anon_bytes", "gauge", nil, "/proc/meminfo"},
	{"node_memory_HugePages_Total", "gauge", nil, "/proc/meminfo"},
	{"node_memory_KReclaimable_bytes", "gauge", nil, "/proc/meminfo"},
	{"node_vmstat_pgfault", "unknown", nil, "/proc/vmstat"},
	{"node_vmstat_pgmajfault", "unknown", nil, "/proc/vmstat"},
	{"node_vmstat_pswpin", "unknown", nil, "/proc/vmstat"},
	{"node_vmstat_oom_kill", "unknown", nil, "/proc/vmstat"},
	{"node_filefd_allocated", "gauge", nil, "/proc/sys/fs/file-nr"},
	{"node_filefd_maximum", "gauge", nil, "/proc/sys/fs/file-nr"},
	{"node_filesystem_size_bytes", "gauge", []string{"device", "device_error?", "fstype", "mountpoint"}, "/proc/self/mountinfo"},
	{"node_filesystem_avail_bytes", "gauge", []string{"device", "device_error?", "fstype", "mountpoint"}, "/proc/self/mountinfo"},
	{"node_filesystem_files", "gauge", []string{"device", "device_error?", "fstype", "mountpoint"}, "/proc/self/mountinfo"},
	{"node_filesystem_files_free", "gauge", []string{"device", "device_error?", "fstype", "mountpoint"}, "/proc/self/mountinfo"},
	{"node_filesystem_readonly", "gauge", []string{"device", "device_error?", "fstype", "mountpoint"}, "/proc/self/mountinfo"},
	{"node_filesystem_device_error", "gauge", []string{"device", "device_error?", "fstype", "mountpoint"}, "/proc/self/mountinfo"},
	{"node_disk_reads_completed_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_reads_merged_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_read_bytes_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_read_time_seconds_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_writes_completed_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_writes_merged_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_written_bytes_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_write_time_seconds_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_io_now", "gauge", []string{"device"}, "/proc/diskstats"},
	{"node_disk_io_time_seconds_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_io_time_weighted_seconds_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_discards_completed_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_flush_requests_total", "counter", []string{"device"}, "/proc/diskstats"},
	{"node_disk_info", "gauge", []string{"device", "major", "minor", "model?", "path?", "revision?", "rotational?", "serial?", "wwn?"}, "/proc/diskstats"},
	{"node_network_receive_bytes_total", "counter", []string{"device"}, "/proc/net/dev"},
	{"node_network_transmit_bytes_total", "counter", []string{"device"}, "/proc/net/dev"},
	{"node_network_receive_drop_total", "counter", []string{"device"}, "/proc/net/dev"},
	{"node_network_transmit_drop_total", "counter", []string{"device"}, "/proc/net/dev"},
	{"node_network_receive_errs_total", "counter", []string{"device"}, "/proc/net/dev"},
	{"node_network_transmit_errs_total", "counter", []string{"device"}, "/proc/net/dev"},
	{"node_network_up", "gauge", []string{"device"}, "/sys/class/net"},
	{"node_network_mtu_bytes", "gauge", []string{"device"}, "/sys/class/net"},
	{"node_network_carrier", "gauge", []string{"device"}, "/sys/class/net"},
	{"node_network_speed_bytes", "gauge", []string{"device"}, "/sys/class/net"},
	{"node_network_info", "gauge", []string{"address?", "adminstate", "broadcast?", "device", "duplex?", "ifalias?", "operstate"}, "/sys/class/net"},
	{"node_netstat_Tcp_CurrEstab", "unknown", nil, "/proc/net/snmp"},
	{"node_netstat_Tcp_ActiveOpens", "unknown", nil, "/proc/net/snmp"},
	{"node_netstat_Udp_InDatagrams", "unknown", nil, "/proc/net/snmp"},
	{"node_netstat_TcpExt_ListenDrops", "unknown", nil, "/proc/net/netstat"},
	{"node_netstat_IpExt_InOctets", "unknown", nil, "/proc/net/netstat"},
	{"node_sockstat_sockets_used", "gauge", nil, "/proc/net/sockstat"},
	{"node_sockstat_TCP_inuse", "gauge", nil, "/proc/net/sockstat"},
	{"node_sockstat_TCP_mem_bytes", "gauge", nil, "/proc/net/sockstat"},
	{"node_sockstat_UDP_inuse", "gauge", nil, "/proc/net/sockstat"},
	{"node_pressure_cpu_waiting_seconds_total", "counter", nil, "/proc/pressure/cpu"},
	{"node_pressure_memory_waiting_seconds_total", "counter", nil, "/proc/pressure/memory"},
	{"node_pressure_memory_stalled_seconds_total", "counter", nil, "/proc/pressure/memory"},
	{"node_pressure_io_waiting_seconds_total", "counter", nil, "/proc/pressure/io"},
	{"node_pressure_io_stalled_seconds_total", "counter", nil, "/proc/pressure/io"},
	{"node_timex_offset_seconds", "gauge", nil, ""},
	{"node_timex_sync_status", "gauge", nil, ""},
	{"node_timex_maxerror_seconds", "gauge", nil, ""},
	{"node_timex_estimated_error_seconds", "gauge", nil, ""},
	{"node_entropy_available_bits", "gauge", nil, "/proc/sys/kernel/random/entropy_avail"},
	{"node_entropy_pool_size_bits", "gauge", nil, "/proc/sys/kernel/random/poolsize"},
	{"node_schedstat_running_seconds_total", "counter", []string{"cpu"}, "/proc/schedstat"},
	{"node_schedstat_waiting_seconds_total", "counter", []string{"cpu"}, "/proc/schedstat"},
	{"node_schedstat_timeslices_total", "counter", []string{"cpu"}, "/proc/schedstat"},
	{"node_processes_state", "gauge", []string{"state"}, "/proc"},
	{"node_processes_pids", "gauge", nil, "/proc"},
	{"node_processes_threads", "gauge", nil, "/proc"},
	{"node_processes_max_processes", "gauge", nil, "/proc/sys/kernel/pid_max"},
	{"node_processes_max_threads", "gauge", nil, "/proc/sys/kernel/threads-max"},
	{"node_interrupts_total", "counter", []string{"cpu", "devices?", "info?", "type"}, "/proc/interrupts"},
	{"node_tcp_connection_states", "gauge", []string{"state"}, ""},
	{"process_cpu_seconds_total", "counter", nil, ""},
	{"process_open_fds", "gauge", nil, ""},
	{"process_max_fds", "gauge", nil, ""},
	{"process_virtual_memory_bytes", "gauge", nil, ""},
	{"node_scrape_collector_success", "gauge", []string{"collector"}, ""},
	{"node_scrape_collector_duration_seconds", "gauge", []string{"collector"}, ""},
}

// TestHostFamilies checks that this host's collection has node_exporter's
// families with node_exporter's types and label names: every series has
// the family's labels but those marked ?, and no others.
func TestHostFamilies(t *testing.T) {
	s, at := collectHost(t)
	for _, f := range hostFamilies {
		t.Run(f.name, func(t *testing.T) {
			v := query(t, s, `{__name__="`+f.name+`",job="node",instance="box"}`, at)
			if len(v) == 0 {
				if _, err := os.Stat(f.file); f.file != "" && os.IsNotExist(err) {
					// node_exporter has no such family here either.
					t.Logf("this kernel has no %s, which %s comes from", f.file, f.name)
					return
				}
				t.Fatalf("no series")
			}
			for _, sample := range v {
				var names []string
				sample.Metric.Range(func(l labels.Label) {
					if l.Name != model.MetricNameLabel && l.Name != model.JobLabel && l.Name != model.InstanceLabel {
						names = append(names, l.Name)
					}
				})
				for _, want := range f.labels {
					if !strings.HasSuffix(want, "?") && !slices.Contains(names, want) {
						t.Errorf("%s: no label %s", sample.Metric, want)
					}
				}
				for _, got := range names {
					if !slices.Contains(f.labels, got) && !slices.Contains(f.labels, got+"?") {
						t.Errorf("%s: label %s is not node_exporter's", sample.Metric, got)
					}
				}
			}
			if m := metadataOf(t, s, f.name); string(m.Type) != f.typ {
				t.Errorf("type %s, want %s", m.Type, f.typ)
			}
		})
	}
}

func TestMeminfoFamilies(t *testing.T) {
	// Lines as in proc(5) /proc/meminfo.
	data := []byte("MemTotal:       16384 kB\nActive(anon):    1024 kB\nKReclaimable:      4 kB\nHugePages_Total:       2\n")
	families, err := meminfoFamilies(data, map[string]bool{"node_memory_MemTotal_bytes": true})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64)
	for _, mf := range families {
		if mf.GetType().String() != "GAUGE" || len(mf.GetMetric()) != 1 {
			t.Errorf("%s: %v", mf.GetName(), mf)
		}
		got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	want := map[string]float64{"node_memory_Active_anon_bytes": 1024 << 10, "node_memory_KReclaimable_bytes": 4 << 10, "node_memory_HugePages_Total": 2}
	if !maps.Equal(got, want) {
		t.Errorf("families %v, want %v", got, want)
	}
	for _, bad := range []string{"MemTotal 16384 kB\n", "MemTotal: lots kB\n", "MemTotal: 1 MB\n"} {
		if _, err := meminfoFamilies([]byte(bad), nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestMeminfoComplete checks that every field of this host's /proc/meminfo
// has its node_memory_* family, from node_exporter or added.
func TestMeminfoComplete(t *testing.T) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skipf("this kernel has no /proc/meminfo: %v", err)
	}
	fields := strings.Count(strings.TrimSpace(string(data)), "\n") + 1
	s, at := collectHost(t)
	if v := query(t, s, `count({__name__=~"node_memory_.+"})`, at); len(v) != 1 || int(v[0].F) != fields {
		t.Errorf("node_memory_* families: %v, want %d (the fields of /proc/meminfo)", v, fields)
	}
}

// TestErrorLog checks that node_exporter's error records become warnings
// only when they are logged during a collection and the previous one did
// not log them, and that the rest goes to debug.
func TestErrorLog(t *testing.T) {
	var out bytes.Buffer
	e := newErrorLog(textLogger(&out).Handler())
	logger := slog.New(e).With("collector", "hwmon")
	logger.Error("Failed to open directory, disabling udev device properties")
	if out.Len() > 0 {
		t.Errorf("an error outside a collection is logged: %q", out.String())
	}
	collection := func(fail bool) string {
		out.Reset()
		e.errors.startCollection()
		logger.Info("Parsed flag")
		if fail {
			logger.Error("collector failed", "name", "hwmon", "duration_seconds", rand.Float64(), "err", "permission denied")
		}
		e.errors.endCollection()
		return out.String()
	}
	for i, c := range []struct {
		fail bool
		want int // warnings logged
	}{{true, 1}, {true, 0}, {false, 0}, {true, 1}} {
		got := collection(c.fail)
		if n := strings.Count(got, "level=WARN msg=\"collector failed\""); n != c.want || strings.Contains(got, "Parsed flag") {
			t.Errorf("collection %d logged %q, want %d warnings", i, got, c.want)
		}
	}
}
