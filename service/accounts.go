package service

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
	vmail "github.com/vigil-dev/vigil/mail"
)

// Registration is a sign-up request.
type Registration struct {
	Username string
	Email    string
	Password vigil.Password
	Phone    string
}

var (
	usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{2,31}$`)
	phoneRE    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// NormalizeUsername lower-cases a username and checks its shape: 3 to 32
// characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit.
func NormalizeUsername(u string) (string, error) {
	u = strings.ToLower(strings.TrimSpace(u))
	if !usernameRE.MatchString(u) {
		return "", vigil.Errorf(vigil.EINVALID, "username must be 3 to 32 characters: letters, digits, '_', '.', '-', starting with a letter or digit")
	}
	return u, nil
}

// NormalizeEmail checks that e is one plain address (no display name) of at
// most 254 bytes and returns it lower-cased.
func NormalizeEmail(e string) (string, error) {
	e = strings.TrimSpace(e)
	bad := vigil.Errorf(vigil.EINVALID, "email must be a plain address like name@example.com")
	if e == "" || len(e) > 254 || !utf8.ValidString(e) {
		return "", bad
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Name != "" || a.Address != e {
		return "", bad
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(e, " \t\r\n<>") {
		return "", bad
	}
	return strings.ToLower(e), nil
}

// NormalizePhone checks that p is empty or an E.164 number (+ and 7 to 15
// digits).
func NormalizePhone(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return "", nil
	}
	if !phoneRE.MatchString(p) {
		return "", vigil.Errorf(vigil.EINVALID, "phone must be in E.164 form, like +15551234567")
	}
	return p, nil
}

// Register starts a sign-up. It answers the same way whether or not the
// address is already registered, so nobody can learn who has an account:
// a new address gets a verification code, the owner of a registered one a
// notice that someone tried to sign up with it. A taken username is
// ECONFLICT (usernames are public). Invalid input is EINVALID; too many
// sign-ups from one source is ERATELIMITED. Anyone may call it.
func (s *Service) Register(ctx context.Context, r Registration) error {
	username, err := NormalizeUsername(r.Username)
	if err != nil {
		return err
	}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return err
	}
	phone, err := NormalizePhone(r.Phone)
	if err != nil {
		return err
	}
	local, _, _ := strings.Cut(email, "@")
	pw, err := s.cfg.PasswordPolicy.Check(r.Password, username, local)
	if err != nil {
		return err
	}
	client := vigil.ClientFromContext(ctx)
	if err := s.allow(ctx, "signup:"+sourceKey(client.IP), s.cfg.SignupLimit); err != nil {
		return err
	}
	if _, err := s.store.AccountByUsername(ctx, username); err == nil {
		s.m.signups.WithLabelValues("username_taken").Inc()
		return vigil.Errorf(vigil.ECONFLICT, "username is taken")
	} else if vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return err
	}
	// Hash before knowing whether the address is taken, so both paths cost
	// the same.
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	now := s.now()
	existing, err := s.store.AccountByEmail(ctx, email)
	switch {
	case err == nil:
		s.m.signups.WithLabelValues("accepted").Inc() // same label as a new address: metrics are public
		return s.sendNoticeMail(ctx, "signupmail:"+email, existing, email, vigil.NoticeSignupAttempt, "Someone tried to sign up with your address",
			fmt.Sprintf("Someone tried to create a new account at %s with this email address, "+
				"which already belongs to your account. No new account was created and nothing changed on yours. "+
				"If it was you, sign in instead; if you forgot your password, use \"Forgot password\" in the app.", s.cfg.PublicURL))
	case vigil.ErrorCode(err) != vigil.ENOTFOUND:
		return err
	}
	code := newCode()
	su := &vigil.Signup{
		ID: vigil.NewID(), Username: username, Email: email, Phone: phone, PasswordHash: hash,
		NoticeCode: newNoticeCode(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SignupCodeTTL),
	}
	su.CodeHash = signupCodeHash(su.ID, code)
	if err := s.store.PutSignup(ctx, su); err != nil {
		return err
	}
	s.m.signups.WithLabelValues("accepted").Inc()
	return s.sendMail(ctx, "signupmail:"+email, &vmail.Message{
		To:      email,
		Subject: "Your vigil verification code",
		Text: fmt.Sprintf("Hello %s,\n\nYour verification code is: %s\n\nEnter it in the app to finish creating your account. "+
			"It expires in %d minutes.\n\nIf you did not sign up at %s, ignore this mail: without the code no account is created.\n\n"+
			"Notice code: %s\nOnce your account exists, you find this notice, with the same code, in the app under security notices.\n\n"+
			"This mail never asks for your password.\n", username, code, int(s.cfg.SignupCodeTTL.Minutes()), s.cfg.PublicURL, su.NoticeCode),
		Headers: map[string]string{"X-Vigil-Notice-Code": su.NoticeCode},
	})
}

// sendNoticeMail records a notice for acct and mails it to addr with its
// code, unless the address's mail limit is spent (then neither happens,
// and it is not an error). The mail is sent at once, not through the
// outbox, so this path costs what the other answers of the same request
// cost.
func (s *Service) sendNoticeMail(ctx context.Context, limitKey string, acct *vigil.Account, addr, kind, title, body string) error {
	return s.sendNoticeMailWith(ctx, limitKey, acct, addr, kind, title, body, body)
}

// sendNoticeMailWith is sendNoticeMail whose mail says mailBody while the
// stored notice says body: a mail may carry a code that no notice (which
// the API lists) may hold.
func (s *Service) sendNoticeMailWith(ctx context.Context, limitKey string, acct *vigil.Account, addr, kind, title, body, mailBody string) error {
	n := &vigil.Notice{ID: vigil.NewID(), AccountID: acct.ID, Kind: kind, Code: newNoticeCode(), Title: title, Text: body, CreatedAt: s.now()}
	return s.sendMailThen(ctx, limitKey, &vmail.Message{To: addr, Subject: title,
		Headers: map[string]string{"X-Vigil-Notice-Code": n.Code},
		Text: fmt.Sprintf("Hello %s,\n\n%s\n\nNotice code: %s\nYou find this notice, with the same code, in the app under security notices.\n\n"+
			"This mail never asks for your password.\n", acct.Username, mailBody, n.Code)},
		func() error { return s.store.AddEffects(ctx, vigil.Effects{Notices: []*vigil.Notice{n}}) })
}

// sendMail sends m unless the address's mail limit is spent; a spent limit
// sends nothing and is not an error, so the caller's answer stays the same.
func (s *Service) sendMail(ctx context.Context, limitKey string, m *vmail.Message) error {
	return s.sendMailThen(ctx, limitKey, m, nil)
}

// sendMailThen is sendMail that first runs before (if not nil) once the
// limit allows the mail.
func (s *Service) sendMailThen(ctx context.Context, limitKey string, m *vmail.Message, before func() error) error {
	res, err := s.limiter.Allow(ctx, limitKey, s.cfg.SignupMailLimit)
	if err != nil {
		return vigil.Internal(err)
	}
	if !res.Allowed {
		s.m.rateLimited.WithLabelValues("signupmail").Inc()
		s.log.InfoContext(ctx, "mail suppressed by limit", "kind", limitName(limitKey))
		return nil
	}
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	m.ID = vigil.NewID()
	m.From = s.cfg.MailFrom
	m.Date = s.now()
	if err := s.mail.Send(ctx, m); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "mail could not be sent; try again later", Err: err}
	}
	return nil
}

// ErrBadCode is the one answer to a wrong, expired, used-up or unknown
// verification code.
var ErrBadCode = vigil.Errorf(vigil.EINVALID, "invalid or expired verification code")

// Verify completes a sign-up with the code mailed to its address and
// returns the new account. A wrong, expired or unknown code is ErrBadCode;
// after SignupMaxAttempts wrong codes the sign-up is void. A username taken
// in the meantime is ECONFLICT. Anyone may call it.
func (s *Service) Verify(ctx context.Context, email, code string) (*vigil.Account, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	code = strings.TrimSpace(code)
	if len(code) != codeDigits {
		return nil, ErrBadCode
	}
	client := vigil.ClientFromContext(ctx)
	if err := s.allow(ctx, "verify:"+sourceKey(client.IP), s.cfg.VerifyLimit); err != nil {
		return nil, err
	}
	su, err := s.store.SignupByEmail(ctx, email)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		s.m.signups.WithLabelValues("bad_code").Inc()
		return nil, ErrBadCode
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(su.ExpiresAt) || su.Attempts >= s.cfg.SignupMaxAttempts {
		s.m.signups.WithLabelValues("bad_code").Inc()
		return nil, ErrBadCode
	}
	if !su.CodeHash.Equal(signupCodeHash(su.ID, code)) {
		if _, err := s.store.AddSignupAttempt(ctx, su.ID); err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
			return nil, err
		}
		s.m.signups.WithLabelValues("bad_code").Inc()
		return nil, ErrBadCode
	}
	a := &vigil.Account{
		ID: vigil.NewID(), Username: su.Username, DisplayName: su.Username, Email: su.Email, EmailVerified: true,
		Phone: su.Phone, PasswordHash: su.PasswordHash, CreatedAt: now,
	}
	// The account's first notice carries the code of the mail that made it.
	fx := vigil.Effects{Notices: []*vigil.Notice{{ID: vigil.NewID(), AccountID: a.ID, Kind: vigil.NoticeAccountCreated,
		Code: su.NoticeCode, Title: "Your account was created", CreatedAt: now,
		Text: "Your account was created after you entered the code from the verification mail, which carried this notice code."}},
		Audit: []*vigil.AuditEntry{s.auditEntry(ctx, vigil.AuditAccountCreated, a.ID, map[string]any{"username": a.Username})}}
	if err := s.store.CompleteSignup(ctx, su.ID, a, fx); err != nil {
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return nil, ErrBadCode // completed by a concurrent call
		}
		return nil, err
	}
	s.m.signups.WithLabelValues("verified").Inc()
	s.log.InfoContext(ctx, "account created", "account_id", a.ID)
	return a, nil
}

const codeDigits = 6

// newCode returns a uniformly random code of codeDigits decimal digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// signupCodeHash binds a code to its signup, so a stored hash matches only
// there.
func signupCodeHash(signupID, code string) vigil.TokenHash {
	return vigil.ParseToken("signup:" + signupID + ":" + code).Hash()
}
