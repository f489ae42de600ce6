package httpapi

import (
	_ "embed"
	"net/http"
)

// openapiJSON is the OpenAPI 3.1 document of every route in routes.go. A
// test keeps the two equal and checks live responses against its schemas.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the OpenAPI document served at /openapi.json.
func OpenAPI() []byte { return openapiJSON }

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openapiJSON)
	return nil
}
