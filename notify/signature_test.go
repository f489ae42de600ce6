package notify

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signedHeader returns the headers of a delivery of body signed at ts with
// the secrets.
func signedHeader(ts int64, body []byte, secrets ...[]byte) http.Header {
	stamp := strconv.FormatInt(ts, 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, stamp)
	h.Set(HeaderSignature, signatureHeader(stamp, body, secrets...))
	return h
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	ts := testNow.Unix()
	good := signedHeader(ts, body, testSecret)
	goodSig := good.Get(HeaderSignature)
	otherSig := signatureHeader(strconv.FormatInt(ts, 10), body, testOldSecret)

	// A known-answer check of the scheme, independent of signatureHeader:
	// HMAC-SHA256(secret, "<ts>.<body>") in hex.
	wantMAC := mac(testSecret, "1700000000", body)
	if goodSig != "v1="+hex.EncodeToString(wantMAC) || !hmac.Equal(wantMAC, mac(testSecret, "1700000000", append([]byte(nil), body...))) {
		t.Fatalf("signature header %q", goodSig)
	}

	tests := []struct {
		name   string
		secret []byte
		header func(h http.Header)
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error // nil for success
	}{
		{name: "valid", want: nil},
		{name: "valid at the edge of the tolerance", now: testNow.Add(5 * time.Minute), want: nil},
		{name: "stale", now: testNow.Add(5*time.Minute + time.Second), want: ErrSignatureExpired},
		{name: "future", now: testNow.Add(-5*time.Minute - time.Second), want: ErrSignatureExpired},
		{name: "custom tolerance", now: testNow.Add(20 * time.Second), tol: 10 * time.Second, want: ErrSignatureExpired},
		{name: "negative tolerance is the default", now: testNow.Add(time.Minute), tol: -1, want: nil},
		{name: "body changed", body: []byte(`{"id":"y"}`), want: ErrSignatureMismatch},
		{name: "empty body", body: []byte{}, want: ErrSignatureMismatch},
		{name: "wrong secret", secret: testOldSecret, want: ErrSignatureMismatch},
		{name: "empty secret", secret: []byte{}, want: ErrSignatureMissing},
		{name: "timestamp changed", header: func(h http.Header) { h.Set(HeaderTimestamp, strconv.FormatInt(ts-1, 10)) }, want: ErrSignatureMismatch},
		{name: "timestamp with leading zero", header: func(h http.Header) { h.Set(HeaderTimestamp, "0"+strconv.FormatInt(ts, 10)) }, want: ErrSignatureMismatch},
		{name: "no timestamp", header: func(h http.Header) { h.Del(HeaderTimestamp) }, want: ErrSignatureMissing},
		{name: "no signature", header: func(h http.Header) { h.Del(HeaderSignature) }, want: ErrSignatureMissing},
		{name: "empty timestamp", header: func(h http.Header) { h.Set(HeaderTimestamp, "") }, want: ErrSignatureMalformed},
		{name: "negative timestamp", header: func(h http.Header) { h.Set(HeaderTimestamp, "-1700000000") }, want: ErrSignatureMalformed},
		{name: "signed timestamp", header: func(h http.Header) { h.Set(HeaderTimestamp, "+1700000000") }, want: ErrSignatureMalformed},
		{name: "fractional timestamp", header: func(h http.Header) { h.Set(HeaderTimestamp, "1700000000.5") }, want: ErrSignatureMalformed},
		{name: "huge timestamp", header: func(h http.Header) { h.Set(HeaderTimestamp, "99999999999999999999") }, want: ErrSignatureMalformed},
		{name: "two timestamps", header: func(h http.Header) { h.Add(HeaderTimestamp, "1") }, want: ErrSignatureMalformed},
		{name: "empty signature", header: func(h http.Header) { h.Set(HeaderSignature, "") }, want: ErrSignatureMalformed},
		{name: "bare hex", header: func(h http.Header) { h.Set(HeaderSignature, strings.TrimPrefix(goodSig, "v1=")) }, want: ErrSignatureMalformed},
		{name: "unknown scheme only", header: func(h http.Header) { h.Set(HeaderSignature, "v0="+goodSig[3:]) }, want: ErrSignatureMalformed},
		{name: "short hex", header: func(h http.Header) { h.Set(HeaderSignature, goodSig[:len(goodSig)-2]) }, want: ErrSignatureMalformed},
		{name: "non-hex", header: func(h http.Header) { h.Set(HeaderSignature, "v1="+strings.Repeat("zz", 32)) }, want: ErrSignatureMalformed},
		{name: "upper-case hex is the same MAC", header: func(h http.Header) { h.Set(HeaderSignature, "v1="+strings.ToUpper(goodSig[3:])) }, want: nil},
		{name: "upper-case scheme", header: func(h http.Header) { h.Set(HeaderSignature, "V1="+goodSig[3:]) }, want: ErrSignatureMalformed},
		{name: "wrong signature", header: func(h http.Header) { h.Set(HeaderSignature, "v1="+strings.Repeat("00", 32)) }, want: ErrSignatureMismatch},
		{name: "rotation: new then old", header: func(h http.Header) { h.Set(HeaderSignature, goodSig+","+otherSig) }, want: nil},
		{name: "rotation: old then new, spaced", header: func(h http.Header) { h.Set(HeaderSignature, otherSig+" , "+goodSig) }, want: nil},
		{name: "rotation: two header lines", header: func(h http.Header) { h.Set(HeaderSignature, otherSig); h.Add(HeaderSignature, goodSig) }, want: nil},
		{name: "rotation: neither", header: func(h http.Header) { h.Set(HeaderSignature, otherSig+","+otherSig) }, want: ErrSignatureMismatch},
		{name: "other schemes ignored", header: func(h http.Header) { h.Set(HeaderSignature, "v0=abc,"+goodSig+",v2=zzz") }, want: nil},
		{name: "too many signatures", header: func(h http.Header) { h.Set(HeaderSignature, strings.Repeat(otherSig+",", 16)+goodSig) }, want: ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good.Clone()
			if tt.header != nil {
				tt.header(h)
			}
			secret, b, now := testSecret, body, testNow
			if tt.secret != nil {
				secret = tt.secret
			}
			if tt.body != nil {
				b = tt.body
			}
			if !tt.now.IsZero() {
				now = tt.now
			}
			err := VerifySignature(secret, h, b, now, tt.tol)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifySignature: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature: %v, want %v", err, tt.want)
			}
		})
	}

	// A forged stale request learns nothing about the clock: the signature
	// is checked first.
	h := good.Clone()
	h.Set(HeaderSignature, "v1="+strings.Repeat("00", 32))
	if err := VerifySignature(testSecret, h, body, testNow.Add(time.Hour), 0); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("forged stale request: %v, want a mismatch", err)
	}
	// A nil header is missing, not a panic.
	if err := VerifySignature(testSecret, nil, body, testNow, 0); !errors.Is(err, ErrSignatureMissing) {
		t.Fatalf("nil header: %v", err)
	}
}

var sentinels = []error{ErrSignatureMissing, ErrSignatureMalformed, ErrSignatureExpired, ErrSignatureMismatch}

func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"id":"x"}`)
	good := signedHeader(testNow.Unix(), body, testSecret)
	f.Add(testSecret, good.Get(HeaderTimestamp), good.Get(HeaderSignature), body, testNow.Unix(), int64(300))
	f.Add(testSecret, "1700000000", "v1=00,v1="+strings.Repeat("a", 64)+", v0=", body, int64(0), int64(-1))
	f.Add([]byte{}, "", "", []byte{}, int64(-1<<63), int64(1<<62))
	f.Add([]byte("k"), "999999999999", "v1=", []byte("\x00\xff"), int64(1<<62), int64(0))
	f.Fuzz(func(t *testing.T, secret []byte, stamp, sig string, body []byte, nowUnix, tolNanos int64) {
		h := http.Header{}
		h.Set(HeaderTimestamp, stamp)
		h.Set(HeaderSignature, sig)
		now := time.Unix(nowUnix, 0)
		tol := time.Duration(tolNanos)
		err := VerifySignature(secret, h, body, now, tol)
		if err != nil {
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("error %v wraps none of the sentinel errors", err)
			}
		} else {
			// Success must mean a real signature over this timestamp and
			// body, within the tolerance.
			if len(secret) == 0 {
				t.Fatal("accepted with an empty secret")
			}
			ts, perr := strconv.ParseInt(stamp, 10, 64)
			if perr != nil || ts < 0 || len(stamp) > maxTimestampDigits {
				t.Fatalf("accepted timestamp %q", stamp)
			}
			if !strings.Contains(strings.ToLower(sig), "v1="+hex.EncodeToString(mac(secret, stamp, body))) {
				t.Fatalf("accepted signature %q that is not the MAC", sig)
			}
			if tol <= 0 {
				tol = DefaultSignatureTolerance
			}
			if age := now.Sub(time.Unix(ts, 0)); age > tol || age < -tol {
				t.Fatalf("accepted a timestamp %s away with tolerance %s", age, tol)
			}
		}

		// Whatever the input, a delivery signed now with the secret
		// verifies, and fails once its body changes.
		if len(secret) > 0 {
			ts := nowUnix % 1_000_000_000_000
			if ts < 0 {
				ts = -ts
			}
			signedAt := time.Unix(ts, 0)
			h := signedHeader(ts, body, secret)
			if err := VerifySignature(secret, h, body, signedAt, tol); err != nil {
				t.Fatalf("fresh signature rejected: %v", err)
			}
			if err := VerifySignature(secret, h, append(body, 'x'), signedAt, tol); !errors.Is(err, ErrSignatureMismatch) {
				t.Fatalf("changed body: %v", err)
			}
		}
	})
}
