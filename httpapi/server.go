// Package httpapi is vigil's HTTP interface. NewServer mounts every route of
// routes.go, each with the access policy it was registered with; a route
// without one stops the server from being built. Handlers only decode,
// call the service and encode: rules live in package service.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/service"
)

// Config configures the HTTP layer.
type Config struct {
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	// Empty: the peer address is the client address.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security (set when served over HTTPS).
	HSTS bool
	// LogRequests logs every request at info level (else at debug).
	LogRequests bool
}

// Deps are the server's collaborators.
type Deps struct {
	Service  *service.Service
	Ready    func(context.Context) error // nil: always ready
	Logger   *slog.Logger
	Registry *prometheus.Registry // nil: a private one
}

// Server is vigil's HTTP handler.
type Server struct {
	cfg      Config
	svc      *service.Service
	ready    func(context.Context) error
	log      *slog.Logger
	registry *prometheus.Registry
	mux      *http.ServeMux
	routes   []Route
	duration *prometheus.HistogramVec
}

// NewServer builds the handler. It fails if any route lacks an access
// policy, so a forgotten check can never ship as an open endpoint.
func NewServer(cfg Config, d Deps) (*Server, error) {
	if d.Service == nil {
		return nil, errors.New("httpapi: a service is required")
	}
	s := &Server{cfg: cfg, svc: d.Service, ready: d.Ready, log: d.Logger, registry: d.Registry}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vigil_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "code"})
	if err := s.registry.Register(s.duration); err != nil {
		return nil, err
	}
	s.routes = s.Routes()
	mux, err := s.mount(s.routes)
	if err != nil {
		return nil, err
	}
	s.mux = mux
	return s, nil
}

// Registry returns the Prometheus registry served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// mount registers routes on a new mux, refusing any route without a policy
// or with a pattern that is not "METHOD /path".
func (s *Server) mount(routes []Route) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range routes {
		if rt.Policy == PolicyUnset {
			return nil, fmt.Errorf("httpapi: route %q has no access policy; every route must declare one", rt.Pattern)
		}
		if _, ok := policyNames[rt.Policy]; !ok {
			return nil, fmt.Errorf("httpapi: route %q has an unknown access policy %d", rt.Pattern, rt.Policy)
		}
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("httpapi: route %q must be \"METHOD /path\"", rt.Pattern)
		}
		if seen[rt.Pattern] {
			return nil, fmt.Errorf("httpapi: route %q registered twice", rt.Pattern)
		}
		seen[rt.Pattern] = true
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	mux.HandleFunc("/", s.notFound)
	return mux, nil
}

// notFound answers unknown paths with 404 and known paths with a method
// they lack with 405, both as problems.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := s.mux.Handler(probe); pat != "/" && pat != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, Problem{Type: ProblemTypePrefix + "method-not-allowed", Title: "Method not allowed",
			Status: http.StatusMethodNotAllowed, Detail: "this path does not take " + r.Method})
		return
	}
	writeProblem(w, Problem{Type: ProblemTypePrefix + vigil.ENOTFOUND, Title: "Not found", Status: http.StatusNotFound,
		Detail: "no such endpoint"})
}

// guard wraps a route's handler with its access policy.
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if rt.Policy != PolicyPublic {
			actor, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			ctx = vigil.NewContextWithActor(ctx, actor)
			if rt.Policy == PolicyAdmin {
				// The admin role, and a session that passed a second
				// factor; the service checks again in each admin method.
				if _, err := s.svc.Admin(ctx); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			r = r.WithContext(ctx)
		}
		if err := rt.Handler(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		// Admin changes are audited by the service with their details;
		// admin reads are audited here, by route.
		if rt.Policy == PolicyAdmin && r.Method == http.MethodGet {
			s.svc.AuditAdminRead(r.Context(), rt.Pattern)
		}
	})
}

// authenticate reads "Authorization: Bearer TOKEN" and asks the service who
// it stands for. Every failure is the same 401.
func (s *Server) authenticate(r *http.Request) (*vigil.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || len(r.Header.Values("Authorization")) != 1 {
		return nil, vigil.ErrUnauthenticated
	}
	return s.svc.Authenticate(r.Context(), vigil.ParseToken(strings.TrimSpace(tok)))
}

// ServeHTTP runs the middleware shared by every request, then the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	ip := clientIP(r, s.cfg.TrustedProxies)
	// The mux records the matched pattern on this request, read below.
	r = r.WithContext(vigil.NewContextWithClient(r.Context(), vigil.Client{IP: ip, UserAgent: truncate(r.UserAgent(), 512)}))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !sw.wrote {
				writeProblem(sw, Problem{Type: ProblemTypePrefix + vigil.EINTERNAL, Title: "Internal error",
					Status: http.StatusInternalServerError, Detail: "internal error"})
			}
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		d := time.Since(start)
		s.duration.WithLabelValues(route, statusText(code)).Observe(d.Seconds())
		level := slog.LevelDebug
		if s.cfg.LogRequests || code >= 500 {
			level = slog.LevelInfo
		}
		// Checked first: building the attributes costs allocations on the
		// hot path even when the line is then dropped.
		if s.log.Enabled(r.Context(), level) {
			// The path only: query strings may carry tokens (reset links).
			s.log.Log(r.Context(), level, "request", "method", r.Method, "route", route, "path", r.URL.Path,
				"status", code, "duration_ms", float64(d.Microseconds())/1000, "ip", ip)
		}
	}()

	h := sw.Header()
	for k, v := range securityHeaders {
		h[k] = v
	}
	if s.cfg.HSTS {
		h["Strict-Transport-Security"] = hsts
	}
	r.Body = http.MaxBytesReader(sw, r.Body, MaxBodyBytes)
	s.mux.ServeHTTP(sw, r)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// clientIP returns the peer address, or, when the peer is a trusted proxy,
// the right-most address in X-Forwarded-For that is not itself trusted.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if len(trusted) == 0 || !inAny(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !inAny(a, trusted) {
			return a.String()
		}
	}
	return peer.String()
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// statusWriter remembers the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metricsHandler serves the registry.
func (s *Server) metricsHandler() http.Handler {
	// A failing collector is logged and skipped: the default would answer
	// with a plain-text 500 carrying the error's text.
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// securityHeaders go on every answer: API answers carry private data and
// credentials, so nothing is cached, sniffed, framed or referred. The keys
// are canonical and the slices shared read-only, which spares a Set per
// header on the hot path.
var securityHeaders = map[string][]string{
	"X-Content-Type-Options":       {"nosniff"},
	"Cache-Control":                {"no-store"},
	"Referrer-Policy":              {"no-referrer"},
	"X-Frame-Options":              {"DENY"},
	"Content-Security-Policy":      {"default-src 'none'; frame-ancestors 'none'"},
	"Cross-Origin-Resource-Policy": {"same-origin"},
}

var hsts = []string{"max-age=63072000; includeSubDomains"}

// statusTexts holds the label of each status code, so the metrics label
// costs no allocation.
var statusTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
