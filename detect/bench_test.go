package detect

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
)

// cpuPerOp reports the process's CPU time per operation as "cpu-ns/op"
// when b ends. On a shared machine ns/op (wall time) swings with the load;
// CPU time much less. With RunParallel it is the CPU all goroutines spent,
// per operation.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		if end := processCPU(); start >= 0 && end >= 0 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchDetector returns a Detector on the real clock with the default
// configuration and an emit that only counts, like a hand-off to a queue.
func benchDetector(b *testing.B) *Detector {
	b.Helper()
	var events atomic.Int64
	d, err := New(DefaultConfig(), nil, func(Event) { events.Add(1) })
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkLookup is the hot path: many callers, each looking up random
// opaque ids, from all CPUs at once.
func BenchmarkLookup(b *testing.B) {
	d := benchDetector(b)
	r := rand.New(rand.NewPCG(1, 1))
	callers := make([]string, 4096)
	for i := range callers {
		callers[i] = "caller:" + opaqueID(r)
	}
	targets := make([]string, 1<<16)
	for i := range targets {
		targets[i] = opaqueID(r)
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		for pb.Next() {
			i++
			d.Lookup(callers[i%uint64(len(callers))], targets[(i*31)%uint64(len(targets))], i%8 != 0)
		}
	})
}

// BenchmarkLookupOneCaller is the worst case for contention: every
// goroutine on one key, hence one mutex.
func BenchmarkLookupOneCaller(b *testing.B) {
	d := benchDetector(b)
	r := rand.New(rand.NewPCG(2, 2))
	targets := make([]string, 1<<12)
	for i := range targets {
		targets[i] = opaqueID(r)
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		for pb.Next() {
			i++
			d.Lookup("src:203.0.113.7", targets[i%uint64(len(targets))], true)
		}
	})
}

// BenchmarkLookupFreshCallers measures a flood of callers never seen
// before, which evict older ones once the table is full.
func BenchmarkLookupFreshCallers(b *testing.B) {
	d := benchDetector(b)
	callers := make([]string, 1<<20)
	for i := range callers {
		callers[i] = "src:" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := range b.N {
		d.Lookup(callers[i%len(callers)], "1", false)
	}
}

// BenchmarkLoginFailure feeds failures from a pool of sources and networks
// against a pool of accounts, with random password fingerprints.
func BenchmarkLoginFailure(b *testing.B) {
	d := benchDetector(b)
	r := rand.New(rand.NewPCG(3, 3))
	sources := make([]string, 4096)
	networks := make([]string, 256)
	accounts := make([]string, 1<<14)
	for i := range sources {
		sources[i] = "src:198.51." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	for i := range networks {
		networks[i] = "net:198." + strconv.Itoa(i) + ".0.0/24"
	}
	for i := range accounts {
		accounts[i] = "name:" + opaqueID(r) + "@example.com"
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := range b.N {
		d.LoginFailure(sources[i%len(sources)], networks[i%len(networks)], accounts[(i*31)%len(accounts)], uint64(i%100_000)+1)
	}
}

// BenchmarkLoginFailureParallel is BenchmarkLoginFailure from all CPUs.
func BenchmarkLoginFailureParallel(b *testing.B) {
	d := benchDetector(b)
	r := rand.New(rand.NewPCG(4, 4))
	sources := make([]string, 4096)
	accounts := make([]string, 1<<14)
	for i := range sources {
		sources[i] = "src:198.51." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	for i := range accounts {
		accounts[i] = "name:" + opaqueID(r)
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		for pb.Next() {
			i++
			n := int(i)
			d.LoginFailure(sources[n%len(sources)], "net:198.51.0.0/24", accounts[(n*31)%len(accounts)], uint64(n%100_000)+1)
		}
	})
}

// BenchmarkTightened is the check a service makes on every guarded request.
func BenchmarkTightened(b *testing.B) {
	d := benchDetector(b)
	d.CredentialRejected("src:203.0.113.7", ReasonCutoff)
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d.Tightened("src:203.0.113.7")
		}
	})
}
