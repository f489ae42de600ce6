package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func bareServer() *Server {
	s := &Server{log: slog.New(slog.DiscardHandler), registry: prometheus.NewRegistry()}
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d"}, []string{"route", "code"})
	return s
}

func ok(w http.ResponseWriter, r *http.Request) error { return nil }

// A route registered without an access policy stops the server from being
// built: deny by default is enforced at start-up, not by review.
func TestRouteWithoutPolicyRefused(t *testing.T) {
	s := bareServer()
	_, err := s.mount([]Route{
		{Pattern: "GET /healthz", Policy: PolicyPublic, Handler: ok},
		{Pattern: "GET /v1/forgotten", Handler: ok},
	})
	if err == nil || !strings.Contains(err.Error(), "/v1/forgotten") || !strings.Contains(err.Error(), "no access policy") {
		t.Fatalf("mount = %v, want a refusal naming the route", err)
	}
	for _, bad := range []Route{
		{Pattern: "GET /x", Policy: Policy(99), Handler: ok},
		{Pattern: "/x", Policy: PolicyPublic, Handler: ok},
	} {
		if _, err := s.mount([]Route{bad}); err == nil {
			t.Fatalf("mount accepted %+v", bad)
		}
	}
	if _, err := s.mount([]Route{{Pattern: "GET /x", Policy: PolicyPublic, Handler: ok}, {Pattern: "GET /x", Policy: PolicyPublic, Handler: ok}}); err == nil {
		t.Fatal("mount accepted a duplicate route")
	}
}

// A panic in a handler is a 500 problem, never a dropped connection or a
// stack trace in the body.
func TestPanicIsProblem(t *testing.T) {
	s := bareServer()
	mux, err := s.mount([]Route{{Pattern: "GET /boom", Policy: PolicyPublic, Handler: func(http.ResponseWriter, *http.Request) error {
		panic("secret-internal-detail")
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s.mux = mux
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "secret-internal-detail") {
		t.Fatal("panic value leaked into the response")
	}
}
