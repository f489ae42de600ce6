package service

import (
	"context"
	"strings"

	"github.com/vigil-dev/vigil"
)

// UserView is the answer to a lookup: exactly one of the two is set. Public
// is what other callers get; Private is the owner's own view.
type UserView struct {
	Public  *vigil.PublicProfile
	Private *vigil.PrivateProfile
}

// LookupUser returns the account with the given id as the caller may see
// it: the owner gets the private view, anyone else signed in only the public
// profile. Looking up others is rate limited per caller (ERATELIMITED).
// ENOTFOUND if there is no such account; EUNAUTHENTICATED without a caller.
func (s *Service) LookupUser(ctx context.Context, id string) (UserView, error) {
	return s.lookup(ctx, id, id, func() (*vigil.Account, error) {
		if !vigil.ValidID(id) {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "user not found")
		}
		return s.store.AccountByID(ctx, id)
	})
}

// LookupUsername is LookupUser by username.
func (s *Service) LookupUsername(ctx context.Context, username string) (UserView, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	return s.lookup(ctx, "", username, func() (*vigil.Account, error) {
		if !usernameRE.MatchString(username) {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "user not found")
		}
		return s.store.AccountByUsername(ctx, username)
	})
}

func (s *Service) lookup(ctx context.Context, id, target string, get func() (*vigil.Account, error)) (UserView, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return UserView{}, vigil.ErrUnauthenticated
	}
	// Looking oneself up by id costs nothing; every other lookup, found or
	// not, spends from the caller's allowance, so walking ids is slow, and
	// is watched by the enumeration detector, which slows a flagged caller
	// down tenfold more.
	caller := "caller:" + a.AccountID
	if id != a.AccountID {
		key, limit := "lookup:"+a.AccountID, s.cfg.LookupLimit
		if s.detect.Tightened(caller) {
			key, limit = "lookup-flagged:"+a.AccountID, tighter(limit)
		}
		if err := s.allow(ctx, key, limit); err != nil {
			s.m.lookups.WithLabelValues("rate_limited").Inc()
			return UserView{}, err
		}
	}
	acct, err := get()
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		s.m.lookups.WithLabelValues("not_found").Inc()
		s.detect.Lookup(caller, target, false)
		return UserView{}, vigil.Errorf(vigil.ENOTFOUND, "user not found")
	} else if err != nil {
		return UserView{}, err
	}
	if acct.ID != a.AccountID {
		s.detect.Lookup(caller, target, true)
	}
	if acct.ID == a.AccountID {
		p := acct.Private()
		s.m.lookups.WithLabelValues("own").Inc()
		return UserView{Private: &p}, nil
	}
	p := acct.Public()
	s.m.lookups.WithLabelValues("public").Inc()
	return UserView{Public: &p}, nil
}

// Me returns the caller's own private view. EUNAUTHENTICATED without a
// caller.
func (s *Service) Me(ctx context.Context) (*vigil.PrivateProfile, error) {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return nil, err
	}
	p := acct.Private()
	return &p, nil
}

// UpdateProfile changes the caller's display name (1 to 64 characters, no
// control characters).
func (s *Service) UpdateProfile(ctx context.Context, displayName string) (*vigil.PrivateProfile, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, vigil.ErrUnauthenticated
	}
	name := strings.TrimSpace(displayName)
	if n := len([]rune(name)); n == 0 || n > 64 || strings.ContainsFunc(name, isControl) {
		return nil, vigil.Errorf(vigil.EINVALID, "display_name must be 1 to 64 characters without control characters")
	}
	if err := s.store.SetDisplayName(ctx, a.AccountID, name); err != nil {
		return nil, err
	}
	return s.Me(ctx)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029
}

// LoginActivity returns the caller's own sign-in attempts, newest first.
func (s *Service) LoginActivity(ctx context.Context, p vigil.Page) ([]*vigil.LoginAttempt, string, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, "", vigil.ErrUnauthenticated
	}
	return s.store.LoginAttempts(ctx, a.AccountID, p)
}
