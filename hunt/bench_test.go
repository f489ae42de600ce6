package hunt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/hunt"
	"github.com/vigil-dev/vigil/hunt/internal/vulnapi"
)

// genSpec generates an OpenAPI 3.0 document of 5×resources operations: for
// each resource r<i>, list and create on /r<i>/items, and read, update and
// delete on /r<i>/items/{item_id}.
func genSpec(resources int) []byte {
	item := map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "string", "readOnly": true}, "title": map[string]any{"type": "string"}, "body": map[string]any{"type": "string"}}}
	input := map[string]any{"type": "object", "required": []string{"title"}, "properties": map[string]any{
		"title": map[string]any{"type": "string"}, "body": map[string]any{"type": "string"}}}
	ok := func(schema any) map[string]any {
		return map[string]any{"200": map[string]any{"description": "ok", "content": map[string]any{"application/json": map[string]any{"schema": schema}}},
			"401": map[string]any{"description": "no credential"}, "404": map[string]any{"description": "not found"}}
	}
	body := map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": input}}}
	paths := map[string]any{}
	for i := range resources {
		r := fmt.Sprintf("/r%d/items", i)
		paths[r] = map[string]any{
			"get":  map[string]any{"operationId": fmt.Sprintf("list%d", i), "responses": ok(map[string]any{"type": "array", "items": item})},
			"post": map[string]any{"operationId": fmt.Sprintf("create%d", i), "requestBody": body, "responses": ok(item)},
		}
		paths[r+"/{item_id}"] = map[string]any{
			"parameters": []any{map[string]any{"name": "item_id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
			"get":        map[string]any{"operationId": fmt.Sprintf("get%d", i), "responses": ok(item)},
			"patch":      map[string]any{"operationId": fmt.Sprintf("update%d", i), "requestBody": body, "responses": ok(item)},
			"delete":     map[string]any{"operationId": fmt.Sprintf("delete%d", i), "responses": map[string]any{"204": map[string]any{"description": "deleted"}}},
		}
	}
	doc := map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "generated", "version": "1"},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"paths":      paths,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

// genServer implements genSpec's API in memory for the callers "alice" and
// "bob" (static bearer tokens tok-alice, tok-bob): objects are scoped to
// their owner, except in resources i where i%bolaEvery == 0 (bolaEvery > 0),
// whose item read skips the owner check.
type genServer struct {
	bolaEvery int
	mu        sync.Mutex
	items     map[string]map[string]string // "/r1/items/x" -> fields
}

func (s *genServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer tok-")
	if who != "alice" && who != "bob" {
		http.Error(w, `{"error":"unauthenticated"}`, http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var res int
	if len(parts) < 2 || parts[1] != "items" || len(parts) > 3 {
		http.NotFound(w, r)
		return
	}
	if _, err := fmt.Sscanf(parts[0], "r%d", &res); err != nil {
		http.NotFound(w, r)
		return
	}
	write := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	coll := "/" + parts[0] + "/items/"
	if len(parts) == 2 {
		switch r.Method {
		case "GET":
			out := []map[string]string{}
			for k, it := range s.items {
				if strings.HasPrefix(k, coll) && it["owner"] == who {
					out = append(out, it)
				}
			}
			write(out)
		case "POST":
			var in map[string]string
			if json.NewDecoder(r.Body).Decode(&in) != nil || in["title"] == "" {
				http.Error(w, `{"error":"invalid"}`, 400)
				return
			}
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			it := map[string]string{"id": hex.EncodeToString(b), "owner": who, "title": in["title"], "body": in["body"]}
			s.items[coll+it["id"]] = it
			write(it)
		default:
			w.WriteHeader(405)
		}
		return
	}
	it, ok := s.items[coll+parts[2]]
	open := s.bolaEvery > 0 && res%s.bolaEvery == 0 && r.Method == "GET"
	if !ok || (it["owner"] != who && !open) {
		http.Error(w, `{"error":"not found"}`, 404)
		return
	}
	switch r.Method {
	case "GET":
		write(it)
	case "PATCH":
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		for _, k := range []string{"title", "body"} {
			if in[k] != "" {
				it[k] = in[k]
			}
		}
		write(it)
	case "DELETE":
		delete(s.items, coll+parts[2])
		w.WriteHeader(204)
	default:
		w.WriteHeader(405)
	}
}

// MustGenTarget serves genSpec(resources) and returns a config for it.
func MustGenTarget(tb testing.TB, resources, bolaEvery int) *hunt.Config {
	tb.Helper()
	dir := tb.TempDir()
	spec := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(spec, genSpec(resources), 0o600); err != nil {
		tb.Fatal(err)
	}
	gs := &genServer{bolaEvery: bolaEvery, items: map[string]map[string]string{}}
	for i := range resources {
		for _, who := range []string{"alice", "bob"} {
			gs.items[fmt.Sprintf("/r%d/items/seed-%s", i, who)] = map[string]string{"id": "seed-" + who, "owner": who,
				"title": "seeded", "body": "reach me at " + who + ".seed@example.com"}
		}
	}
	srv, _ := MustServe(tb, gs)
	return &hunt.Config{Target: srv.URL, Spec: spec, Identities: []hunt.Identity{
		{Name: "alice", Headers: map[string]string{"Authorization": "Bearer tok-alice"}, Owns: map[string][]string{"item_id": {"seed-alice"}}},
		{Name: "bob", Headers: map[string]string{"Authorization": "Bearer tok-bob"}, Owns: map[string][]string{"item_id": {"seed-bob"}}},
	}}
}

// A 500-operation spec is hunted whole: every operation probed (objects
// created, read, updated, deleted; only reads without unsafe methods),
// nothing reported on a correct API, and exactly the planted item reads
// reported where the owner check is missing.
func TestGenerated500(t *testing.T) {
	if testing.Short() {
		t.Skip("a 500-operation hunt")
	}
	for _, unsafe := range []bool{false, true} {
		probed := 200
		if unsafe {
			probed = 500
		}
		rep, err := hunt.Run(context.Background(), MustGenTarget(t, 100, 0), fast(unsafe))
		if err != nil {
			t.Fatal(err)
		}
		if st := rep.Stats; st.Operations != 500 || st.Probed != probed || len(rep.Findings) != 0 {
			t.Errorf("unsafe=%v: stats %+v, %d findings: %v", unsafe, st, len(rep.Findings), keys(rep))
		}
		rep, err = hunt.Run(context.Background(), MustGenTarget(t, 100, 10), fast(unsafe))
		if err != nil {
			t.Fatal(err)
		}
		want := map[key][]string{}
		for i := 0; i < 100; i += 10 {
			want[key{hunt.RuleBOLA, "GET", fmt.Sprintf("/r%d/items/{item_id}", i)}] = []string{"bob", "alice"}
		}
		checkExactly(t, rep, want)
	}
}

// BenchmarkHunt hunts the vulnerable twin (three identities, unsafe
// methods on, no rate cap, bursts of 40 — above vulnapi's limits) and reports operations ×
// identities probed per second: operations replayed times the callers that
// replayed them (the signed-in identities and anonymous).
func BenchmarkHunt(b *testing.B) {
	o := fast(true)
	var probes, requests float64
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		srv, _ := MustServe(b, vulnapi.New(false))
		cfg := MustVulnConfig(b, srv.URL)
		b.StartTimer()
		start := time.Now()
		rep, err := hunt.Run(context.Background(), cfg, o)
		elapsed += time.Since(start)
		if err != nil || len(rep.Findings) != len(planted) {
			b.Fatalf("err %v, %d findings", err, len(rep.Findings))
		}
		probes += float64(rep.Stats.Probed * (rep.Stats.Identities + 1))
		requests += float64(rep.Stats.Requests)
	}
	b.ReportMetric(probes/elapsed.Seconds(), "op×id/s")
	b.ReportMetric(requests/elapsed.Seconds(), "req/s")
	b.ReportMetric(requests/float64(b.N), "req/hunt")
}

// BenchmarkHunt500 hunts a generated 500-operation spec (two identities,
// unsafe methods on, no rate cap) and reports the time one hunt takes, and
// the requests it sends (at the default cap of 50/s, divide by 50 for the
// polite wall-clock time).
func BenchmarkHunt500(b *testing.B) {
	for _, unsafe := range []bool{false, true} {
		b.Run(fmt.Sprintf("unsafe=%v", unsafe), func(b *testing.B) {
			var requests, probes float64
			var elapsed time.Duration
			for range b.N {
				b.StopTimer()
				cfg := MustGenTarget(b, 100, 0)
				b.StartTimer()
				start := time.Now()
				rep, err := hunt.Run(context.Background(), cfg, fast(unsafe))
				elapsed += time.Since(start)
				if err != nil || rep.Stats.Operations != 500 {
					b.Fatalf("err %v, stats %+v", err, rep.Stats)
				}
				requests += float64(rep.Stats.Requests)
				probes += float64(rep.Stats.Probed * (rep.Stats.Identities + 1))
			}
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/hunt")
			b.ReportMetric(requests/float64(b.N), "req/hunt")
			b.ReportMetric(probes/elapsed.Seconds(), "op×id/s")
		})
	}
}
