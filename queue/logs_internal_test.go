package queue

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Messages whose window passed are forgotten once many are remembered;
// copies dropped for them are logged then, not lost.
func TestLimitedLogForgetsOldMessagesWithTheirCounts(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)
	g := newLimitedLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "asynq", func() time.Time { return now })
	a := asynqLog{g}
	a.Error("first")
	a.Info("first")  // dropped: same message
	a.Debug("first") // dropped
	now = now.Add(logWindow)
	for i := range logPrune {
		a.Warn(fmt.Sprint("other ", i))
	}
	a.Fatal("last")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != logPrune+3 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), logPrune+3, buf.String())
	}
	want := `level=ERROR msg=first component=asynq suppressed=2`
	found := false
	for _, l := range lines[1:] {
		found = found || strings.HasSuffix(l, want)
	}
	if !strings.HasSuffix(lines[0], "level=ERROR msg=first component=asynq") || !found {
		t.Errorf("lines do not log %q once, then with its 2 dropped copies when forgotten:\n%s", "first", buf.String())
	}
	if _, ok := g.seen["first"]; ok {
		t.Error("a message whose window passed is still remembered after pruning")
	}
}
