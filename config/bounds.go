package config

import (
	"fmt"
	"strings"
	"time"
)

// bounds are the smallest and largest values a setting accepts, and why
// when the reason is not obvious. Values outside pass decoding but break
// serving: a Redis expiry under a second is refused by Redis, a sweep
// every nanosecond spins, two billion workers exhaust memory.
type bounds[T int | time.Duration] struct {
	min, max T
	why      string
}

const day = 24 * time.Hour

var (
	shutdownBounds = bounds[time.Duration]{min: time.Second, max: time.Hour}
	// timeoutBounds bound the timeouts of one request: Graph API sends,
	// bot calls, notifications, call providers.
	timeoutBounds    = bounds[time.Duration]{min: 10 * time.Millisecond, max: 10 * time.Minute}
	sweepBounds      = bounds[time.Duration]{min: time.Second, max: day, why: "the sweep is scheduled in whole seconds"}
	dedupeBounds     = bounds[time.Duration]{min: time.Second, max: 30 * day, why: "it is a Redis expiry, in whole seconds"}
	retryBaseBounds  = bounds[time.Duration]{min: time.Millisecond, max: 5 * time.Minute, why: "a retry waits at most 5m"}
	inactivityBounds = bounds[time.Duration]{min: time.Second, max: 365 * day}
	ackBounds        = bounds[time.Duration]{min: time.Second, max: 7 * day}
	// waitBounds bound the wait for replicas inside a webhook's answer,
	// which Meta gives a few seconds.
	waitBounds = bounds[time.Duration]{min: 10 * time.Millisecond, max: 10 * time.Second, why: "a webhook is answered while it waits"}

	workersBounds          = bounds[int]{min: 1, max: 1024, why: "each worker is a goroutine with its own Redis connection"}
	rateLimitBounds        = bounds[int]{min: 1, max: 1_000_000}
	attemptsBounds         = bounds[int]{min: 1, max: 100}
	backlogBounds          = bounds[int]{min: 100, max: 10_000_000}
	maxTriesBounds         = bounds[int]{min: 1, max: 20}
	maxConversationsBounds = bounds[int]{min: 1, max: 1_000_000}
	transcriptBounds       = bounds[int]{min: 1, max: 1000}
	replicasBounds         = bounds[int]{min: 0, max: 16}
)

// within reports a value at path outside b, naming the bound it crosses.
// Zero values were replaced by defaults, so a value below the minimum was
// written so.
func within[T int | time.Duration](v *validator, path string, value T, b bounds[T]) {
	var msg string
	switch {
	case value < b.min:
		msg = fmt.Sprintf("%s is below the minimum of %s", show(value), show(b.min))
	case value > b.max:
		msg = fmt.Sprintf("%s is above the maximum of %s", show(value), show(b.max))
	default:
		return
	}
	if b.why != "" {
		msg += " (" + b.why + ")"
	}
	v.report(path, "%s", msg)
}

// show formats a bound or value as the file would write it: 720h, not
// 720h0m0s.
func show[T int | time.Duration](value T) string {
	d, isDuration := any(value).(time.Duration)
	if !isDuration {
		return fmt.Sprint(value)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
