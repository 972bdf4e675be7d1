package queue

import (
	"errors"
	"testing"
	"time"

	"switchboard/channels"
)

func TestRetryDelayDoublesWithThePlatformsAdviceAsAFloor(t *testing.T) {
	tasks := &Tasks{cfg: TaskConfig{RetryBase: time.Second, RetryMax: 10 * time.Second}}
	plain := errors.New("boom")
	pairLimit := &channels.SendError{Retryable: true, Code: 131056, RetryAfter: 6 * time.Second}
	cases := []struct {
		n    int
		err  error
		want time.Duration
	}{
		{0, plain, time.Second},
		{1, plain, 2 * time.Second},
		{3, plain, 8 * time.Second},
		{4, plain, 10 * time.Second}, // capped at RetryMax
		{60, plain, 10 * time.Second},
		{0, pairLimit, 6 * time.Second}, // the platform's advice is the floor
		{3, pairLimit, 8 * time.Second}, // but backoff still grows past it
	}
	for _, c := range cases {
		if got := tasks.retryDelay(c.n, c.err, nil); got != c.want {
			t.Errorf("retryDelay(%d, %v) = %v, want %v", c.n, c.err, got, c.want)
		}
	}
}
