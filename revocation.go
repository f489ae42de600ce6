package vigil

import (
	"context"
	"time"
)

// Credential kinds a revocation can cut off.
const (
	CredSessions      = "sessions"
	CredResetTokens   = "reset_tokens"
	CredMFAChallenges = "mfa_challenges"
)

// CredentialKinds lists every kind a revocation accepts.
var CredentialKinds = []string{CredSessions, CredResetTokens, CredMFAChallenges}

// Revocation invalidates every credential of the given kinds issued before
// a cutoff, for everyone or for the listed accounts. It is one record
// however many credentials it kills: validation compares a credential's
// issue time with the cutoffs in a RevocationSet, so issuing one costs the
// same with a thousand live sessions or seventeen million.
type Revocation struct {
	Seq          int64 // assigned by the store, increasing
	ID           string
	Kinds        []string
	IssuedBefore time.Time
	AccountIDs   []string // empty: every account
	// MustReset makes the accounts change their password before they sign
	// in again, if they last set it before IssuedBefore.
	MustReset  bool
	Reason     string
	IncidentID string // "" if not made under an incident
	CreatedBy  string // the admin's account id, or "cli"
	CreatedAt  time.Time
}

// RevocationStore is the part of the store that keeps revocations.
type RevocationStore interface {
	// CreateRevocation stores r (assigning r.Seq) and writes fx, in one
	// transaction.
	CreateRevocation(ctx context.Context, r *Revocation, fx Effects) error
	// Revocations returns the revocations whose Seq is greater than
	// after (0: all of them), oldest first.
	Revocations(ctx context.Context, after int64) ([]*Revocation, error)
	// RevocationVersion is a cheap fingerprint of the revocation table:
	// the number of rows and the highest seq. It changes whenever a
	// revocation is committed, in whatever order concurrent commits land.
	RevocationVersion(ctx context.Context) (count, maxSeq int64, err error)
}

// cutoffs are the latest cutoffs that apply to one scope (everyone, or one
// account).
type cutoffs struct {
	sessions, resets, challenges, mustReset time.Time
}

func (c *cutoffs) add(r *Revocation) {
	later := func(t *time.Time) {
		if r.IssuedBefore.After(*t) {
			*t = r.IssuedBefore
		}
	}
	for _, k := range r.Kinds {
		switch k {
		case CredSessions:
			later(&c.sessions)
		case CredResetTokens:
			later(&c.resets)
		case CredMFAChallenges:
			later(&c.challenges)
		}
	}
	if r.MustReset {
		later(&c.mustReset)
	}
}

func (c *cutoffs) of(kind string) time.Time {
	switch kind {
	case CredSessions:
		return c.sessions
	case CredResetTokens:
		return c.resets
	case CredMFAChallenges:
		return c.challenges
	}
	return time.Time{}
}

// RevocationSet answers "is this credential revoked?" from a list of
// revocations in constant time: one cutoff per kind for everyone and, for
// accounts named in revocations, one map lookup. It is immutable once
// built and safe for concurrent use.
type RevocationSet struct {
	all      cutoffs
	accounts map[string]*cutoffs
}

// NewRevocationSet folds revocations into a set. Later cutoffs win, since
// a cutoff revokes everything issued before it.
func NewRevocationSet(rs []*Revocation) *RevocationSet {
	return (*RevocationSet)(nil).With(rs)
}

// With returns a new set holding s's revocations and rs; s is unchanged.
// It costs O(len(rs)) plus, when rs names accounts, a copy of the
// accounts already named.
func (s *RevocationSet) With(rs []*Revocation) *RevocationSet {
	n := &RevocationSet{accounts: make(map[string]*cutoffs)}
	if s != nil {
		n.all = s.all
		named := false
		for _, r := range rs {
			named = named || len(r.AccountIDs) > 0
		}
		if named {
			for id, c := range s.accounts {
				cc := *c
				n.accounts[id] = &cc
			}
		} else {
			n.accounts = s.accounts // shared, never written: no revocation here names an account
		}
	}
	n.add(rs)
	return n
}

func (s *RevocationSet) add(rs []*Revocation) {
	for _, r := range rs {
		if len(r.AccountIDs) == 0 {
			s.all.add(r)
			continue
		}
		for _, id := range r.AccountIDs {
			c := s.accounts[id]
			if c == nil {
				c = &cutoffs{}
				s.accounts[id] = c
			}
			c.add(r)
		}
	}
}

// Revoked reports whether a credential of kind, issued to accountID at
// issued, falls before a cutoff.
func (s *RevocationSet) Revoked(kind, accountID string, issued time.Time) bool {
	if s == nil {
		return false
	}
	if issued.Before(s.all.of(kind)) {
		return true
	}
	if c := s.accounts[accountID]; c != nil && issued.Before(c.of(kind)) {
		return true
	}
	return false
}

// MustReset reports whether accountID, whose password was last set at
// passwordSet, has to choose a new one before signing in.
func (s *RevocationSet) MustReset(accountID string, passwordSet time.Time) bool {
	if s == nil {
		return false
	}
	if passwordSet.Before(s.all.mustReset) {
		return true
	}
	c := s.accounts[accountID]
	return c != nil && passwordSet.Before(c.mustReset)
}
