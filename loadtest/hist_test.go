package loadtest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 20000)
	for i := range samples {
		samples[i] = time.Duration(rng.ExpFloat64()*3000) * time.Microsecond
		h.Record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := samples[int(q*float64(len(samples)))-1]
		got := h.Quantile(q)
		if diff := got - want; diff > want/50+time.Microsecond || -diff > want/50+time.Microsecond {
			t.Errorf("q%.2f = %v, want %v ±2%%", q, got, want)
		}
	}
	if h.Max() != samples[len(samples)-1].Truncate(time.Microsecond) {
		t.Errorf("max = %v, want %v", h.Max(), samples[len(samples)-1])
	}
}

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []int64{0, 1, 255, 256, 257, 1000, 123456, 1 << 40} {
		got := valueOf(bucketOf(v))
		if d := got - v; d < 0 && -d > v/64 || d > v/64+1 {
			t.Errorf("value %d lands in a bucket worth %d", v, got)
		}
	}
}
