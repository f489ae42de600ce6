package totp_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp"

	"github.com/vigil-dev/vigil/totp"
)

func TestURI(t *testing.T) {
	secret := totp.GenerateSecret()
	tests := []struct{ issuer, account string }{
		{"vigil", "alice"},
		{"ACME Co", "alice@example.com"},
		{"A+B & C", "bob+tag@example.com"},
		{"Ünïcode ☃", "名前"},
		{"odd?#%/", "x=y&z;w"},
		{"colon:issuer", "colon:account"},
		{"", "noissuer@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.issuer+"|"+tt.account, func(t *testing.T) {
			uri := totp.URI(tt.issuer, tt.account, secret)
			if strings.ContainsAny(uri, " +") {
				t.Errorf("URI has a raw space or plus: %s", uri)
			}
			u, err := url.Parse(uri)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", uri, err)
			}
			if u.Scheme != "otpauth" || u.Host != "totp" || u.User != nil || u.Fragment != "" {
				t.Fatalf("scheme %q host %q user %v fragment %q", u.Scheme, u.Host, u.User, u.Fragment)
			}
			// The label: ISSUER:ACCOUNT, each part escaped on its own.
			label := strings.TrimPrefix(u.EscapedPath(), "/")
			wantLabel := tt.account
			if tt.issuer != "" {
				wantLabel = tt.issuer + ":" + tt.account
				i := strings.IndexByte(label, ':')
				if i < 0 {
					t.Fatalf("label %q has no ':'", label)
				}
				gotIssuer, err1 := url.PathUnescape(label[:i])
				gotAccount, err2 := url.PathUnescape(label[i+1:])
				if err1 != nil || err2 != nil || gotIssuer != tt.issuer || gotAccount != tt.account {
					t.Errorf("label %q splits to %q, %q", label, gotIssuer, gotAccount)
				}
			}
			if got := strings.TrimPrefix(u.Path, "/"); got != wantLabel {
				t.Errorf("decoded label %q, want %q", got, wantLabel)
			}
			q := u.Query()
			want := url.Values{
				"secret":    {secret},
				"algorithm": {"SHA1"},
				"digits":    {"6"},
				"period":    {"30"},
			}
			if tt.issuer != "" {
				want["issuer"] = []string{tt.issuer}
			}
			if len(q) != len(want) {
				t.Errorf("query %v, want %v", q, want)
			}
			for k, v := range want {
				if got := q[k]; len(got) != 1 || got[0] != v[0] {
					t.Errorf("query %s = %q, want %q", k, got, v[0])
				}
			}
			// The order authenticator documentation shows.
			if !strings.Contains(uri, "?secret="+secret+"&") || !strings.HasSuffix(uri, "&algorithm=SHA1&digits=6&period=30") {
				t.Errorf("query order: %s", uri)
			}
		})
	}
}

// TestURIParsedByLibrary reads the URI back with pquerna/otp's key parser,
// which follows the key URI format as authenticator apps do.
func TestURIParsedByLibrary(t *testing.T) {
	secret := totp.GenerateSecret()
	key, err := otp.NewKeyFromURL(totp.URI("ACME Co", "alice@example.com", secret))
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != "totp" || key.Issuer() != "ACME Co" || key.AccountName() != "alice@example.com" ||
		key.Secret() != secret || key.Period() != 30 || key.Digits() != otp.DigitsSix ||
		key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("parsed key: type %q issuer %q account %q secret ok %v period %d digits %v algorithm %v",
			key.Type(), key.Issuer(), key.AccountName(), key.Secret() == secret, key.Period(), key.Digits(), key.Algorithm())
	}
}

func TestURIExample(t *testing.T) {
	got := totp.URI("ACME Co", "alice@example.com", "JBSWY3DPEHPK3PXP")
	want := "otpauth://totp/ACME%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("URI =\n %s\nwant\n %s", got, want)
	}
}
