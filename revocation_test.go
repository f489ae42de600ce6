package vigil_test

import (
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

func TestRevocationSet(t *testing.T) {
	t0 := time.Date(2026, 1, 10, 23, 0, 0, 0, time.UTC)
	set := vigil.NewRevocationSet([]*vigil.Revocation{
		{Kinds: []string{vigil.CredSessions}, IssuedBefore: t0},
		{Kinds: []string{vigil.CredResetTokens}, IssuedBefore: t0.Add(time.Hour), AccountIDs: []string{"a"}, MustReset: true},
		{Kinds: []string{vigil.CredSessions}, IssuedBefore: t0.Add(-time.Hour)}, // an earlier cutoff changes nothing
	})
	cases := []struct {
		kind, account string
		issued        time.Time
		want          bool
	}{
		{vigil.CredSessions, "x", t0.Add(-time.Microsecond), true},
		{vigil.CredSessions, "x", t0, false}, // issued at the cutoff: not before it
		{vigil.CredSessions, "a", t0.Add(time.Minute), false},
		{vigil.CredResetTokens, "a", t0.Add(time.Minute), true},
		{vigil.CredResetTokens, "b", t0.Add(time.Minute), false},
		{vigil.CredMFAChallenges, "a", t0.Add(-time.Hour), false},
		{"unknown", "a", t0.Add(-time.Hour), false},
	}
	for _, c := range cases {
		if got := set.Revoked(c.kind, c.account, c.issued); got != c.want {
			t.Errorf("Revoked(%s, %s, %v) = %v, want %v", c.kind, c.account, c.issued, got, c.want)
		}
	}
	if !set.MustReset("a", t0) || set.MustReset("a", t0.Add(time.Hour)) || set.MustReset("b", t0) {
		t.Error("MustReset applies to the named account, for passwords set before the cutoff only")
	}

	// With adds without touching the original.
	more := set.With([]*vigil.Revocation{{Kinds: []string{vigil.CredMFAChallenges}, IssuedBefore: t0, AccountIDs: []string{"b"}}})
	if !more.Revoked(vigil.CredMFAChallenges, "b", t0.Add(-time.Second)) || set.Revoked(vigil.CredMFAChallenges, "b", t0.Add(-time.Second)) {
		t.Error("With must add to a copy")
	}
	if !more.Revoked(vigil.CredResetTokens, "a", t0.Add(time.Minute)) {
		t.Error("With lost an account's cutoffs")
	}
	var none *vigil.RevocationSet
	if none.Revoked(vigil.CredSessions, "a", t0) || none.MustReset("a", t0) {
		t.Error("the nil set revokes nothing")
	}
}
