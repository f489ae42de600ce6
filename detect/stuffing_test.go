package detect

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// One address tries leaked credentials against many accounts.
func TestStuffingSourceAccountsAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(1, 1))
	const src, net = "src:198.51.100.9", "net:198.51.100.0/24"
	for i := range 25 {
		for range 2 {
			d.LoginFailure(src, net, fmt.Sprintf("name:user%d@example.com", i), r.Uint64())
			clock.Advance(3 * time.Second)
		}
	}
	got := rec.take()
	checkEvents(t, got, want{KindCredentialStuffing, RuleSourceAccounts, SeverityHigh, src, 20})
	if !d.Tightened(src) || d.Tightened(net) {
		t.Error("want the source tightened and the network not")
	}
}

// Many addresses of one network, one account each.
func TestStuffingNetworkAccountsAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(2, 2))
	const net = "net:2001:db8:42::/48"
	for i := range 60 {
		src := fmt.Sprintf("src:2001:db8:42:%x::/64", i)
		d.LoginFailure(src, net, fmt.Sprintf("acct:%d", 1000+i), r.Uint64())
		clock.Advance(5 * time.Second)
	}
	checkEvents(t, rec.take(), want{KindCredentialStuffing, RuleNetworkAccounts, SeverityMedium, net, 50})
}

// One password against many accounts, from everywhere.
func TestStuffingPasswordSprayAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	const fp = 0x1b2c3d4e5f607182 // the keyed hash of "Summer2025!"
	for i := range 15 {
		src := fmt.Sprintf("src:203.0.%d.%d", i, 10+i)
		net := fmt.Sprintf("net:203.0.%d.0/24", i)
		d.LoginFailure(src, net, fmt.Sprintf("acct:%d", 7*i), fp)
		clock.Advance(time.Minute)
	}
	got := rec.take()
	checkEvents(t, got, want{KindCredentialStuffing, RulePasswordSpray, SeverityHigh, GlobalKey, 10})
	if got[0].Window != 30*time.Minute {
		t.Errorf("window %v, want the spray window", got[0].Window)
	}
	if !d.Tightened(GlobalKey) {
		t.Error("spray did not tighten the global key")
	}
}

// The spray cooldown is global: a second password sprayed at the same time
// is the same campaign, not a second alert.
func TestStuffingPasswordSprayCooldownIsGlobal(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	for i := range 30 {
		d.LoginFailure(fmt.Sprintf("src:a%d", i), fmt.Sprintf("net:a%d", i), fmt.Sprintf("acct:%d", i), 111)
		d.LoginFailure(fmt.Sprintf("src:b%d", i), fmt.Sprintf("net:b%d", i), fmt.Sprintf("acct:%d", i), 222)
		clock.Advance(time.Second)
	}
	checkEvents(t, rec.take(), want{KindCredentialStuffing, RulePasswordSpray, SeverityHigh, GlobalKey, 10})
	clock.Advance(30 * time.Minute)
	for i := range 10 {
		d.LoginFailure(fmt.Sprintf("src:c%d", i), fmt.Sprintf("net:c%d", i), fmt.Sprintf("acct:%d", i), 333)
	}
	checkEvents(t, rec.take(), want{KindCredentialStuffing, RulePasswordSpray, SeverityHigh, GlobalKey, 10})
}

func TestStuffingNormal(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(3, 3))

	// A user mistyping their own password 15 times, three typos in turn.
	typos := []uint64{r.Uint64(), r.Uint64(), r.Uint64()}
	for i := range 15 {
		d.LoginFailure("src:192.0.2.55", "net:192.0.2.0/24", "acct:42", typos[i%3])
		clock.Advance(20 * time.Second)
	}
	// An office behind one address: ten people mistype once or twice.
	for p := range 10 {
		for range 1 + p%2 {
			d.LoginFailure("src:192.0.2.10", "net:192.0.2.0/24", fmt.Sprintf("acct:%d", 500+p), r.Uint64())
			clock.Advance(15 * time.Second)
		}
	}
	// The same office again an hour later.
	clock.Advance(time.Hour)
	for p := range 10 {
		d.LoginFailure("src:192.0.2.10", "net:192.0.2.0/24", fmt.Sprintf("acct:%d", 600+p), r.Uint64())
	}
	// Failures without an account, or without a fingerprint, count for
	// what they can.
	for i := range 100 {
		d.LoginFailure(fmt.Sprintf("src:x%d", i), "", "", 7)
		d.LoginFailure("", "", fmt.Sprintf("acct:%d", i), 0)
	}
	checkEvents(t, rec.take())
}
