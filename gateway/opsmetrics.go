package gateway

import "github.com/prometheus/client_golang/prometheus"

// opsMetrics are the counters of the operations issue: what routing
// decided per channel, notifications and reloads.
type opsMetrics struct {
	transfers      *prometheus.CounterVec
	declines       *prometheus.CounterVec
	alreadyWaiting *prometheus.CounterVec
	expiries       *prometheus.CounterVec
	notifications  *prometheus.CounterVec
	reloads        *prometheus.CounterVec
}

func newOpsMetrics(r *prometheus.Registry) *opsMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		r.MustRegister(c)
		return c
	}
	return &opsMetrics{
		transfers:      counter("switchboard_transfers_total", "Conversations transferred to a waiting line (referral accepted), by channel.", "channel"),
		declines:       counter("switchboard_declines_total", "Offers to wait that the user declined, by channel.", "channel"),
		alreadyWaiting: counter("switchboard_already_waiting_referrals_total", "Referrals of a user already in line (the place is kept; no second transfer), by channel.", "channel"),
		expiries:       counter("switchboard_expiries_total", "Conversations closed by the inactivity timeout, by channel.", "channel"),
		notifications:  counter("switchboard_notifications_total", "Escalation notification attempts, by channel, target (webhook, email) and result (ok, retry, dropped).", "channel", "target", "result"),
		reloads:        counter("switchboard_config_reloads_total", "Configuration reloads, by result (applied, invalid, failed).", "result"),
	}
}
