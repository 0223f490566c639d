package metrics

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// benchSeries returns n label sets shaped like host metrics.
func benchSeries(n int) []labels.Labels {
	ls := make([]labels.Labels, n)
	for i := range ls {
		ls[i] = labels.FromStrings("__name__", "bench_total", "instance", "host-"+strconv.Itoa(i%50), "cpu", strconv.Itoa(i))
	}
	return ls
}

// BenchmarkAppend measures ingestion through the Appender the collector
// uses: one commit per scrape of 1,000 series, each reusing its reference.
func BenchmarkAppend(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	ls := benchSeries(1000)
	refs := make([]storage.SeriesRef, len(ls))
	ctx := context.Background()
	ts := t0.UnixMilli()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		app := s.Appender(ctx)
		ts += 15_000
		for i := range ls {
			if n == b.N {
				break
			}
			ref, err := app.Append(refs[i], ls[i], ts, float64(n))
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
			n++
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// benchStore6h returns a store holding 1,000 counters with a sample every
// 15 s for 6 h from t0.
func benchStore6h(b *testing.B) *Store {
	s := openStore(b, b.TempDir())
	b.Cleanup(func() { s.Close() })
	ls := benchSeries(1000)
	refs := make([]storage.SeriesRef, len(ls))
	ctx := context.Background()
	const points = 6 * 60 * 4
	for p := 0; p <= points; p++ {
		app := s.Appender(ctx)
		ts := t0.Add(time.Duration(p) * 15 * time.Second).UnixMilli()
		for i := range ls {
			ref, err := app.Append(refs[i], ls[i], ts, float64(p*i))
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

const benchExpr = `rate(bench_total[1m])`

func benchQuery(b *testing.B, src Source, start time.Time) {
	res, err := src.QueryRange(context.Background(), benchExpr, start, start.Add(6*time.Hour), 15*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if m, _ := res.Matrix(); len(m) != 1000 {
		b.Fatalf("%d series", len(m))
	}
}

// BenchmarkQueryRange6h measures a 6 h, 15 s-step range query over 1,000
// counters with a sample every 15 s, by the store without the cache.
func BenchmarkQueryRange6h(b *testing.B) {
	s := benchStore6h(b)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		benchQuery(b, s, t0)
	}
}

// BenchmarkQueryRangeSmall measures a panel of a few series: 1 h of
// rate over the 20 counters of one instance among BenchmarkQueryRange6h's
// 1,000, at a 15 s step (4,820 output points).
func BenchmarkQueryRangeSmall(b *testing.B) {
	s := benchStore6h(b)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		res, err := s.QueryRange(context.Background(), `rate(bench_total{instance="host-1"}[1m])`, t0.Add(2*time.Hour), t0.Add(3*time.Hour), 15*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if m, _ := res.Matrix(); len(m) != 20 {
			b.Fatalf("%d series", len(m))
		}
	}
}

// reportCPU reports, when the function it returns is called, the CPU time
// the process spent per operation since reportCPU was called (all
// threads, user and system): unlike wall time, it hardly depends on what
// else the machine runs, and it counts the work spread over the cores.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQueryRangeJSON measures writing the 6 h answer of
// BenchmarkQueryRange6h as the API answers it (47 MB of JSON).
func BenchmarkQueryRangeJSON(b *testing.B) {
	s := benchStore6h(b)
	res, err := s.QueryRange(context.Background(), benchExpr, t0, t0.Add(6*time.Hour), 15*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	w.Body = nil // discards what is written
	b.ReportAllocs()
	for b.Loop() {
		if err := writeOK(w, response{Status: "success", Data: resultData(benchExpr, res, 0).(withNotes).data}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueryRangeCached measures the first load of a 6 h panel that
// ends now through the cache ("cold": nothing cached), a reload of it
// whose range is all cached ("final"), and the reload of a panel ending
// now, last loaded a minute ago, during which the collector appended four
// scrapes of the 1,000 series ("moving"): the store's append log says only
// the steps from the first new sample on need evaluating, and the cached
// points are joined to them in place. "moving-late" is the same reload of
// a panel whose last step lay 15 s past the newest sample (a scrape in
// flight, a remote writer's delay): that step's sample arrives after the
// load, so the cached points end with a stale one and are copied.
func BenchmarkQueryRangeCached(b *testing.B) {
	s := benchStore6h(b)
	b.Run("cold", func(b *testing.B) {
		now := t0.Add(6 * time.Hour)
		b.ReportAllocs()
		for b.Loop() {
			benchQuery(b, NewCache(s, CacheOptions{Now: func() time.Time { return now }}), t0)
		}
	})
	b.Run("final", func(b *testing.B) {
		c := NewCache(s, CacheOptions{Now: func() time.Time { return t0.Add(7 * time.Hour) }})
		benchQuery(b, c, t0)
		b.ReportAllocs()
		for b.Loop() {
			benchQuery(b, c, t0)
		}
	})
	// Both append to s, past what cold and final read.
	newest := t0.Add(6 * time.Hour)
	b.Run("moving", func(b *testing.B) { benchReloads(b, s, &newest, 0) })
	b.Run("moving-late", func(b *testing.B) { benchReloads(b, s, &newest, 15*time.Second) })
}

// benchReloads reloads a 6 h panel ending ahead past the newest sample of
// s (at *newest, which it moves on), a minute after its last load, once per iteration; the minute's samples
// are appended and the clock moved before each. Every 30 reloads (within the
// cache's TTL) the panel is opened anew in a new cache, and its first load
// and first reload (which copies the engine's points into columns with
// room to append to) are left out of the timing.
func benchReloads(b *testing.B, s *Store, newest *time.Time, ahead time.Duration) {
	ls := benchSeries(1000)
	var now time.Time
	appendMinute := func() {
		app := s.Appender(context.Background())
		for p := 1; p <= 4; p++ {
			ts := newest.Add(time.Duration(p) * 15 * time.Second)
			for i, l := range ls {
				if _, err := app.Append(0, l, ts.UnixMilli(), float64(ts.Unix()-t0.Unix())*float64(i)); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		*newest = newest.Add(time.Minute)
		now = newest.Add(ahead)
	}
	var c *Cache
	var took []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if len(took)%30 == 0 {
			now = newest.Add(ahead)
			c = NewCache(s, CacheOptions{Now: func() time.Time { return now }})
			benchQuery(b, c, now.Add(-6*time.Hour))
			appendMinute()
			benchQuery(b, c, now.Add(-6*time.Hour))
		}
		appendMinute()
		b.StartTimer()
		at := time.Now()
		benchQuery(b, c, now.Add(-6*time.Hour))
		took = append(took, time.Since(at))
	}
	// On two cores shared with other work, a few reloads that wait for a
	// core dominate the mean; the median and the 90th percentile say what
	// a reload takes and how often it waits.
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns/op")
	b.ReportMetric(float64(took[len(took)*9/10].Nanoseconds()), "p90-ns/op")
}

// nodeHost returns the label sets of one host's node_exporter-like series:
// 100 of them, over 8 CPUs, 5 file systems and 4 network devices.
func nodeHost(host int) []labels.Labels {
	instance := fmt.Sprintf("10.%d.%d.%d:9100", host>>16&255, host>>8&255, host&255)
	l := func(kv ...string) labels.Labels {
		return labels.FromStrings(append(kv, "instance", instance, "job", "node")...)
	}
	var ls []labels.Labels
	for cpu := range 8 {
		for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
			ls = append(ls, l("__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(cpu), "mode", mode))
		}
	}
	for i, mount := range []string{"/", "/boot", "/var", "/home", "/srv"} {
		for _, name := range []string{"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_filesystem_files_free"} {
			ls = append(ls, l("__name__", name, "device", "/dev/sda"+strconv.Itoa(i+1), "fstype", "ext4", "mountpoint", mount))
		}
	}
	for _, dev := range []string{"eth0", "eth1", "lo", "docker0"} {
		for _, name := range []string{"node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_network_receive_packets_total", "node_network_transmit_packets_total"} {
			ls = append(ls, l("__name__", name, "device", dev))
		}
	}
	for _, name := range []string{"node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_load1", "node_load5", "node_boot_time_seconds"} {
		ls = append(ls, l("__name__", name))
	}
	return ls
}

// BenchmarkSeriesMemory measures the heap one active series costs in the
// store: 100,000 series of 1,000 node_exporter-like hosts, four samples 15 s
// apart each, the live heap compared after a GC before and after. The label
// sets are built inside the measured span and dropped, so the head's copy
// (or share) of them is counted once.
func BenchmarkSeriesMemory(b *testing.B) {
	const hosts, samples = 1000, 4
	perHost := len(nodeHost(0))
	refs := make([]storage.SeriesRef, hosts*perHost)
	ctx := context.Background()
	var total float64
	for b.Loop() {
		clear(refs)
		s := openStore(b, b.TempDir())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for p := range samples {
			ts := t0.Add(time.Duration(p) * 15 * time.Second).UnixMilli()
			for h := range hosts {
				// One commit per host, as one scrape.
				app := s.Appender(ctx)
				for i, l := range nodeHost(h) {
					ref, err := app.Append(refs[h*perHost+i], l, ts, float64(p*i))
					if err != nil {
						b.Fatal(err)
					}
					refs[h*perHost+i] = ref
				}
				if err := app.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(refs))
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(total/float64(b.N), "B/series")
}
