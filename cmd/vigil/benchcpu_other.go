//go:build !unix

package main

import "time"

// processCPU is not measured on this platform: the report says "n/a".
func processCPU() time.Duration { return 0 }
