package loadtest

import (
	"fmt"
	"math/bits"
	"time"
)

// Histogram records durations in microseconds in log-linear buckets, as an
// HDR histogram does: 128 sub-buckets per power of two, so a reported
// quantile is within 1% of the recorded value. The zero value is ready; it
// is not safe for concurrent use (give each goroutine its own and Merge).
type Histogram struct {
	counts [64 * subCount]uint64
	n      uint64
	max    int64
	sum    int64
}

const (
	subBits  = 7
	subCount = 1 << subBits // 128
)

func bucketOf(v int64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1 // v>>e is in [128, 256)
	return 2*subCount + (e-1)*subCount + int(v>>e) - subCount
}

// valueOf is the middle of bucket i.
func valueOf(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	e := (i-2*subCount)/subCount + 1
	m := int64((i-2*subCount)%subCount + subCount)
	return m<<e + (int64(1)<<e)/2
}

// Record adds one duration (negative ones count as zero).
func (h *Histogram) Record(d time.Duration) {
	v := d.Microseconds()
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's records to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of records.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest record, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Quantile returns the q-quantile (0 < q <= 1), or 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(valueOf(i), h.max)) * time.Microsecond
		}
	}
	return h.Max()
}

// String is "p50=.. p90=.. p99=.. max=.. (n=..)".
func (h *Histogram) String() string {
	if h.n == 0 {
		return "no samples"
	}
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("p50=%s p90=%s p99=%s max=%s (n=%d)",
		r(h.Quantile(0.50)), r(h.Quantile(0.90)), r(h.Quantile(0.99)), r(h.Max()), h.n)
}
