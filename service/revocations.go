package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-dev/vigil"
)

// ErrAdminMFA refuses an admin action from a session that did not pass a
// second factor.
var ErrAdminMFA = &vigil.Error{Code: vigil.EFORBIDDEN, Type: "mfa-required",
	Message: "admin actions need a session signed in with two-factor authentication: turn it on and sign in again"}

// Admin checks that the caller may act as an operator: an account with the
// admin role whose session passed a second factor, or the server's console
// (vigil.CLIActor). It fills in the actor's roles. EUNAUTHENTICATED
// without a caller; EFORBIDDEN otherwise.
func (s *Service) Admin(ctx context.Context) (*vigil.Actor, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, vigil.ErrUnauthenticated
	}
	if a.CLI {
		return a, nil
	}
	acct, err := s.store.AccountByID(ctx, a.AccountID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, vigil.ErrUnauthenticated
	} else if err != nil {
		return nil, err
	}
	a.Roles = acct.Roles
	if !a.HasRole(vigil.RoleAdmin) {
		return nil, vigil.Errorf(vigil.EFORBIDDEN, "this action needs the admin role")
	}
	if !acct.MFAEnabled || !a.MFA {
		return nil, ErrAdminMFA
	}
	return a, nil
}

// AuditAdminRead records that an admin read route answered: what the
// operators looked at is part of the record too. A failure is logged.
func (s *Service) AuditAdminRead(ctx context.Context, route string) {
	s.audit(ctx, s.auditEntry(ctx, vigil.AuditAdminRead, "", map[string]any{"route": route}))
}

// actorName is how records name who acted: the account id, or "cli".
func actorName(a *vigil.Actor) string {
	if a.CLI {
		return "cli"
	}
	return a.AccountID
}

// revocationCache holds the revocations in force as a RevocationSet, so
// that validating a credential costs a map lookup. It is refreshed when
// older than the service's RevocationRefresh, by a cheap version query
// that reloads the set only when another instance added a revocation: so
// every instance on one database enforces a revocation within that time.
type revocationCache struct {
	mu  sync.Mutex // serializes refreshes
	cur atomic.Pointer[revocationSnapshot]
}

type revocationSnapshot struct {
	set           *vigil.RevocationSet
	count, maxSeq int64
	checked       time.Time // wall clock of the last version check (monotonic)
}

// revocations returns the revocations in force, refreshed if stale. A
// failed refresh keeps the last set and is retried on the next call; the
// error is returned only if no set was ever loaded (fail closed).
func (s *Service) revocations(ctx context.Context) (*vigil.RevocationSet, error) {
	snap := s.revs.cur.Load()
	if snap != nil && time.Since(snap.checked) < s.cfg.RevocationRefresh {
		return snap.set, nil
	}
	s.revs.mu.Lock()
	defer s.revs.mu.Unlock()
	if snap = s.revs.cur.Load(); snap != nil && time.Since(snap.checked) < s.cfg.RevocationRefresh {
		return snap.set, nil
	}
	if err := s.refreshRevocations(ctx, snap); err != nil {
		if snap != nil {
			s.log.ErrorContext(ctx, "revocations not refreshed", "err", err)
			return snap.set, nil
		}
		return nil, err
	}
	return s.revs.cur.Load().set, nil
}

// refreshRevocations checks the version and reloads when it moved. Call
// with revs.mu held.
func (s *Service) refreshRevocations(ctx context.Context, old *revocationSnapshot) error {
	checked := time.Now()
	defer func() { s.m.revCheck.Observe(time.Since(checked).Seconds()) }()
	count, maxSeq, err := s.store.RevocationVersion(ctx)
	if err != nil {
		return err
	}
	if old != nil && old.count == count && old.maxSeq == maxSeq {
		s.revs.cur.Store(&revocationSnapshot{set: old.set, count: count, maxSeq: maxSeq, checked: checked})
		return nil
	}
	if old != nil {
		// Usually the new rows are exactly those after the last seq seen.
		// If a concurrent commit landed with a lower seq than one already
		// seen, the count gives it away and everything is reloaded.
		rs, err := s.store.Revocations(ctx, old.maxSeq)
		if err != nil {
			return err
		}
		if old.count+int64(len(rs)) == count && (len(rs) == 0 || rs[len(rs)-1].Seq == maxSeq) {
			s.revs.cur.Store(&revocationSnapshot{set: old.set.With(rs), count: count, maxSeq: maxSeq, checked: checked})
			return nil
		}
	}
	rs, err := s.store.Revocations(ctx, 0)
	if err != nil {
		return err
	}
	s.revs.cur.Store(&revocationSnapshot{set: vigil.NewRevocationSet(rs), count: count, maxSeq: maxSeq, checked: checked})
	return nil
}

// revoked reports whether a credential falls under a revocation; a store
// failure counts as revoked, since the answer must not be a guess.
func (s *Service) revoked(ctx context.Context, kind, accountID string, issued time.Time) (bool, error) {
	set, err := s.revocations(ctx)
	if err != nil {
		return true, err
	}
	return set.Revoked(kind, accountID, issued), nil
}

// RevocationRequest asks for a revocation by cutoff.
type RevocationRequest struct {
	Kinds        []string
	IssuedBefore time.Time // zero: now
	AccountIDs   []string  // empty: everyone
	MustReset    bool
	Reason       string
	IncidentID   string
}

// maxRevocationAccounts bounds the accounts one revocation may name; more
// than that is a revocation for everyone, or several.
const maxRevocationAccounts = 10000

// Revoke invalidates, for everyone or the listed accounts, every credential
// of the given kinds issued before the cutoff, and optionally makes the
// accounts choose a new password before they sign in again. It writes one
// record, whatever the number of credentials; this instance enforces it at
// once and every other within RevocationRefresh. Made under an incident, it
// is added to the incident's timeline. Admins only (see Admin). EINVALID
// for an unknown kind, a cutoff in the future, no reason, or an unknown
// account; ENOTFOUND for an unknown incident.
func (s *Service) Revoke(ctx context.Context, req RevocationRequest) (*vigil.Revocation, error) {
	admin, err := s.Admin(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r := &vigil.Revocation{ID: vigil.NewID(), IssuedBefore: req.IssuedBefore.UTC().Truncate(time.Microsecond),
		MustReset: req.MustReset, IncidentID: req.IncidentID,
		CreatedBy: actorName(admin), CreatedAt: now}
	if r.IssuedBefore.IsZero() {
		r.IssuedBefore = now
	}
	if r.IssuedBefore.After(now) {
		return nil, vigil.Errorf(vigil.EINVALID, "issued_before must not be in the future: a cutoff ahead would refuse credentials not yet issued")
	}
	if len(req.Kinds) == 0 && !req.MustReset {
		return nil, vigil.Errorf(vigil.EINVALID, "kinds must name at least one of: %s", strings.Join(vigil.CredentialKinds, ", "))
	}
	for _, k := range req.Kinds {
		if !slices.Contains(vigil.CredentialKinds, k) {
			return nil, vigil.Errorf(vigil.EINVALID, "unknown credential kind %q: use %s", k, strings.Join(vigil.CredentialKinds, ", "))
		}
		if !slices.Contains(r.Kinds, k) {
			r.Kinds = append(r.Kinds, k)
		}
	}
	if r.Reason, err = checkText("reason", req.Reason, 1000, true); err != nil {
		return nil, err
	}
	if len(req.AccountIDs) > maxRevocationAccounts {
		return nil, vigil.Errorf(vigil.EINVALID, "at most %d user_ids per revocation; revoke for everyone instead", maxRevocationAccounts)
	}
	for _, id := range req.AccountIDs {
		if !vigil.ValidID(id) {
			return nil, vigil.Errorf(vigil.EINVALID, "user_ids: %q is not a user id", id)
		}
		if _, err := s.store.AccountByID(ctx, id); vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return nil, vigil.Errorf(vigil.EINVALID, "user_ids: no user has the id %q", id)
		} else if err != nil {
			return nil, err
		}
		if !slices.Contains(r.AccountIDs, id) {
			r.AccountIDs = append(r.AccountIDs, id)
		}
	}
	scope := "every account"
	if len(r.AccountIDs) > 0 {
		scope = fmt.Sprintf("%d account(s)", len(r.AccountIDs))
	}
	what := strings.Join(r.Kinds, ", ")
	if r.MustReset {
		what = strings.TrimPrefix(what+", and a password reset at next sign-in", ", ")
	}
	var fx vigil.Effects
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditAdminRevocation, "", map[string]any{
		"revocation_id": r.ID, "kinds": r.Kinds, "issued_before": r.IssuedBefore, "accounts": len(r.AccountIDs),
		"must_reset": r.MustReset, "reason": r.Reason, "incident_id": r.IncidentID}))
	if r.IncidentID != "" {
		if _, err := s.store.IncidentByID(ctx, r.IncidentID); err != nil {
			return nil, err
		}
		kind := vigil.TimelineRevocation
		if r.MustReset && len(r.Kinds) == 0 {
			kind = vigil.TimelineForcedReset
		}
		fx.Timeline = append(fx.Timeline, &vigil.TimelineEntry{ID: vigil.NewID(), IncidentID: r.IncidentID, At: now, Kind: kind,
			Text:    fmt.Sprintf("Revoked %s issued before %s for %s: %s", what, r.IssuedBefore.Format(time.RFC3339), scope, r.Reason),
			ActorID: actorName(admin), RefID: r.ID})
	}
	if err := s.store.CreateRevocation(ctx, r, fx); err != nil {
		return nil, err
	}
	// Enforce here at once, not at the next refresh.
	s.revs.mu.Lock()
	err = s.refreshRevocations(ctx, s.revs.cur.Load())
	s.revs.mu.Unlock()
	if err != nil {
		s.log.ErrorContext(ctx, "revocations not reloaded", "err", err)
	}
	s.m.revocations.Inc()
	s.log.WarnContext(ctx, "credentials revoked by cutoff", "revocation_id", r.ID, "kinds", what,
		"issued_before", r.IssuedBefore, "accounts", len(r.AccountIDs), "by", r.CreatedBy)
	return r, nil
}

// Revocations lists every revocation, newest first. Admins only.
func (s *Service) Revocations(ctx context.Context) ([]*vigil.Revocation, error) {
	if _, err := s.Admin(ctx); err != nil {
		return nil, err
	}
	rs, err := s.store.Revocations(ctx, 0)
	if err != nil {
		return nil, err
	}
	slices.Reverse(rs)
	return rs, nil
}
