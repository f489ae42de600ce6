package detect_test

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-dev/vigil/detect"
)

// A service feeds its lookups to the detector and hands events to a
// buffered channel that a separate goroutine stores and alerts on; emit
// itself never blocks.
func Example() {
	events := make(chan detect.Event, 1024)
	d, err := detect.New(detect.DefaultConfig(), nil, func(e detect.Event) {
		select {
		case events <- e:
		default: // the queue is full: drop rather than stall a request
		}
	})
	if err != nil {
		panic(err)
	}

	// An anonymous caller walks sequential user ids, as in the incident.
	const caller = "src:203.0.113.7"
	for id := 4_810_000; id < 4_810_020; id++ {
		d.Lookup(caller, strconv.Itoa(id), true)
	}

	e := <-events
	fmt.Println(e.Kind, e.Rule, e.Severity, e.Key, e.Count >= e.Threshold, e.Window == 10*time.Minute)
	fmt.Println(e.Summary)
	fmt.Println("tightened:", d.Tightened(caller))
	// Output:
	// enumeration sequential high src:203.0.113.7 true true
	// caller looked up 10 targets adjacent to a recent one in 10m0s
	// tightened: true
}
