package engine

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/channels"
)

// metrics are the engine's Prometheus metrics: events, decisions, sends,
// the bot, notifications, calls and automatic assignment.
type metrics struct {
	eventsProcessed *prometheus.CounterVec
	eventsDropped   prometheus.Counter
	// takes counts the processing locks taken, by who took them (inbox.go);
	// sendRecords the records of sent parts, by the round trip that wrote
	// them (send.go).
	takes        *prometheus.CounterVec
	sendRecords  *prometheus.CounterVec
	eventLatency prometheus.Histogram
	// lateEvents and deadLetters count what the guards set aside (guard.go).
	lateEvents  *prometheus.CounterVec
	deadLetters *prometheus.CounterVec

	sessionsEnded *prometheus.CounterVec
	referrals     *prometheus.CounterVec
	waitTime      *prometheus.HistogramVec

	sends        *prometheus.CounterVec
	graphLatency *prometheus.HistogramVec
	botLatency   prometheus.Histogram
	botFailures  prometheus.Counter

	// What routing decided per channel (the admin stats count them too).
	transfers      *prometheus.CounterVec
	declines       *prometheus.CounterVec
	alreadyWaiting *prometheus.CounterVec
	expiries       *prometheus.CounterVec

	notifications *prometheus.CounterVec
	calls         *prometheus.CounterVec
	assigned      *prometheus.CounterVec

	loop *loopMetrics
}

// newMetrics registers the engine's metrics on r.
func newMetrics(r prometheus.Registerer) *metrics {
	f := func(c prometheus.Collector) prometheus.Collector { r.MustRegister(c); return c }
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)).(*prometheus.CounterVec)
	}
	latency := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	return &metrics{
		loop:           newLoopMetrics(r),
		transfers:      counter("switchboard_transfers_total", "Conversations transferred to a waiting line (referral accepted), by channel.", "channel"),
		declines:       counter("switchboard_declines_total", "Offers to wait that the user declined, by channel.", "channel"),
		alreadyWaiting: counter("switchboard_already_waiting_referrals_total", "Referrals of a user already in line (the place is kept; no second transfer), by channel.", "channel"),
		expiries:       counter("switchboard_expiries_total", "Conversations closed by the inactivity timeout, by channel.", "channel"),
		notifications:  counter("switchboard_notifications_total", "Escalation notification attempts, by channel, target (webhook, email, zendesk) and result (ok, retry, dropped).", "channel", "target", "result"),
		calls:          counter("switchboard_call_requests_total", "Call requests to the call provider by channel and outcome (requested, refused, failed, retry).", "channel", "outcome"),
		assigned:       counter("switchboard_auto_assignments_total", "Conversations assigned automatically, by channel and how (preferred: the agent the bot named; balanced).", "channel", "how"),
		takes: counter("switchboard_conversation_takes_total",
			"Processing locks taken on conversations with events, with their first batch, by who took them: "+
				"the webhook, in the round trip that accepted its event (while workers keep up), or a worker, in a round trip of its own.", "by"),
		sendRecords: counter("switchboard_send_records_total",
			"Records of parts the platform accepted, by the round trip that wrote them: "+
				"the worker's release of the conversation (release) or one of their own (alone).", "with"),
		lateEvents: counter("switchboard_late_events_total",
			"User messages older than the dedupe window: stored in the transcript, never routed (no bot reply, no transfer), by channel.", "channel"),
		deadLetters: counter("switchboard_dead_letters_total",
			"Inbound events whose processing panicked or failed for good, moved to the channel's dead-letter list, by channel.", "channel"),
		eventsProcessed: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_events_processed_total", Help: "Inbound events processed, by kind.",
		}, []string{"kind"})).(*prometheus.CounterVec),
		eventsDropped: f(prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_events_dropped_total", Help: "Inbound events whose processing panicked or failed for a reason other than an outage, set aside on the dead-letter list (logged with a hash of their id).",
		})).(prometheus.Counter),
		eventLatency: f(prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "switchboard_event_processing_seconds", Help: "Time to process one inbound event (bot call included).", Buckets: latency,
		})).(prometheus.Histogram),
		sessionsEnded: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sessions_ended_total", Help: "Bot and agent sessions ended, by channel and resolution (transferred, declined, expired...).",
		}, []string{"channel", "resolution"})).(*prometheus.CounterVec),
		referrals: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_waiting_line_joins_total", Help: "Conversations that joined a waiting line, by channel.",
		}, []string{"channel"})).(*prometheus.CounterVec),
		waitTime: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_wait_seconds", Help: "Time from joining the line to being taken by an agent.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600},
		}, []string{"channel"})).(*prometheus.HistogramVec),
		sends: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sends_total", Help: "Messages sent to users, by platform and result (ok, retry, failed).",
		}, []string{"platform", "result"})).(*prometheus.CounterVec),
		graphLatency: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_graph_api_seconds", Help: "Latency of Graph API send calls.", Buckets: latency,
		}, []string{"platform"})).(*prometheus.HistogramVec),
		botLatency: f(prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "switchboard_bot_seconds", Help: "Latency of bot replies.", Buckets: latency,
		})).(prometheus.Histogram),
		botFailures: f(prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_bot_failures_total", Help: "Bot calls that failed or timed out (the fallback was sent).",
		})).(prometheus.Counter),
	}
}

func (m *metrics) observeEvent(ev *channels.Event, d time.Duration) {
	m.eventsProcessed.WithLabelValues(string(ev.Kind)).Inc()
	m.eventLatency.Observe(d.Seconds())
}

// lineCollector reports each channel's waiting-line length and online
// agents at scrape time, read from Redis.
type lineCollector struct {
	engine  *Engine
	length  *prometheus.Desc
	online  *prometheus.Desc
	timeout time.Duration
}

func newLineCollector(e *Engine) *lineCollector {
	return &lineCollector{
		engine:  e,
		length:  prometheus.NewDesc("switchboard_waiting_line_length", "Conversations waiting in each channel's line.", []string{"channel"}, nil),
		online:  prometheus.NewDesc("switchboard_agents_online", "Agents online for each channel.", []string{"channel"}, nil),
		timeout: 2 * time.Second,
	}
}

func (c *lineCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.length; ch <- c.online }

func (c *lineCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s := c.engine.setup.Load()
	for id := range s.channels {
		if n, err := c.engine.line.LineLength(ctx, id); err == nil {
			ch <- prometheus.MustNewConstMetric(c.length, prometheus.GaugeValue, float64(n), id)
		}
	}
	online, err := c.engine.onlineByChannel(ctx, s)
	if err != nil {
		return
	}
	for id := range s.channels {
		ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(len(online[id])), id)
	}
}
