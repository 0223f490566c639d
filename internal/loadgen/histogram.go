package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram counts durations in log-linear buckets, as HdrHistogram does: every power of two
// is split into histSub equal buckets, so a recorded value is known to within 1/histSub
// (0.4 %) whatever its size, in a fixed 66 KiB. Record is safe for concurrent use and does not
// allocate, so every subscriber's reader can record into one shared histogram.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Int64 // nanoseconds, for the mean
	max    atomic.Int64
}

const (
	histSubBits = 8
	histSub     = 1 << histSubBits // buckets per power of two
	// histMaxBits bounds the values kept apart: 2^40 ns is about 18 minutes, longer than any
	// run; larger values land in the last bucket.
	histMaxBits = 40
	histBuckets = 2*histSub + (histMaxBits-histSubBits-1)*histSub
)

// bucketOf maps v ≥ 0 to its bucket. Values below 2·histSub have a bucket each; above, the
// top histSubBits+1 bits of v select the bucket within its power of two.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < 2*histSub {
		return int(u)
	}
	shift := bits.Len64(u) - histSubBits - 1
	i := 2*histSub + (shift-1)*histSub + int(u>>shift) - histSub
	return min(i, histBuckets-1)
}

// bucketHigh is the largest value that lands in bucket i, which is what a percentile reports:
// the answer never understates the latency.
func bucketHigh(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := (i-2*histSub)/histSub + 1
	low := int64(histSub+(i-2*histSub)%histSub) << shift
	return low + int64(1)<<shift - 1
}

// Record adds one duration; negative ones (clock steps) count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean is the average of the recorded values, or zero when there are none.
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / int64(n))
}

// Percentile returns the smallest bucket bound below which at least p percent (0 < p ≤ 100)
// of the values lie, capped by the exact maximum; zero when nothing was recorded. Call it once
// recording has stopped.
func (h *Histogram) Percentile(p float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	// The rank-th value, 1-based, rounding up; the epsilon keeps 99.9 % of 1,000 at 999
	// despite floating point.
	rank := max(uint64(math.Ceil(p/100*float64(n)-1e-9)), 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), h.Max())
		}
	}
	return h.Max()
}
