package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/service"
)

// BenchmarkLookup measures the server's own cost of an authenticated
// GET /v1/users/{id} (no network), spread over 16 callers.
func BenchmarkLookup(b *testing.B) {
	for _, backend := range []string{"sqlite"} {
		b.Run(backend, func(b *testing.B) {
			e := newEnv(b, backend, withLookupLimit(1e9, 1e9), func(_ *service.Config, hc *httpapi.Config) { hc.LogRequests = false })
			var users []*user
			for i := 0; i < 16; i++ {
				users = append(users, e.signup("bench"+string(rune('a'+i))))
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					caller, target := users[i%16], users[(i+1)%16]
					i++
					req := httptest.NewRequest("GET", "/v1/users/"+target.ID, nil)
					req.Header.Set("Authorization", "Bearer "+caller.Token)
					rec := httptest.NewRecorder()
					e.Server.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
