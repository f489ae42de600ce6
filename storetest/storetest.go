// Package storetest is the conformance suite that every vigil.Store
// implementation must pass. Backends call Run from their own tests with a
// function that opens a fresh, empty, migrated store.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

// Run runs the whole suite. open must return a fresh, empty store each time.
func Run(t *testing.T, open func(t *testing.T) vigil.Store) {
	t.Run("Signups", func(t *testing.T) { testSignups(t, open(t)) })
	t.Run("SignupConflicts", func(t *testing.T) { testSignupConflicts(t, open(t)) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("AccountSessions", func(t *testing.T) { testAccountSessions(t, open(t)) })
	t.Run("LoginAttempts", func(t *testing.T) { testLoginAttempts(t, open(t)) })
	t.Run("ThrottleExactUnderParallelAttempts", func(t *testing.T) { testThrottleParallel(t, open(t)) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open(t)) })
	t.Run("NoticesAndChangePassword", func(t *testing.T) { testNotices(t, open(t)) })
	t.Run("ResetTokens", func(t *testing.T) { testResetTokens(t, open(t)) })
	t.Run("MFA", func(t *testing.T) { testMFA(t, open(t)) })
	t.Run("AlertSettings", func(t *testing.T) { testAlertSettings(t, open(t)) })
	t.Run("EmailChange", func(t *testing.T) { testEmailChange(t, open(t)) })
	t.Run("PhoneChange", func(t *testing.T) { testPhoneChange(t, open(t)) })
	t.Run("OutboxConcurrentClaims", func(t *testing.T) { testOutboxConcurrent(t, open(t)) })
	t.Run("ThrottleBackoff", func(t *testing.T) { testThrottleBackoff(t, open(t)) })
	t.Run("AuditChain", func(t *testing.T) { testAuditChain(t, open(t)) })
	t.Run("AuditConcurrentAppends", func(t *testing.T) { testAuditConcurrent(t, open(t)) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, open(t)) })
	t.Run("SecurityEvents", func(t *testing.T) { testSecurityEvents(t, open(t)) })
	t.Run("Incidents", func(t *testing.T) { testIncidents(t, open(t)) })
}

// base is a fixed clock origin; stores keep microseconds, so tests use whole
// microseconds too.
var base = time.Date(2026, 1, 10, 23, 0, 0, 0, time.UTC)

// MustCreateAccount creates an account through the signup path and returns
// it.
func MustCreateAccount(tb testing.TB, s vigil.Store, username string) *vigil.Account {
	tb.Helper()
	ctx := context.Background()
	su := &vigil.Signup{
		ID: vigil.NewID(), Username: username, Email: username + "@example.com",
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		CodeHash:     vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour),
	}
	if err := s.PutSignup(ctx, su); err != nil {
		tb.Fatal(err)
	}
	a := &vigil.Account{
		ID: vigil.NewID(), Username: username, DisplayName: username, Email: su.Email, EmailVerified: true,
		PasswordHash: su.PasswordHash, CreatedAt: base,
	}
	if err := s.CompleteSignup(ctx, su.ID, a, vigil.Effects{}); err != nil {
		tb.Fatal(err)
	}
	return a
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := vigil.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testSignups(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	code := vigil.NewToken()
	su := &vigil.Signup{ID: vigil.NewID(), Username: "alice", Email: "alice@example.com", Phone: "+15551234567",
		PasswordHash: "$argon2id$first", CodeHash: code.Hash(), NoticeCode: "AB12-CD34", CreatedAt: base, ExpiresAt: base.Add(15 * time.Minute)}
	if err := s.PutSignup(ctx, su); err != nil {
		t.Fatal(err)
	}
	got, err := s.SignupByEmail(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != su.ID || got.Username != "alice" || got.Phone != su.Phone || !got.CodeHash.Equal(code.Hash()) ||
		got.PasswordHash != su.PasswordHash || !got.ExpiresAt.Equal(su.ExpiresAt) || got.Attempts != 0 || got.NoticeCode != "AB12-CD34" {
		t.Fatalf("signup read back differs: %+v", got)
	}
	for want := 1; want <= 3; want++ {
		n, err := s.AddSignupAttempt(ctx, su.ID)
		if err != nil || n != want {
			t.Fatalf("AddSignupAttempt = %d, %v; want %d", n, err, want)
		}
	}
	// A second signup for the same address replaces the first, attempts reset.
	su2 := *su
	su2.ID, su2.Username, su2.PasswordHash = vigil.NewID(), "alice2", "$argon2id$second"
	if err := s.PutSignup(ctx, &su2); err != nil {
		t.Fatal(err)
	}
	got, err = s.SignupByEmail(ctx, "alice@example.com")
	if err != nil || got.ID != su2.ID || got.Username != "alice2" || got.Attempts != 0 {
		t.Fatalf("replaced signup = %+v, %v", got, err)
	}
	_, err = s.AddSignupAttempt(ctx, su.ID)
	wantCode(t, err, vigil.ENOTFOUND)

	_, err = s.SignupByEmail(ctx, "nobody@example.com")
	wantCode(t, err, vigil.ENOTFOUND)

	a := &vigil.Account{ID: vigil.NewID(), Username: "alice2", DisplayName: "alice2", Email: su2.Email,
		EmailVerified: true, PasswordHash: su2.PasswordHash, CreatedAt: base}
	if err := s.CompleteSignup(ctx, su2.ID, a, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.SignupByEmail(ctx, "alice@example.com")
	wantCode(t, err, vigil.ENOTFOUND)
	// A second completion of the same signup finds nothing to complete.
	a2 := *a
	a2.ID = vigil.NewID()
	wantCode(t, s.CompleteSignup(ctx, su2.ID, &a2, vigil.Effects{}), vigil.ENOTFOUND)

	// Expired signups are swept.
	old := &vigil.Signup{ID: vigil.NewID(), Username: "old", Email: "old@example.com", PasswordHash: "x",
		CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	if err := s.PutSignup(ctx, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpiredSignups(ctx, base.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSignups = %d, %v; want 1", n, err)
	}
}

func testSignupConflicts(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	MustCreateAccount(t, s, "bob")
	// Same username, other email: conflict, and the signup stays pending.
	su := &vigil.Signup{ID: vigil.NewID(), Username: "bob", Email: "bob2@example.com", PasswordHash: "x",
		CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutSignup(ctx, su); err != nil {
		t.Fatal(err)
	}
	err := s.CompleteSignup(ctx, su.ID, &vigil.Account{ID: vigil.NewID(), Username: "bob", DisplayName: "bob",
		Email: su.Email, PasswordHash: "x", CreatedAt: base}, vigil.Effects{})
	wantCode(t, err, vigil.ECONFLICT)
	if vigil.ErrorMessage(err) != "username is taken" {
		t.Fatalf("message = %q", vigil.ErrorMessage(err))
	}
	if _, err := s.SignupByEmail(ctx, su.Email); err != nil {
		t.Fatalf("a failed completion must leave the signup in place: %v", err)
	}
	// Same email as an account: conflict.
	su2 := &vigil.Signup{ID: vigil.NewID(), Username: "bobby", Email: "bob@example.com", PasswordHash: "x",
		CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutSignup(ctx, su2); err != nil {
		t.Fatal(err)
	}
	err = s.CompleteSignup(ctx, su2.ID, &vigil.Account{ID: vigil.NewID(), Username: "bobby", DisplayName: "bobby",
		Email: su2.Email, PasswordHash: "x", CreatedAt: base}, vigil.Effects{})
	wantCode(t, err, vigil.ECONFLICT)
}

func testAccounts(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "carol")
	b := MustCreateAccount(t, s, "dave")
	for _, get := range []func() (*vigil.Account, error){
		func() (*vigil.Account, error) { return s.AccountByID(ctx, a.ID) },
		func() (*vigil.Account, error) { return s.AccountByUsername(ctx, "carol") },
		func() (*vigil.Account, error) { return s.AccountByEmail(ctx, "carol@example.com") },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != a.ID || got.Username != "carol" || got.Email != a.Email || !got.EmailVerified ||
			got.PasswordHash != a.PasswordHash || !got.CreatedAt.Equal(base) || !got.LastLoginAt.IsZero() {
			t.Fatalf("account read back differs: %+v", got)
		}
	}
	_, err := s.AccountByID(ctx, vigil.NewID())
	wantCode(t, err, vigil.ENOTFOUND)
	_, err = s.AccountByUsername(ctx, "nobody")
	wantCode(t, err, vigil.ENOTFOUND)
	_, err = s.AccountByEmail(ctx, "nobody@example.com")
	wantCode(t, err, vigil.ENOTFOUND)

	if err := s.SetPasswordHash(ctx, a.ID, "$argon2id$new"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisplayName(ctx, a.ID, "Carol C."); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoles(ctx, a.ID, []string{vigil.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AccountByID(ctx, a.ID)
	if got.PasswordHash != "$argon2id$new" || got.DisplayName != "Carol C." || len(got.Roles) != 1 || got.Roles[0] != vigil.RoleAdmin {
		t.Fatalf("updates not stored: %+v", got)
	}
	// The other account is untouched.
	other, _ := s.AccountByID(ctx, b.ID)
	if other.PasswordHash != b.PasswordHash || other.DisplayName != "dave" || len(other.Roles) != 0 {
		t.Fatalf("update leaked to another account: %+v", other)
	}
	wantCode(t, s.SetPasswordHash(ctx, vigil.NewID(), "x"), vigil.ENOTFOUND)
}

func testSessions(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "erin")
	tok := vigil.NewToken()
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: tok.Hash(), CreatedAt: base.Add(time.Minute),
		LastSeenAt: base.Add(time.Minute), ExpiresAt: base.Add(24 * time.Hour), IP: "192.0.2.1",
		UserAgent: "curl/8", DeviceLabel: "curl"}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByTokenHash(ctx, tok.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sess.ID || got.AccountID != a.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) || !got.RevokedAt.IsZero() ||
		got.IP != "192.0.2.1" || got.UserAgent != "curl/8" || got.DeviceLabel != "curl" {
		t.Fatalf("session read back differs: %+v", got)
	}
	acc, _ := s.AccountByID(ctx, a.ID)
	if !acc.LastLoginAt.Equal(sess.CreatedAt) {
		t.Fatalf("last login = %v, want %v", acc.LastLoginAt, sess.CreatedAt)
	}
	_, err = s.SessionByTokenHash(ctx, vigil.NewToken().Hash())
	wantCode(t, err, vigil.ENOTFOUND)

	// Touch moves last-seen forward, never back.
	if err := s.TouchSession(ctx, sess.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, sess.ID, base.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SessionByTokenHash(ctx, tok.Hash())
	if !got.LastSeenAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("last seen = %v", got.LastSeenAt)
	}
	if err := s.RevokeSession(ctx, sess.ID, base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, sess.ID, base.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SessionByTokenHash(ctx, tok.Hash())
	if !got.RevokedAt.Equal(base.Add(2 * time.Hour)) {
		t.Fatalf("revoked at = %v, want the first revocation's time", got.RevokedAt)
	}
	// A session for a missing account is refused.
	bad := *sess
	bad.ID, bad.AccountID, bad.TokenHash = vigil.NewID(), vigil.NewID(), vigil.NewToken().Hash()
	if err := s.CreateSession(ctx, &bad); err == nil {
		t.Fatal("session for a missing account was stored")
	}
	if _, err := s.SessionByTokenHash(ctx, bad.TokenHash); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("failed CreateSession left a row behind: %v", err)
	}
}

func testLoginAttempts(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "frank")
	b := MustCreateAccount(t, s, "grace")
	var ids []string
	for i := 0; i < 25; i++ {
		at := &vigil.LoginAttempt{ID: vigil.NewID(), AccountID: a.ID, At: base.Add(time.Duration(i/2) * time.Second),
			Result: vigil.LoginFailed, IP: "192.0.2.7", UserAgent: "ua", DeviceLabel: "dev"}
		if err := s.AddLoginAttempt(ctx, at); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, at.ID)
		if err := s.AddLoginAttempt(ctx, &vigil.LoginAttempt{ID: vigil.NewID(), AccountID: b.ID, At: base, Result: vigil.LoginSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	cursor := ""
	var prev *vigil.LoginAttempt
	pages := 0
	for {
		page, next, err := s.LoginAttempts(ctx, a.ID, vigil.Page{Cursor: cursor, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, at := range page {
			if at.AccountID != a.ID || at.Result != vigil.LoginFailed {
				t.Fatalf("foreign or wrong attempt in listing: %+v", at)
			}
			if seen[at.ID] {
				t.Fatalf("attempt %s listed twice", at.ID)
			}
			seen[at.ID] = true
			if prev != nil && (at.At.After(prev.At) || at.At.Equal(prev.At) && at.ID > prev.ID) {
				t.Fatal("listing not newest first")
			}
			prev = at
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(ids) || pages != 3 {
		t.Fatalf("listed %d attempts in %d pages, want %d in 3", len(seen), pages, len(ids))
	}
	_, _, err := s.LoginAttempts(ctx, a.ID, vigil.Page{Cursor: "not-a-cursor"})
	wantCode(t, err, vigil.EINVALID)
}

func testThrottleParallel(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	rule := vigil.ThrottleRule{Free: 5, Base: time.Second, Max: time.Minute, Window: time.Hour}
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, _, err := s.Throttle(ctx, "acct:x", rule, base)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	st, err := s.ThrottleState(ctx, "acct:x")
	if err != nil {
		t.Fatal(err)
	}
	if st.Failures != n {
		t.Fatalf("counted %d attempts, want %d", st.Failures, n)
	}
	if allowed != rule.Free {
		t.Fatalf("%d attempts went ahead at one instant, want exactly %d", allowed, rule.Free)
	}
	for i := 0; i < 3; i++ {
		if err := s.RefundThrottle(ctx, "acct:x"); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.ThrottleState(ctx, "acct:x"); st.Failures != n-3 {
		t.Fatalf("after 3 refunds: %d failures, want %d", st.Failures, n-3)
	}
	if err := s.RefundThrottle(ctx, "never-seen"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetThrottle(ctx, "acct:x"); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.ThrottleState(ctx, "acct:x"); st.Failures != 0 {
		t.Fatalf("reset left %d failures", st.Failures)
	}
}

func testThrottleBackoff(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	rule := vigil.ThrottleRule{Free: 3, Base: time.Second, Max: 8 * time.Second, Window: time.Hour}
	now := base
	for i := 0; i < 2; i++ {
		if ok, _, _ := s.Throttle(ctx, "k", rule, now); !ok {
			t.Fatalf("attempt %d refused within the free allowance", i+1)
		}
	}
	// The third is allowed but sets a 1 s block; the next waits for it.
	if ok, _, _ := s.Throttle(ctx, "k", rule, now); !ok {
		t.Fatal("third attempt refused")
	}
	ok, wait, err := s.Throttle(ctx, "k", rule, now.Add(500*time.Millisecond))
	if err != nil || ok || wait != 500*time.Millisecond {
		t.Fatalf("blocked attempt = %v, %v, %v; want refused with 500ms to wait", ok, wait, err)
	}
	// The block doubles per failure and stops at Max: never a permanent lockout.
	now = now.Add(time.Hour - time.Second)
	var lastWait time.Duration
	for i := 0; i < 20; i++ {
		now = now.Add(9 * time.Second)
		ok, _, err := s.Throttle(ctx, "k", rule, now)
		if err != nil || !ok {
			t.Fatalf("attempt after the longest block refused: %v %v", ok, err)
		}
		_, lastWait, _ = s.Throttle(ctx, "k", rule, now)
	}
	if lastWait != rule.Max {
		t.Fatalf("block = %v, want capped at %v", lastWait, rule.Max)
	}
	// After a quiet Window the count starts over.
	now = now.Add(2 * time.Hour)
	if ok, _, _ := s.Throttle(ctx, "k", rule, now); !ok {
		t.Fatal("attempt after a quiet window refused")
	}
	if st, _ := s.ThrottleState(ctx, "k"); st.Failures != 1 {
		t.Fatalf("failures after a quiet window = %d, want 1", st.Failures)
	}
}

func testAccountSessions(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "hank")
	b := MustCreateAccount(t, s, "ivy")
	mk := func(acct string, created time.Time, life time.Duration) *vigil.Session {
		sess := &vigil.Session{ID: vigil.NewID(), AccountID: acct, TokenHash: vigil.NewToken().Hash(), CreatedAt: created,
			LastSeenAt: created, ExpiresAt: created.Add(life), ReauthAt: created}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	s1 := mk(a.ID, base, 24*time.Hour)
	s2 := mk(a.ID, base.Add(time.Minute), 24*time.Hour)
	s3 := mk(a.ID, base.Add(2*time.Minute), 24*time.Hour)
	mk(a.ID, base.Add(-48*time.Hour), 24*time.Hour) // expired
	other := mk(b.ID, base, 24*time.Hour)
	got, err := s.SessionsByAccount(ctx, a.ID, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != s3.ID || got[2].ID != s1.ID || !got[0].ReauthAt.Equal(s3.ReauthAt) {
		t.Fatalf("sessions = %d, want s3, s2, s1 (no expired, no other account's)", len(got))
	}
	if err := s.SetSessionReauth(ctx, s2.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.SessionByTokenHash(ctx, s2.TokenHash); !r.ReauthAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("reauth at = %v", r.ReauthAt)
	}
	n, err := s.RevokeAccountSessions(ctx, a.ID, s2.ID, base.Add(2*time.Hour), vigil.Effects{})
	if err != nil || n != 3 { // s1, s3 and the expired one
		t.Fatalf("revoked %d (%v), want 3", n, err)
	}
	for _, x := range []*vigil.Session{s1, s3} {
		if r, _ := s.SessionByTokenHash(ctx, x.TokenHash); r.RevokedAt.IsZero() {
			t.Fatal("a session survived revoke-all")
		}
	}
	if r, _ := s.SessionByTokenHash(ctx, s2.TokenHash); !r.RevokedAt.IsZero() {
		t.Fatal("the excepted session was revoked")
	}
	if r, _ := s.SessionByTokenHash(ctx, other.TokenHash); !r.RevokedAt.IsZero() {
		t.Fatal("another account's session was revoked")
	}
	if n, _ := s.RevokeAccountSessions(ctx, a.ID, "", base.Add(3*time.Hour), vigil.Effects{}); n != 1 {
		t.Fatalf("second revoke-all revoked %d, want the one left", n)
	}
	// Devices signed in from.
	if d, any, err := s.HasSignedInFrom(ctx, a.ID, "Firefox on Linux", "192.0.2.1"); err != nil || d || any {
		t.Fatalf("HasSignedInFrom before any sign-in = %v %v %v", d, any, err)
	}
	for _, at := range []*vigil.LoginAttempt{
		{ID: vigil.NewID(), AccountID: a.ID, At: base, Result: vigil.LoginFailed, IP: "192.0.2.9", DeviceLabel: "curl"},
		{ID: vigil.NewID(), AccountID: a.ID, At: base, Result: vigil.LoginSuccess, IP: "192.0.2.1", DeviceLabel: "Firefox on Linux"},
	} {
		if err := s.AddLoginAttempt(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		label, ip string
		device    bool
	}{{"Firefox on Linux", "192.0.2.1", true}, {"Firefox on Linux", "192.0.2.2", false}, {"curl", "192.0.2.9", false}} {
		if d, any, err := s.HasSignedInFrom(ctx, a.ID, c.label, c.ip); err != nil || d != c.device || !any {
			t.Fatalf("HasSignedInFrom(%s, %s) = %v %v %v", c.label, c.ip, d, any, err)
		}
	}
}

func testOutbox(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		it := &vigil.OutboxItem{ID: vigil.NewID(), Channel: vigil.ChannelMail, AccountID: "acct", Payload: []byte{byte(i), 0xff},
			NextAttemptAt: base.Add(time.Duration(i) * time.Second), CreatedAt: base}
		if err := s.EnqueueOutbox(ctx, it); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	// Only what is due.
	got, err := s.ClaimOutbox(ctx, base.Add(time.Second), time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] {
		t.Fatalf("claim = %d items (%v), want the first two in order", len(got), err)
	}
	if got[0].Attempts != 1 || got[0].Payload[0] != 0 || got[0].Payload[1] != 0xff || got[0].Channel != vigil.ChannelMail {
		t.Fatalf("claimed item = %+v", got[0])
	}
	// Leased: not claimed again until the lease runs out.
	if again, _ := s.ClaimOutbox(ctx, base.Add(2*time.Second), time.Minute, 10); len(again) != 1 || again[0].ID != ids[2] {
		t.Fatalf("second claim = %d items, want only the third", len(again))
	}
	if err := s.CompleteOutbox(ctx, ids[0], base.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.FailOutbox(ctx, ids[1], base.Add(2*time.Hour), "smtp: 451 try later", false); err != nil {
		t.Fatal(err)
	}
	if err := s.FailOutbox(ctx, ids[2], base.Add(time.Hour), "gave up", true); err != nil {
		t.Fatal(err)
	}
	// After every lease: the delivered and the dead never come back; the
	// failed one comes back when it is due, with its attempts counted.
	if got, _ := s.ClaimOutbox(ctx, base.Add(90*time.Minute), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed %d items before any is due", len(got))
	}
	got, _ = s.ClaimOutbox(ctx, base.Add(3*time.Hour), time.Minute, 10)
	if len(got) != 1 || got[0].ID != ids[1] || got[0].Attempts != 2 || got[0].LastError != "smtp: 451 try later" {
		t.Fatalf("retry claim = %+v", got)
	}
	done, err := s.OutboxItemByID(ctx, ids[0])
	if err != nil || done.DeliveredAt.IsZero() {
		t.Fatalf("delivered item = %+v, %v", done, err)
	}
	// A failure reported after delivery does not undo it.
	if err := s.FailOutbox(ctx, ids[0], base, "late", true); err != nil {
		t.Fatal(err)
	}
	if done, _ := s.OutboxItemByID(ctx, ids[0]); done.Dead || done.DeliveredAt.IsZero() {
		t.Fatal("a late failure undid a delivery")
	}
	_, err = s.OutboxItemByID(ctx, vigil.NewID())
	wantCode(t, err, vigil.ENOTFOUND)

	// Retention: delivered and dead items go once old; pending ones stay.
	n, err := s.PurgeOutbox(ctx, base.Add(24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("purged %d (%v), want the delivered and the dead item", n, err)
	}
	if _, err := s.OutboxItemByID(ctx, ids[1]); err != nil {
		t.Fatalf("a pending item was purged: %v", err)
	}
}

func testOutboxConcurrent(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	const n = 40
	for i := 0; i < n; i++ {
		if err := s.EnqueueOutbox(ctx, &vigil.OutboxItem{ID: vigil.NewID(), Channel: vigil.ChannelWebhook, Payload: []byte("x"),
			NextAttemptAt: base, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimOutbox(ctx, base, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, it := range got {
					seen[it.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d items claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("item %s claimed %d times within one lease", id, c)
		}
	}
}

func testNotices(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "jane")
	b := MustCreateAccount(t, s, "kim")
	keep := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	other := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	bs := &vigil.Session{ID: vigil.NewID(), AccountID: b.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	for _, x := range []*vigil.Session{keep, other, bs} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	notice := func(acct string, at time.Time) *vigil.Notice {
		return &vigil.Notice{ID: vigil.NewID(), AccountID: acct, Kind: vigil.NoticePasswordChanged, Code: "ABCD-2345", Title: "t", Text: "x", CreatedAt: at}
	}
	outItem := &vigil.OutboxItem{ID: vigil.NewID(), Channel: vigil.ChannelMail, AccountID: a.ID, Payload: []byte("{}"), NextAttemptAt: base, CreatedAt: base}
	fx := vigil.Effects{Notices: []*vigil.Notice{notice(a.ID, base.Add(time.Second))}, Outbox: []*vigil.OutboxItem{outItem}}
	if err := s.ChangePassword(ctx, a.ID, "$argon2id$changed", keep.ID, base.Add(time.Second), fx); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.AccountByID(ctx, a.ID); acct.PasswordHash != "$argon2id$changed" {
		t.Fatal("hash not changed")
	}
	for _, c := range []struct {
		sess    *vigil.Session
		revoked bool
	}{{keep, false}, {other, true}, {bs, false}} {
		if got, _ := s.SessionByTokenHash(ctx, c.sess.TokenHash); got.RevokedAt.IsZero() == c.revoked {
			t.Fatalf("session %s revoked=%v, want %v", c.sess.ID, !got.RevokedAt.IsZero(), c.revoked)
		}
	}
	if _, err := s.OutboxItemByID(ctx, outItem.ID); err != nil {
		t.Fatalf("outbox item not written with the change: %v", err)
	}
	// All or nothing: a change whose effects cannot be written changes
	// nothing (the outbox id is taken).
	bad := vigil.Effects{Notices: []*vigil.Notice{notice(a.ID, base.Add(2*time.Second))}, Outbox: []*vigil.OutboxItem{outItem}}
	if err := s.ChangePassword(ctx, a.ID, "$argon2id$second", "", base.Add(2*time.Second), bad); err == nil {
		t.Fatal("a change with unwritable effects succeeded")
	}
	if acct, _ := s.AccountByID(ctx, a.ID); acct.PasswordHash != "$argon2id$changed" {
		t.Fatal("a failed change left its hash behind")
	}
	if got, _ := s.SessionByTokenHash(ctx, keep.TokenHash); !got.RevokedAt.IsZero() {
		t.Fatal("a failed change revoked sessions")
	}
	// Listing: newest first, paged, only the owner's.
	for i := 3; i < 8; i++ {
		if err := s.AddEffects(ctx, vigil.Effects{Notices: []*vigil.Notice{notice(a.ID, base.Add(time.Duration(i)*time.Second))}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEffects(ctx, vigil.Effects{Notices: []*vigil.Notice{notice(b.ID, base)}}); err != nil {
		t.Fatal(err)
	}
	var all []*vigil.Notice
	cursor := ""
	for {
		page, next, err := s.Notices(ctx, a.ID, vigil.Page{Cursor: cursor, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 6 || !all[0].CreatedAt.Equal(base.Add(7*time.Second)) || all[5].Code != "ABCD-2345" {
		t.Fatalf("listed %d notices, want 6 newest first", len(all))
	}
	for _, n := range all {
		if n.AccountID != a.ID {
			t.Fatal("another account's notice listed")
		}
	}
}

func testResetTokens(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "lena")
	mk := func(at time.Time) (*vigil.ResetToken, vigil.Token) {
		tok := vigil.NewToken()
		rt := &vigil.ResetToken{ID: vigil.NewID(), AccountID: a.ID, TokenHash: tok.Hash(), CreatedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
		if err := s.CreateResetToken(ctx, rt, vigil.Effects{}); err != nil {
			t.Fatal(err)
		}
		return rt, tok
	}
	first, firstTok := mk(base)
	second, secondTok := mk(base.Add(time.Minute))
	got, err := s.ResetTokenByHash(ctx, firstTok.Hash())
	if err != nil || got.ID != first.ID || got.VoidedAt.IsZero() {
		t.Fatalf("first token = %+v (%v), want voided by the newer one", got, err)
	}
	if n, _ := s.CountResetTokens(ctx, a.ID, base); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	if n, _ := s.CountResetTokens(ctx, a.ID, base.Add(30*time.Second)); n != 1 {
		t.Fatalf("count since 30s = %d, want 1", n)
	}
	// The voided token cannot complete a reset; the live one can, once.
	if err := s.CompleteReset(ctx, first.ID, a.ID, "$argon2id$x", base.Add(2*time.Minute), vigil.Effects{}); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("voided token completed a reset: %v", err)
	}
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteReset(ctx, second.ID, a.ID, "$argon2id$reset", base.Add(2*time.Minute), vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteReset(ctx, second.ID, a.ID, "$argon2id$again", base.Add(3*time.Minute), vigil.Effects{}); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("a used token completed a second reset: %v", err)
	}
	acct, _ := s.AccountByID(ctx, a.ID)
	if acct.PasswordHash != "$argon2id$reset" {
		t.Fatal("password not reset")
	}
	if got, _ := s.SessionByTokenHash(ctx, sess.TokenHash); got.RevokedAt.IsZero() {
		t.Fatal("a reset left a session alive")
	}
	if got, _ := s.ResetTokenByHash(ctx, secondTok.Hash()); got.UsedAt.IsZero() {
		t.Fatal("token not marked used")
	}
	// A password change voids outstanding tokens.
	third, thirdTok := mk(base.Add(4 * time.Minute))
	if err := s.ChangePassword(ctx, a.ID, "$argon2id$changed", "", base.Add(5*time.Minute), vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ResetTokenByHash(ctx, thirdTok.Hash()); got.VoidedAt.IsZero() {
		t.Fatal("a password change left a reset token valid")
	}
	if err := s.CompleteReset(ctx, third.ID, a.ID, "$argon2id$late", base.Add(6*time.Minute), vigil.Effects{}); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatal("a token voided by a password change completed a reset")
	}
	_, err = s.ResetTokenByHash(ctx, vigil.NewToken().Hash())
	wantCode(t, err, vigil.ENOTFOUND)
}

func testMFA(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "mona")
	_, err := s.TOTPByAccount(ctx, a.ID)
	wantCode(t, err, vigil.ENOTFOUND)
	wantCode(t, s.EnableTOTP(ctx, a.ID, 1, nil, base, vigil.Effects{}), vigil.ENOTFOUND)
	for _, secret := range []string{"first", "second"} { // a new enrolment replaces a pending one
		if err := s.PutTOTP(ctx, &vigil.TOTP{AccountID: a.ID, Sealed: []byte(secret), CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.TOTPByAccount(ctx, a.ID)
	if err != nil || string(got.Sealed) != "second" || !got.ConfirmedAt.IsZero() {
		t.Fatalf("enrolment = %+v, %v", got, err)
	}
	if ok, _ := s.UseTOTPStep(ctx, a.ID, 5); ok {
		t.Fatal("a step was accepted before 2FA was on")
	}
	c1, c2 := vigil.NewToken().Hash(), vigil.NewToken().Hash()
	if err := s.EnableTOTP(ctx, a.ID, 100, []vigil.TokenHash{c1, c2}, base, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.AccountByID(ctx, a.ID); !acct.MFAEnabled {
		t.Fatal("2FA flag not set")
	}
	wantCode(t, s.PutTOTP(ctx, &vigil.TOTP{AccountID: a.ID, Sealed: []byte("x"), CreatedAt: base}), vigil.ECONFLICT)
	for _, c := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}} {
		if ok, err := s.UseTOTPStep(ctx, a.ID, c.step); err != nil || ok != c.ok {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", c.step, ok, err, c.ok)
		}
	}
	if ok, _ := s.UseRecoveryCode(ctx, a.ID, c1, base); !ok {
		t.Fatal("recovery code refused")
	}
	if ok, _ := s.UseRecoveryCode(ctx, a.ID, c1, base); ok {
		t.Fatal("recovery code accepted twice")
	}
	if ok, _ := s.UseRecoveryCode(ctx, a.ID, vigil.NewToken().Hash(), base); ok {
		t.Fatal("unknown recovery code accepted")
	}
	// Challenges.
	tok := vigil.NewToken()
	ch := &vigil.MFAChallenge{ID: vigil.NewID(), AccountID: a.ID, TokenHash: tok.Hash(), CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute), IP: "192.0.2.1"}
	if err := s.CreateMFAChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.AddMFAChallengeAttempt(ctx, ch.ID); n != 1 {
		t.Fatalf("attempts = %d", n)
	}
	gc, err := s.MFAChallengeByHash(ctx, tok.Hash())
	if err != nil || gc.ID != ch.ID || gc.Attempts != 1 || gc.IP != "192.0.2.1" || !gc.UsedAt.IsZero() {
		t.Fatalf("challenge = %+v, %v", gc, err)
	}
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base.Add(time.Minute),
		LastSeenAt: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}
	if err := s.CompleteMFAChallenge(ctx, ch.ID, sess); err != nil {
		t.Fatal(err)
	}
	sess2 := *sess
	sess2.ID, sess2.TokenHash = vigil.NewID(), vigil.NewToken().Hash()
	wantCode(t, s.CompleteMFAChallenge(ctx, ch.ID, &sess2), vigil.EINVALID)
	if _, err := s.SessionByTokenHash(ctx, sess2.TokenHash); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatal("a refused completion created a session")
	}
	if err := s.DisableTOTP(ctx, a.ID, base, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.AccountByID(ctx, a.ID); acct.MFAEnabled {
		t.Fatal("2FA still on")
	}
	if ok, _ := s.UseRecoveryCode(ctx, a.ID, c2, base); ok {
		t.Fatal("a recovery code outlived 2FA")
	}
}

func testAlertSettings(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "nina")
	_, err := s.AlertSettings(ctx, a.ID)
	wantCode(t, err, vigil.ENOTFOUND)
	in := &vigil.AlertSettings{AccountID: a.ID, Channels: map[string][]string{vigil.NoticePasswordChanged: {"mail", "webhook"}},
		WebhookURL: "https://hooks.example.com/x", WebhookFormat: "slack", WebhookSecret: []byte{1, 2, 3}, UpdatedAt: base}
	for i := 0; i < 2; i++ { // insert, then update in place
		if err := s.PutAlertSettings(ctx, in); err != nil {
			t.Fatal(err)
		}
		in.WebhookFormat = "json"
	}
	got, err := s.AlertSettings(ctx, a.ID)
	if err != nil || got.WebhookURL != in.WebhookURL || got.WebhookFormat != "json" ||
		len(got.Channels[vigil.NoticePasswordChanged]) != 2 || len(got.WebhookSecret) != 3 || !got.UpdatedAt.Equal(base) {
		t.Fatalf("settings = %+v, %v", got, err)
	}
}

func testEmailChange(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "olga")
	MustCreateAccount(t, s, "pia")
	_, err := s.EmailChangeByAccount(ctx, a.ID)
	wantCode(t, err, vigil.ENOTFOUND)
	c := &vigil.EmailChange{ID: vigil.NewID(), AccountID: a.ID, NewEmail: "pia@example.com", CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutEmailChange(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.AddEmailChangeAttempt(ctx, c.ID); n != 1 {
		t.Fatalf("attempts = %d", n)
	}
	undo := &vigil.EmailUndo{ID: vigil.NewID(), OldEmail: a.Email, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour)}
	// Taken address: conflict, nothing changes.
	wantCode(t, s.CompleteEmailChange(ctx, c.ID, undo, base, vigil.Effects{}), vigil.ECONFLICT)
	if got, _ := s.EmailChangeByAccount(ctx, a.ID); got == nil || got.Attempts != 1 {
		t.Fatal("a failed completion removed the pending change")
	}
	// A new change replaces it, attempts reset.
	c2 := &vigil.EmailChange{ID: vigil.NewID(), AccountID: a.ID, NewEmail: "olga.new@example.com", CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutEmailChange(ctx, c2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.EmailChangeByAccount(ctx, a.ID); got.ID != c2.ID || got.Attempts != 0 || got.NewEmail != c2.NewEmail {
		t.Fatalf("pending = %+v", got)
	}
	if err := s.CompleteEmailChange(ctx, c2.ID, undo, base, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccountByEmail(ctx, "olga.new@example.com"); got == nil || got.ID != a.ID {
		t.Fatal("address not moved")
	}
	wantCode(t, s.CompleteEmailChange(ctx, c2.ID, undo, base, vigil.Effects{}), vigil.ENOTFOUND)
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	u, err := s.EmailUndoByHash(ctx, undo.TokenHash)
	if err != nil || u.AccountID != a.ID || u.OldEmail != a.Email {
		t.Fatalf("undo = %+v, %v", u, err)
	}
	if err := s.UndoEmailChange(ctx, u.ID, base.Add(time.Hour), vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccountByEmail(ctx, a.Email); got == nil || got.ID != a.ID {
		t.Fatal("address not moved back")
	}
	if got, _ := s.SessionByTokenHash(ctx, sess.TokenHash); got.RevokedAt.IsZero() {
		t.Fatal("undo left a session alive")
	}
	wantCode(t, s.UndoEmailChange(ctx, u.ID, base.Add(2*time.Hour), vigil.Effects{}), vigil.EINVALID)
}

func testPhoneChange(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "quinn")
	_, err := s.PhoneChangeByAccount(ctx, a.ID)
	wantCode(t, err, vigil.ENOTFOUND)
	c := &vigil.PhoneChange{ID: vigil.NewID(), AccountID: a.ID, NewPhone: "+15551230000", CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutPhoneChange(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.AddPhoneChangeAttempt(ctx, c.ID); n != 1 {
		t.Fatalf("attempts = %d", n)
	}
	got, err := s.PhoneChangeByAccount(ctx, a.ID)
	if err != nil || got.NewPhone != c.NewPhone || got.Attempts != 1 || !got.CodeHash.Equal(c.CodeHash) {
		t.Fatalf("pending = %+v, %v", got, err)
	}
	if err := s.CompletePhoneChange(ctx, c.ID, nil, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.AccountByID(ctx, a.ID); acct.Phone != c.NewPhone || !acct.PhoneVerified {
		t.Fatalf("account phone = %q verified=%v", acct.Phone, acct.PhoneVerified)
	}
	wantCode(t, s.CompletePhoneChange(ctx, c.ID, nil, vigil.Effects{}), vigil.ENOTFOUND)
	// A second change with an undo for the first number, then the undo.
	c2 := &vigil.PhoneChange{ID: vigil.NewID(), AccountID: a.ID, NewPhone: "+15551239999", CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutPhoneChange(ctx, c2); err != nil {
		t.Fatal(err)
	}
	undo := &vigil.EmailUndo{ID: vigil.NewID(), OldEmail: c.NewPhone, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CompletePhoneChange(ctx, c2.ID, undo, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	u, err := s.EmailUndoByHash(ctx, undo.TokenHash)
	if err != nil || u.Kind != "phone" || u.OldEmail != c.NewPhone {
		t.Fatalf("undo = %+v, %v", u, err)
	}
	if err := s.UndoEmailChange(ctx, u.ID, base, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	if acct, _ := s.AccountByID(ctx, a.ID); acct.Phone != c.NewPhone || !acct.PhoneVerified || acct.Email != a.Email {
		t.Fatalf("after undo: phone %q, email %q", acct.Phone, acct.Email)
	}
}
