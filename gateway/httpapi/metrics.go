package httpapi

import "github.com/prometheus/client_golang/prometheus"

// metrics count the server's requests and webhooks.
type metrics struct {
	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec

	webhooksReceived *prometheus.CounterVec
	webhooksRejected *prometheus.CounterVec
	unknownAccounts  *prometheus.CounterVec
	duplicates       *prometheus.CounterVec
	// entriesDropped counts events of an accepted webhook that were dropped,
	// by platform and reason (channel_secret: the entry's channel is not
	// the one whose secret signed the body).
	entriesDropped *prometheus.CounterVec
}

// newMetrics registers the server's metrics on r.
func newMetrics(r prometheus.Registerer) *metrics {
	f := func(c prometheus.Collector) prometheus.Collector { r.MustRegister(c); return c }
	latency := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	return &metrics{
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
		entriesDropped: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_entries_dropped_total", Help: "Events of a signed webhook dropped, by platform and reason (channel_secret: signed with another channel's app secret).",
		}, []string{"platform", "reason"})).(*prometheus.CounterVec),
		duplicates: f(prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_duplicate_events_total", Help: "Events dropped as redeliveries of one already accepted.",
		}, []string{"platform"})).(*prometheus.CounterVec),
	}
}
