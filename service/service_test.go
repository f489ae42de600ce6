package service

import "testing"

func TestDeviceLabel(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0":                                              "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131": "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile Safari/604.1":        "Safari on iPhone",
		"curl/8.5.0": "curl",
		"":           "Unknown device",
		"weird":      "Other client",
	} {
		if got := DeviceLabel(ua); got != want {
			t.Errorf("DeviceLabel(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	if e, err := NormalizeEmail(" Alice@Example.COM "); err != nil || e != "alice@example.com" {
		t.Fatalf("NormalizeEmail = %q, %v", e, err)
	}
	for _, bad := range []string{"", "alice", "a@b", "Alice <a@example.com>", "a@example.com\r\nBcc: x@y.z", "a b@example.com"} {
		if _, err := NormalizeEmail(bad); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
	if u, err := NormalizeUsername("Alice_01"); err != nil || u != "alice_01" {
		t.Fatalf("NormalizeUsername = %q, %v", u, err)
	}
	for _, bad := range []string{"ab", "-alice", "al ice", "ålice", "a234567890123456789012345678901234"} {
		if _, err := NormalizeUsername(bad); err == nil {
			t.Errorf("NormalizeUsername(%q) accepted", bad)
		}
	}
	if p, err := NormalizePhone("+15551234567"); err != nil || p != "+15551234567" {
		t.Fatalf("NormalizePhone = %q, %v", p, err)
	}
	if _, err := NormalizePhone("5551234567"); err == nil {
		t.Error("NormalizePhone accepted a number without country code")
	}
}

func TestSourceKey(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"not an ip":            "unknown",
	} {
		if got := sourceKey(ip); got != want {
			t.Errorf("sourceKey(%q) = %q, want %q", ip, got, want)
		}
	}
}

func TestWellFormedToken(t *testing.T) {
	if !wellFormedToken("w7c1-wzrurq4xaa46uICeXCz8VRtxSJto9zGQLkr6g4") {
		t.Fatal("a real token refused")
	}
	for _, bad := range []string{"", "short", "w7c1-wzrurq4xaa46uICeXCz8VRtxSJto9zGQLkr6g=", "w7c1-wzrurq4xaa46uICeXCz8VRtxSJto9zGQLkr6g4x"} {
		if wellFormedToken(bad) {
			t.Errorf("accepted %q", bad)
		}
	}
}
