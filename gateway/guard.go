package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/channels"
	"switchboard/queue"
)

// Defences against hostile or broken input that a valid request can still
// carry: an entry signed with another channel's secret, a replay older than
// the dedupe window, an event whose processing panics (deadletter.go).

// guardMetrics count what those defences dropped or set aside.
type guardMetrics struct {
	// entriesDropped counts webhook entries dropped from a request that was
	// otherwise accepted, by platform and reason (channel_secret: the
	// entry's channel is not the one whose secret signed the body).
	entriesDropped *prometheus.CounterVec
	lateEvents     *prometheus.CounterVec
	deadLetters    *prometheus.CounterVec
}

func newGuardMetrics(r *prometheus.Registry) *guardMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		r.MustRegister(c)
		return c
	}
	return &guardMetrics{
		entriesDropped: counter("switchboard_webhook_entries_dropped_total",
			"Events of a signed webhook dropped, by platform and reason (channel_secret: signed with another channel's app secret).", "platform", "reason"),
		lateEvents: counter("switchboard_late_events_total",
			"User messages older than the dedupe window: stored in the transcript, never routed (no bot reply, no transfer), by channel.", "channel"),
		deadLetters: counter("switchboard_dead_letters_total",
			"Inbound events whose processing panicked or failed for good, moved to the channel's dead-letter list, by channel.", "channel"),
	}
}

// reasonChannelSecret labels entries signed with another channel's secret.
const reasonChannelSecret = "channel_secret"

// signedBy reports whether secret, the one that verified a webhook body, is
// the app secret of ch. Several channels of one Meta app share a secret.
func signedBy(ch *channel, secret string) bool {
	own := ch.cfg.AppSecret.Reveal()
	return own != "" && subtle.ConstantTimeCompare([]byte(own), []byte(secret)) == 1
}

// foreignEntry drops an event whose channel did not sign the body: a
// capture of one app's signed delivery cannot speak for another's account.
func (a *App) foreignEntry(ctx context.Context, ch *channel, ev *channels.Event) {
	a.metrics.guard.entriesDropped.WithLabelValues(string(ch.platform), reasonChannelSecret).Inc()
	a.log.WarnContext(ctx, "webhook event signed with another channel's app secret; dropped",
		"platform", ch.platform, "channel", ch.id, "event_hash", logID(ev.ID))
}

// late reports whether a user message is older than the dedupe window: its
// id may have been forgotten, so it may be a replay of a captured delivery,
// and a reply days later would make no sense anyway. A message without a
// platform timestamp is never late.
func (e *Engine) late(ev *channels.Event) bool {
	return !ev.Timestamp.IsZero() && e.now().Sub(ev.Timestamp) > e.setup.Load().dedupeTTL
}

// recordLate stores a late message in the transcript, for the agents, and
// takes it out of the inbox without routing it. A replay of a message the
// transcript already holds is not recorded twice (late messages are rare,
// so reading the transcript is affordable).
func (e *Engine) recordLate(ctx context.Context, convID string, ev *channels.Event) error {
	e.metrics.guard.lateEvents.WithLabelValues(ev.Channel).Inc()
	e.log.WarnContext(ctx, "message older than the dedupe window; recorded, not routed",
		"channel", ev.Channel, "conversation", convID, "event_hash", logID(ev.ID), "age", e.now().Sub(ev.Timestamp).Round(time.Second))
	entries, err := e.store.Transcript(ctx, convID)
	if err != nil {
		return err
	}
	entry := userEntry(ev)
	if slices.ContainsFunc(entries, func(x queue.Entry) bool { return x.ID == entry.ID }) {
		return e.store.Ack(ctx, convID, ev.ID)
	}
	return e.store.Record(ctx, convID, ev.ID, entry)
}

// logID is what warning and error lines show of a platform event id: a
// short hash, since ids can hold a phone number or a page-scoped user id
// (a Messenger read is "read:<PSID>:<watermark>"). The same id always
// gives the same hash, so lines about one event can be matched.
func logID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}
