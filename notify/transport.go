package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/vigil-dev/vigil"
)

// DefaultTimeout bounds one delivery (connect, request, response) when a
// configuration's Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxDrain is how much of a response body is read, and thrown away, so that
// a connection can be reused. The body is never interpreted.
const maxDrain = 64 << 10

// maxRetryAfter caps StatusError.RetryAfter.
const maxRetryAfter = 24 * time.Hour

// errBlockedAddress is in the chain of a dial the private-address guard
// refused.
var errBlockedAddress = errors.New("notify: refusing to connect to a loopback, private, link-local or reserved address")

// blockedAddressError names the address the guard refused. Addresses are
// not secret; they help an operator see why a webhook fails.
type blockedAddressError struct{ addr string }

func (e *blockedAddressError) Error() string { return errBlockedAddress.Error() + " (" + e.addr + ")" }
func (e *blockedAddressError) Unwrap() error { return errBlockedAddress }

// guardControl is a net.Dialer Control function: it runs after name
// resolution, on the address about to be connected to, so neither a host
// name that resolves to an internal address nor DNS rebinding between a
// check and the connection gets past it. It fails closed on anything it
// cannot parse.
func guardControl(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return &blockedAddressError{addr: network + " " + address}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !publicAddr(ap.Addr()) {
		return &blockedAddressError{addr: address}
	}
	return nil
}

// reservedPrefixes are ranges that are not reachable public unicast
// addresses, beyond what netip.Addr's predicates cover.
var reservedPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"; Linux routes 0.0.0.0 to the local host
		"100.64.0.0/10",   // shared address space (carrier-grade NAT, some cloud metadata)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and the broadcast address
		"::/96",           // IPv4-compatible (deprecated)
		"100::/64",        // discard-only
		"64:ff9b:1::/48",  // local-use NAT64
		"2001::/32",       // Teredo: tunnels to an address we cannot check
		"2001:db8::/32",   // documentation
		"fec0::/10",       // site-local (deprecated)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// publicAddr reports whether a is a public unicast address: not
// unspecified, loopback, private (RFC 1918, and RFC 4193 unique local
// fc00::/7), link-local (which holds cloud metadata services such as
// 169.254.169.254), multicast, or in reservedPrefixes. IPv4-mapped IPv6
// addresses are judged by their IPv4 address, as are the IPv4 addresses
// embedded in NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixTo4.Contains(a):
			return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return true
}

// newTransport returns the transport of a webhook or SMS client: no proxy
// (with a proxy the guard would see the proxy's address, not the
// receiver's), TLS 1.2 or later, bounded response headers, and, unless
// allowPrivate, the private-address guard on every connection.
func newTransport(timeout time.Duration, allowPrivate bool) *http.Transport {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = guardControl
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// noRedirect makes an http.Client return a 3xx response as it is instead
// of following it. A redirect could lead a signed notice or a bearer key to
// another host; post then reports the 3xx as a permanent failure.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// redactURL returns scheme://host of u, with "/[redacted]" in place of any
// path or query: the path of a Slack webhook URL is its credential, and a
// provider URL may carry a key in its query.
func redactURL(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Opaque != "" {
		s += "/[redacted]"
	}
	return s
}

// delivery is one POST of a JSON body.
type delivery struct {
	client  *http.Client
	timeout time.Duration
	what    string // "webhook" or "sms", for messages
	url     *url.URL
	header  http.Header
	body    []byte
}

// post sends d and classifies the outcome; see failure and statusFailure.
// The response body is read up to maxDrain bytes and discarded.
func post(ctx context.Context, d delivery) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url.String(), bytes.NewReader(d.body))
	if err != nil {
		return &vigil.Error{Code: vigil.EINVALID, Message: d.what + " not sent",
			Err: fmt.Errorf("notify: %s request to %s: cannot build request", d.what, redactURL(d.url))}
	}
	req.Header = d.header
	resp, err := d.client.Do(req)
	if err != nil {
		return failure(ctx, d, err)
	}
	defer resp.Body.Close()
	drain(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return statusFailure(d, resp, time.Now())
}

// drain reads and discards at most maxDrain bytes of r.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, maxDrain))
}

// failure classifies an error from http.Client.Do. The *url.Error that
// wraps it is dropped because its text holds the whole URL.
func failure(ctx context.Context, d delivery, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	cause := fmt.Errorf("notify: %s POST %s: %w", d.what, redactURL(d.url), err)
	if errors.Is(err, errBlockedAddress) {
		return &vigil.Error{Code: vigil.EINVALID, Message: d.what + " address is not allowed", Err: cause}
	}
	if ctx.Err() != nil {
		cause = fmt.Errorf("notify: %s POST %s: %w (%v)", d.what, redactURL(d.url), context.Cause(ctx), err)
	}
	return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: d.what + " receiver unavailable", Err: cause}
}

// statusFailure turns a response other than 2xx into an error with a
// *StatusError in its chain: EINTERNAL ("rejected") if permanent,
// EUNAVAILABLE if transient. The response body is not quoted; a receiver
// could echo anything into it.
func statusFailure(d delivery, resp *http.Response, now time.Time) error {
	se := &StatusError{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	cause := fmt.Errorf("notify: %s POST %s: %w", d.what, redactURL(d.url), se)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		return &vigil.Error{Code: vigil.EINTERNAL, Message: d.what + " receiver redirected; redirects are not followed", Err: cause}
	case se.Permanent():
		return &vigil.Error{Code: vigil.EINTERNAL, Message: d.what + " receiver rejected the notice", Err: cause}
	}
	return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: d.what + " receiver unavailable", Err: cause}
}

// parseRetryAfter reads a Retry-After value, delta-seconds or HTTP-date,
// as a duration from now, capped at maxRetryAfter. Anything else is zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if onlyBytes(v, "0123456789") {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter // only digits, so err is an overflow
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
