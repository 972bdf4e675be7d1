package loadtest

import (
	"strings"
	"testing"
	"time"
)

func result(ok int64, elapsed time.Duration, replies int64, span time.Duration) *Result {
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	r := &Result{Label: "x", OK: ok, Elapsed: elapsed, Start: start, Replies: replies, Expected: replies,
		LastReply: start.Add(span), Check: &Check{}}
	return r
}

// The floors' ratios are judged against their targets and printed as one
// "target:" line each, which scripts/bench.sh turns into its table.
func TestFloorVerdicts(t *testing.T) {
	gw := result(7000, time.Second, 6000, 2*time.Second)          // 7,000/s accepted, 3,000 replies/s
	ingest := result(10000, time.Second, 0, 0)                    // 10,000/s
	e2e := result(5000, time.Second, 5000, 1250*time.Millisecond) // 4,000 replies/s
	for i := range 100 {
		gw.Accept.Record(time.Duration(i) * 400 * time.Microsecond) // p99 ≈ 39.6 ms
	}
	vs := FloorVerdicts(gw, ingest, e2e)
	if len(vs) != 3 {
		t.Fatalf("%d verdicts, want 3", len(vs))
	}
	var b strings.Builder
	for _, v := range vs {
		v.Write(&b)
	}
	want := []string{
		"target: ingest vs ingest floor, same run | 7000 / 10000 = 0.70 | >= 0.7 | met",
		"target: ingest rate and accept p99 | 7000/s, p99 39.",
		"| >= 10000/s, p99 <= 50.0 ms | NOT MET",
		"target: end-to-end rate vs end-to-end floor, same run | 3000 / 4000 = 0.75 | >= 0.6 | met",
	}
	for _, w := range want {
		if !strings.Contains(b.String(), w) {
			t.Errorf("verdicts lack %q:\n%s", w, b.String())
		}
	}
	gw.Check.Duplicated = 1
	if FloorVerdicts(gw, ingest, e2e)[2].Met {
		t.Error("a run with a duplicate met the end-to-end target")
	}
}

// A fixed-rate run meets its target only at the rate and within the p99.
func TestRateVerdict(t *testing.T) {
	r := result(2950, time.Second, 2950, time.Second)
	for range 100 {
		r.EndToEnd.Record(100 * time.Millisecond)
	}
	if v := RateVerdict(r, 3000); !v.Met {
		t.Errorf("2,950/s of 3,000/s at 100 ms: %+v, want met", v)
	}
	if v := RateVerdict(r, 3100); v.Met {
		t.Errorf("2,950/s of 3,100/s: %+v, want not met", v)
	}
	r.EndToEnd.Record(time.Second)
	r.EndToEnd.Record(time.Second)
	if v := RateVerdict(r, 3000); v.Met || v.Status() != "NOT MET" {
		t.Errorf("p99 of a second: %+v, want not met", v)
	}
	if v := MemoryVerdict(1801, 100000); v.Met {
		t.Error("1,801 B met the memory target")
	}
	if v := MemoryVerdict(1700, 20000); v.Met {
		t.Error("a run at 20,000 conversations met the target set at 100,000")
	}
}

// Claims rounds are judged by their median rate, every rate shown; a
// conversation taken twice in any round fails the target.
func TestClaimsVerdict(t *testing.T) {
	round := func(claimed, twice int) *ClaimsResult {
		r := &ClaimsResult{Agents: 100, Claimed: claimed, Twice: twice, Elapsed: time.Second}
		r.Latency.Record(time.Duration(claimed) * time.Microsecond)
		return r
	}
	var b strings.Builder
	v := ClaimsVerdict(round(6900, 0), round(3400, 0), round(5300, 0))
	v.Write(&b)
	if want := "target: claims, 100 agents | median 5300/s of 3 rounds (6900, 3400, 5300), its p99 5.3 ms; twice 0, never taken 0 | >= 5000/s with 100 agents, none twice | met\n"; b.String() != want {
		t.Errorf("verdict:\n%s\nwant\n%s", b.String(), want)
	}
	if v := ClaimsVerdict(round(6900, 0), round(4900, 0)); v.Met {
		t.Errorf("median of 6,900 and 4,900 (the lower middle) met: %+v", v)
	}
	if v := ClaimsVerdict(round(6900, 0), round(6800, 1), round(6700, 0)); v.Met {
		t.Errorf("a round with a conversation taken twice met: %+v", v)
	}
	if v := ClaimsVerdict(round(6000, 0)); !v.Met || v.Measured != "6000/s, p99 6.0 ms; twice 0, never taken 0" {
		t.Errorf("one round: %+v", v)
	}
	if v := ClaimsVerdict(); v.Met {
		t.Errorf("no round met: %+v", v)
	}
}
