//go:build !unix

package detect

func processCPU() int64 { return -1 }
