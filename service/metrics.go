package service

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	logins      *prometheus.CounterVec
	lookups     *prometheus.CounterVec
	signups     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.logins, m.lookups, m.signups, m.rateLimited} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
