package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The targets of BENCHMARKS.md, which the commands judge their figures by.
const (
	TargetIngestRatio   = 0.7                    // gateway / ingest floor, webhooks answered 200 per second
	TargetIngestRate    = 10000                  // signed webhooks per second
	TargetIngestP99     = 50 * time.Millisecond  // accept p99 at that rate
	TargetEndToEndRatio = 0.6                    // gateway / end-to-end floor, replies per second, same run
	TargetEndToEndP99   = 250 * time.Millisecond // webhook to reply, at the fixed rate
	TargetClaimsRate    = 5000                   // claims per second with 100 agents
	TargetBytesPerWait  = 1800                   // Redis bytes per waiting conversation at 100,000
	TargetPageP99       = 20 * time.Millisecond  // a page of 50 out of 100,000, 50 listers
	TargetSignalRate    = 1000                   // read and typing per second, no error
	targetRateTolerance = 0.97                   // a fixed rate counts as reached at 97 % of it
)

// Verdict is one line of the targets table: a target, the figure measured
// and whether it was met. Reported is for a figure with no bound (RSS).
type Verdict struct {
	Name, Measured, Target string
	Met, Reported          bool
}

// Status is "met", "NOT MET" or "reported".
func (v Verdict) Status() string {
	switch {
	case v.Reported:
		return "reported"
	case v.Met:
		return "met"
	}
	return "NOT MET"
}

// Write prints the verdict as one "target:" line, fields separated by " | ",
// which scripts/bench.sh collects into its final table.
func (v Verdict) Write(w io.Writer) {
	clean := func(s string) string { return strings.ReplaceAll(s, "|", "/") }
	fmt.Fprintf(w, "target: %s | %s | %s | %s\n", clean(v.Name), clean(v.Measured), clean(v.Target), v.Status())
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// ExactlyOnce is the verdict of a run's exactly-once check.
func (res *Result) ExactlyOnce() Verdict {
	v := Verdict{Name: "exactly once, " + res.Label, Target: "none lost, none twice"}
	if res.Check == nil {
		v.Measured = "not checked"
		return v
	}
	v.Measured = fmt.Sprintf("%d replies for %d deliveries; lost %d, twice %d", res.Replies, res.Expected, res.Check.Lost, res.Check.Duplicated)
	if c := res.Check; c.SentAgain > 0 || c.Allowed > 0 {
		v.Measured += fmt.Sprintf(", sent again %d", c.SentAgain)
		v.Target += fmt.Sprintf(", at most %d sent again", c.Allowed)
	}
	v.Met = res.Check.OK()
	return v
}

// FloorVerdicts judge a gateway's as-fast-as-possible run against the
// floors measured in the same run: ingest (webhooks answered 200 per
// second) and end to end (replies per second).
func FloorVerdicts(gw, ingestFloor, e2eFloor *Result) []Verdict {
	var out []Verdict
	if ingestFloor != nil {
		r := gw.AcceptRate() / ingestFloor.AcceptRate()
		out = append(out, Verdict{Name: "ingest vs ingest floor, same run",
			Measured: fmt.Sprintf("%.0f / %.0f = %.2f", gw.AcceptRate(), ingestFloor.AcceptRate(), r),
			Target:   fmt.Sprintf(">= %.1f", TargetIngestRatio), Met: r >= TargetIngestRatio})
	}
	p99 := gw.Accept.Quantile(0.99)
	out = append(out, Verdict{Name: "ingest rate and accept p99",
		Measured: fmt.Sprintf("%.0f/s, p99 %s", gw.AcceptRate(), ms(p99)),
		Target:   fmt.Sprintf(">= %d/s, p99 <= %s", TargetIngestRate, ms(TargetIngestP99)),
		Met:      gw.AcceptRate() >= TargetIngestRate && p99 <= TargetIngestP99})
	if e2eFloor != nil {
		fl := e2eFloor.EndToEndRate()
		r := 0.0
		if fl > 0 {
			r = gw.EndToEndRate() / fl
		}
		out = append(out, Verdict{Name: "end-to-end rate vs end-to-end floor, same run",
			Measured: fmt.Sprintf("%.0f / %.0f = %.2f", gw.EndToEndRate(), fl, r),
			Target:   fmt.Sprintf(">= %.1f", TargetEndToEndRatio), Met: r >= TargetEndToEndRatio && gw.Check.OK()})
	}
	return out
}

// RateVerdict judges a fixed-rate run: the rate reached (answered 200) and
// the end-to-end p99.
func RateVerdict(res *Result, rate float64) Verdict {
	p99 := res.EndToEnd.Quantile(0.99)
	reached := res.AcceptRate() >= rate*targetRateTolerance
	return Verdict{Name: fmt.Sprintf("end to end at %.0f/s", rate),
		Measured: fmt.Sprintf("%.0f/s answered 200, p50 %s, p99 %s", res.AcceptRate(), ms(res.EndToEnd.Quantile(0.5)), ms(p99)),
		Target:   fmt.Sprintf("the rate, p99 <= %s", ms(TargetEndToEndP99)),
		Met:      reached && p99 <= TargetEndToEndP99 && res.EndToEnd.Count() > 0}
}

// RSSVerdicts report each process' peak RSS.
func (r *RSS) Verdicts(phase string) []Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Verdict
	for _, pid := range r.pids {
		out = append(out, Verdict{Name: "gateway peak RSS, " + phase, Measured: fmt.Sprintf("%.1f MB (VmHWM)", float64(r.lastHWM[pid])/1024),
			Target: "reported", Reported: true})
	}
	return out
}

// ClaimsVerdict judges one or more claims rounds by their median rate (the
// lower middle of an even count): a round of 10,000 claims lasts about two
// seconds, and on a shared machine the same build measured anywhere between
// 3,400 and 6,900/s in runs minutes apart. Every round's rate is shown;
// a conversation taken twice or never taken in any round fails the target.
func ClaimsVerdict(rounds ...*ClaimsResult) Verdict {
	target := fmt.Sprintf(">= %d/s with 100 agents, none twice", TargetClaimsRate)
	if len(rounds) == 0 {
		return Verdict{Name: "claims", Measured: "no round", Target: target}
	}
	byRate := slices.Clone(rounds)
	slices.SortStableFunc(byRate, func(a, b *ClaimsResult) int { return cmp.Compare(a.rate(), b.rate()) })
	median := byRate[(len(byRate)-1)/2]
	rates := make([]string, len(rounds))
	twice, missing, ok := 0, 0, true
	for i, r := range rounds {
		rates[i] = fmt.Sprintf("%.0f", r.rate())
		twice, missing, ok = twice+r.Twice, missing+r.Missing, ok && r.OK()
	}
	measured := fmt.Sprintf("%.0f/s, p99 %s", median.rate(), ms(median.Latency.Quantile(0.99)))
	if len(rounds) > 1 {
		measured = fmt.Sprintf("median %.0f/s of %d rounds (%s), its p99 %s", median.rate(), len(rounds),
			strings.Join(rates, ", "), ms(median.Latency.Quantile(0.99)))
	}
	return Verdict{Name: fmt.Sprintf("claims, %d agents", median.Agents),
		Measured: fmt.Sprintf("%s; twice %d, never taken %d", measured, twice, missing),
		Target:   target,
		Met:      median.rate() >= TargetClaimsRate && ok && median.Agents >= 100}
}

// rate is the round's claims per second.
func (c *ClaimsResult) rate() float64 { return float64(c.Claimed) / c.Elapsed.Seconds() }

// MemoryVerdict judges the Redis bytes per waiting conversation.
func MemoryVerdict(perConversation float64, n int) Verdict {
	return Verdict{Name: fmt.Sprintf("Redis per waiting conversation, %d waiting", n),
		Measured: fmt.Sprintf("%.0f B", perConversation),
		Target:   fmt.Sprintf("<= %d B at 100,000", TargetBytesPerWait),
		Met:      perConversation <= TargetBytesPerWait && n >= 100000}
}

// Verdicts judge an inbox run: the page p99 with its listers, and read and
// typing at their rate with no error.
func (r *InboxResult) Verdicts(listers int) []Verdict {
	p99 := r.List.Quantile(0.99)
	signals := float64(r.Signals) / r.SignalElapsed.Seconds()
	return []Verdict{
		{Name: fmt.Sprintf("inbox page of %.0f, %d listers, %d conversations", r.PageRequest, listers, r.Seeded),
			Measured: fmt.Sprintf("%.0f pages/s, p99 %s, %d errors", float64(r.Pages)/r.ListElapsed.Seconds(), ms(p99), len(r.PageErrors)),
			Target:   "p99 <= " + ms(TargetPageP99), Met: p99 <= TargetPageP99 && len(r.PageErrors) == 0},
		{Name: "read and typing",
			Measured: fmt.Sprintf("%.0f/s, p99 %s, %d errors", signals, ms(r.Signal.Quantile(0.99)), r.SignalErrors),
			Target:   fmt.Sprintf("%d/s, no error", TargetSignalRate), Met: signals >= TargetSignalRate*targetRateTolerance && r.SignalErrors == 0},
	}
}
