package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// metrics are the gateway's Prometheus metrics, on a registry of its own
// (so two gateways in one test process do not collide).
type metrics struct {
	registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec

	webhooksReceived *prometheus.CounterVec
	webhooksRejected *prometheus.CounterVec
	unknownAccounts  *prometheus.CounterVec
	duplicates       *prometheus.CounterVec

	eventsProcessed *prometheus.CounterVec
	eventsDropped   prometheus.Counter
	eventLatency    prometheus.Histogram

	sessionsEnded *prometheus.CounterVec
	referrals     *prometheus.CounterVec
	waitTime      *prometheus.HistogramVec

	sends        *prometheus.CounterVec
	graphLatency *prometheus.HistogramVec
	botLatency   prometheus.Histogram
	botFailures  prometheus.Counter

	reach *reachMetrics // call.go

	ops *opsMetrics // opsmetrics.go

	guard *guardMetrics // guard.go
}

func newMetrics() *metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) prometheus.Collector { r.MustRegister(c); return c }
	latency := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	return &metrics{
		registry: r,
		reach:    newReachMetrics(r),
		ops:      newOpsMetrics(r),
		guard:    newGuardMetrics(r),
		httpRequests: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"})).(*prometheus.CounterVec),
		httpLatency: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: latency,
		}, []string{"route"})).(*prometheus.HistogramVec),
		webhooksReceived: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhooks_received_total", Help: "Webhook POSTs received, by platform.",
		}, []string{"platform"})).(*prometheus.CounterVec),
		webhooksRejected: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhooks_rejected_total", Help: "Webhook POSTs rejected, by platform and reason.",
		}, []string{"platform", "reason"})).(*prometheus.CounterVec),
		unknownAccounts: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_unknown_account_events_total", Help: "Events for an account no channel has (answered 200 and dropped).",
		}, []string{"platform"})).(*prometheus.CounterVec),
		duplicates: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_duplicate_events_total", Help: "Events dropped as redeliveries of one already accepted.",
		}, []string{"platform"})).(*prometheus.CounterVec),
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

// observeEffects counts what a committed decision did.
func (m *metrics) observeEffects(channel string, c *queue.Commit) {
	for _, s := range c.Sessions {
		m.sessionsEnded.WithLabelValues(channel, string(s.Resolution)).Inc()
	}
	if c.Line == queue.LineJoin {
		m.referrals.WithLabelValues(channel).Inc()
	}
	for _, n := range c.Notices {
		if n.Type == routing.NoticeClaimed && !c.Record.WaitingSince.IsZero() {
			m.waitTime.WithLabelValues(channel).Observe(n.At.Sub(c.Record.WaitingSince).Seconds())
		}
	}
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
		if n, err := c.engine.store.LineLength(ctx, id); err == nil {
			ch <- prometheus.MustNewConstMetric(c.length, prometheus.GaugeValue, float64(n), id)
		}
	}
	online, err := c.engine.onlineByChannel(ctx)
	if err != nil {
		return
	}
	for id := range s.channels {
		ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(len(online[id])), id)
	}
}
