package password

import (
	"errors"
	"testing"
)

func TestParamsValidate(t *testing.T) {
	ok := TestParams()
	with := func(f func(*Params)) Params {
		p := ok
		f(&p)
		return p
	}
	tests := []struct {
		name  string
		p     Params
		valid bool
	}{
		{"default", DefaultParams(), true},
		{"test", TestParams(), true},
		{"all minimums", Params{Memory: MinMemory, Iterations: MinIterations, Parallelism: MinParallelism, SaltLen: MinSaltLen, KeyLen: MinKeyLen}, true},
		{"all maximums", Params{Memory: MaxMemory, Iterations: MaxIterations, Parallelism: MaxParallelism, SaltLen: MaxSaltLen, KeyLen: MaxKeyLen}, true},
		{"zero value", Params{}, false},
		{"memory below min", with(func(p *Params) { p.Memory = MinMemory - 1 }), false},
		{"memory above max", with(func(p *Params) { p.Memory = MaxMemory + 1 }), false},
		{"memory below 8 KiB per lane", with(func(p *Params) { p.Parallelism = 4; p.Memory = 31 }), false},
		{"memory exactly 8 KiB per lane", with(func(p *Params) { p.Parallelism = 4; p.Memory = 32 }), true},
		{"iterations zero", with(func(p *Params) { p.Iterations = 0 }), false},
		{"iterations above max", with(func(p *Params) { p.Iterations = MaxIterations + 1 }), false},
		{"parallelism zero", with(func(p *Params) { p.Parallelism = 0 }), false},
		{"parallelism above max", with(func(p *Params) { p.Parallelism = MaxParallelism + 1; p.Memory = 1024 }), false},
		{"salt too short", with(func(p *Params) { p.SaltLen = MinSaltLen - 1 }), false},
		{"salt too long", with(func(p *Params) { p.SaltLen = MaxSaltLen + 1 }), false},
		{"key too short", with(func(p *Params) { p.KeyLen = MinKeyLen - 1 }), false},
		{"key too long", with(func(p *Params) { p.KeyLen = MaxKeyLen + 1 }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.valid && err != nil {
				t.Fatalf("Validate(%+v) = %v, want nil", tt.p, err)
			}
			if !tt.valid && !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("Validate(%+v) = %v, want ErrInvalidParams", tt.p, err)
			}
		})
	}
}

func TestDefaultParams(t *testing.T) {
	// The values are part of the contract: stored hashes and capacity
	// planning depend on them.
	want := Params{Memory: 65536, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
}
