package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	values := []int64{0, 1, 255, 256, 511, 512, 513, 1023, 1024, 1 << 20, 1<<20 + 1, 123_456_789, 1<<40 - 1}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		values = append(values, rng.Int64N(1<<40))
	}
	for _, v := range values {
		i := bucketOf(v)
		high := bucketHigh(i)
		if high < v {
			t.Fatalf("value %d: bucket %d ends at %d, below the value", v, i, high)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Fatalf("value %d: previous bucket %d already ends at %d", v, i-1, bucketHigh(i-1))
		}
		if v > 0 && float64(high-v)/float64(v) > 1.0/histSub {
			t.Fatalf("value %d: bucket bound %d is more than 1/%d above it", v, high, histSub)
		}
	}
	if got := bucketOf(1 << 50); got != histBuckets-1 {
		t.Errorf("a value past the range lands in bucket %d, want the last, %d", got, histBuckets-1)
	}
}

func TestPercentiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		want   map[float64]time.Duration
	}{
		{
			name:   "empty",
			values: nil,
			want:   map[float64]time.Duration{50: 0, 99: 0},
		},
		{
			name:   "one value",
			values: []time.Duration{3 * time.Millisecond},
			want:   map[float64]time.Duration{50: 3 * time.Millisecond, 99.9: 3 * time.Millisecond},
		},
		{
			name:   "1 to 1000 µs",
			values: series(1000, time.Microsecond),
			want:   map[float64]time.Duration{50: 500 * time.Microsecond, 99: 990 * time.Microsecond, 99.9: 999 * time.Microsecond, 100: 1000 * time.Microsecond},
		},
		{
			name: "tail of one in a thousand",
			values: append(repeat(999, time.Millisecond),
				repeat(1, time.Second)...),
			want: map[float64]time.Duration{50: time.Millisecond, 99: time.Millisecond, 99.9: time.Millisecond, 99.95: time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			for p, want := range tt.want {
				got := h.Percentile(p)
				// A percentile is its bucket's upper bound: at most 1/histSub above the value.
				if got < want || float64(got-want) > float64(want)/histSub {
					t.Errorf("p%g = %v, want %v (within %.1f%%)", p, got, want, 100.0/histSub)
				}
			}
		})
	}
}

func TestHistogramStats(t *testing.T) {
	var h Histogram
	h.Record(-time.Second) // a clock step counts as zero
	h.Record(2 * time.Millisecond)
	h.Record(4 * time.Millisecond)
	if h.Count() != 3 || h.Max() != 4*time.Millisecond || h.Mean() != 2*time.Millisecond {
		t.Errorf("count %d max %v mean %v, want 3, 4ms, 2ms", h.Count(), h.Max(), h.Mean())
	}
	if got := h.Percentile(100); got != 4*time.Millisecond {
		t.Errorf("p100 = %v, want the exact maximum 4ms", got)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%5000) * time.Microsecond)
	}
}

func series(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}

func repeat(n int, v time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = v
	}
	return out
}
