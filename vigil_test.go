package vigil_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := vigil.NewID()
		if !vigil.ValidID(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "1", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		if vigil.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := vigil.NewToken(), vigil.NewToken()
	if len(a.Reveal()) != 43 || a.Reveal() == b.Reveal() {
		t.Fatalf("tokens %d chars, equal=%v", len(a.Reveal()), a.Reveal() == b.Reveal())
	}
	if !a.Hash().Equal(vigil.ParseToken(a.Reveal()).Hash()) || a.Hash().Equal(b.Hash()) {
		t.Fatal("hash equality wrong")
	}
}

func TestErrors(t *testing.T) {
	e := &vigil.Error{Code: vigil.ENOTFOUND, Message: "user not found", Err: errors.New("sql: no rows")}
	wrapped := fmt.Errorf("lookup: %w", e)
	if vigil.ErrorCode(wrapped) != vigil.ENOTFOUND || vigil.ErrorMessage(wrapped) != "user not found" {
		t.Fatal("code or message lost through wrapping")
	}
	plain := errors.New("disk on fire at /var/lib/secret")
	if vigil.ErrorCode(plain) != vigil.EINTERNAL || vigil.ErrorMessage(plain) != "internal error" {
		t.Fatal("an unknown error's text must never become the public message")
	}
	if vigil.ErrorCode(nil) != "" || vigil.RateLimited(10*time.Millisecond).RetryAfter != time.Second {
		t.Fatal("nil code or minimum Retry-After wrong")
	}
}

func TestThrottleRuleApply(t *testing.T) {
	r := vigil.ThrottleRule{Free: 3, Base: time.Second, Max: 10 * time.Second, Window: time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s vigil.ThrottleState
	steps := []struct {
		at      time.Duration
		allowed bool
		block   time.Duration // BlockedUntil - at after the step, 0 if none set
	}{
		{0, true, 0},
		{0, true, 0},
		{0, true, time.Second},                   // third failure: blocks 1 s
		{500 * time.Millisecond, false, 0},       // inside the block: refused, counted
		{2 * time.Second, true, 4 * time.Second}, // fifth: 1 s doubled twice
		{6 * time.Second, true, 8 * time.Second},
		{14 * time.Second, true, 10 * time.Second}, // capped at Max
		{25 * time.Second, true, 10 * time.Second},
	}
	for i, st := range steps {
		now := t0.Add(st.at)
		next, allowed, wait := r.Apply(s, now)
		if allowed != st.allowed {
			t.Fatalf("step %d: allowed = %v", i, allowed)
		}
		if !allowed && wait != s.BlockedUntil.Sub(now) {
			t.Fatalf("step %d: wait = %v", i, wait)
		}
		if next.Failures != i+1 {
			t.Fatalf("step %d: failures = %d, want every attempt counted", i, next.Failures)
		}
		if st.block > 0 && next.BlockedUntil.Sub(now) != st.block {
			t.Fatalf("step %d: block = %v, want %v", i, next.BlockedUntil.Sub(now), st.block)
		}
		s = next
	}
	// A quiet window forgets everything.
	next, allowed, _ := r.Apply(s, t0.Add(10*time.Minute))
	if !allowed || next.Failures != 1 {
		t.Fatalf("after a quiet window: allowed=%v failures=%d", allowed, next.Failures)
	}
}

func TestActorRoles(t *testing.T) {
	var nilActor *vigil.Actor
	if nilActor.HasRole(vigil.RoleAdmin) {
		t.Fatal("nil actor has a role")
	}
	a := &vigil.Actor{Roles: []string{"support", vigil.RoleAdmin}}
	if !a.HasRole(vigil.RoleAdmin) || a.HasRole("owner") {
		t.Fatal("HasRole wrong")
	}
}
