package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/service"
)

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.signup("alice")
	e.do("GET", "/healthz", "", nil).expect(t, http.StatusOK)
	e.do("GET", "/readyz", "", nil).expect(t, http.StatusOK)
	r := e.do("GET", "/metrics", "", nil).expect(t, http.StatusOK)
	body := string(r.Body)
	for _, want := range []string{`vigil_logins_total{result="success"} 1`, `vigil_http_request_duration_seconds_bucket{code="201",route="POST /v1/sessions"`, `vigil_signups_total{result="verified"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Security headers on every answer.
	for _, h := range []string{"X-Content-Type-Options", "Cache-Control", "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if r.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
}

// /readyz tells when the database is gone.
func TestNotReadyWhenDatabaseDown(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.Store.Close()
	r := e.do("GET", "/readyz", "", nil).expect(t, http.StatusServiceUnavailable)
	if r.Header.Get("Content-Type") != "application/problem+json" || strings.Contains(string(r.Body), "sql") {
		t.Fatalf("not-ready answer: %s", r.Body)
	}
}

func TestServerNeedsService(t *testing.T) {
	if _, err := httpapi.NewServer(httpapi.Config{}, httpapi.Deps{}); err == nil {
		t.Fatal("NewServer without a service succeeded")
	}
	if _, err := service.New(service.DefaultConfig(), service.Deps{}); err == nil {
		t.Fatal("service.New without dependencies succeeded")
	}
}

// The operator's metrics: resets, revocations, rejected credentials and
// detector events are counted.
func TestIncidentResponseMetrics(t *testing.T) {
	e := newEnv(t, "sqlite")
	u := e.signup("alice")
	e.Clock.Advance(time.Second)
	adm := e.admin("root")
	e.resetToken(u.Email, u.Email)
	e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"sessions"},
		"issued_before": e.Clock.Now().Add(-500 * time.Millisecond), "reason": "drill"}).expect(t, http.StatusCreated)
	e.do("GET", "/v1/me", u.Token, nil).expect(t, http.StatusUnauthorized)
	e.do("GET", "/v1/users/"+u.ID, adm.Token, nil).expect(t, http.StatusOK)
	body := string(e.do("GET", "/metrics", "", nil).expect(t, http.StatusOK).Body)
	for _, want := range []string{
		`vigil_password_resets_total{result="requested"} 1`,
		`vigil_revocations_total 1`,
		`vigil_credentials_rejected_total{reason="cutoff"} 1`,
		`vigil_security_events_total{kind="revoked_credential_use"} 1`,
		`vigil_user_lookups_total{result="public"} 1`,
		`vigil_revocation_refresh_seconds_count`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
