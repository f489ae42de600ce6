package service

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	logins      *prometheus.CounterVec
	lookups     *prometheus.CounterVec
	signups     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	resets      *prometheus.CounterVec
	events      *prometheus.CounterVec
	revocations prometheus.Counter
	rejected    *prometheus.CounterVec
	notices     prometheus.Counter
	revCheck    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_logins_total", Help: "Sign-in attempts by result.",
		}, []string{"result"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_user_lookups_total", Help: "User lookups by view served (own, public) or refusal.",
		}, []string{"result"}),
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_signups_total", Help: "Sign-up steps by outcome.",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_rate_limited_total", Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_password_resets_total", Help: "Password-reset steps by outcome (requested, completed, refused).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_security_events_total", Help: "Security events raised by the breach detectors, by kind.",
		}, []string{"kind"}),
		revocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_revocations_total", Help: "Revocations by cutoff issued.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_credentials_rejected_total", Help: "Credentials refused at validation, by reason (revoked, expired, cutoff).",
		}, []string{"reason"}),
		notices: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_incident_notices_total", Help: "Incident notices written to the outbox.",
		}),
		revCheck: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_revocation_refresh_seconds", Help: "Time to check (and if needed reload) the revocations in force.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.logins, m.lookups, m.signups, m.rateLimited, m.resets, m.events, m.revocations, m.rejected, m.notices, m.revCheck} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
