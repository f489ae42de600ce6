package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawConn is a minimal HTTP/1.1 keep-alive client for one connection, used
// for the lookup phase. net/http's client costs about as much CPU per
// request as the server it measures; on a 2-core machine shared with the
// server that would measure the client. This one writes prebuilt request
// bytes and reads only the status line, Content-Length and Connection
// headers, discarding the body. Anything it does not understand (chunked
// bodies, 1xx answers) is an error, never a guess.
type rawConn struct {
	dial func(ctx context.Context) (net.Conn, error)
	c    net.Conn
	r    *bufio.Reader
}

func (b *bench) newRawConn() (*rawConn, error) {
	u, err := url.Parse(b.base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("the lookup phase speaks plain HTTP only; target scheme is %q", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !b.cfg.AllowRemote {
		d.Control = loopbackOnly
	}
	return &rawConn{dial: func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }}, nil
}

// rawRequest builds the bytes of a bodiless GET.
func rawRequest(host, path string, headers map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// do sends req and reads the whole answer, reconnecting once if a kept-alive
// connection turned out to be closed. It returns the status code.
func (rc *rawConn) do(ctx context.Context, req []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		fresh := false
		if rc.c == nil {
			c, err := rc.dial(ctx)
			if err != nil {
				return 0, err
			}
			rc.c, rc.r, fresh = c, bufio.NewReaderSize(c, 16<<10), true
		}
		code, keep, err := rc.roundTrip(req)
		if err == nil {
			if !keep {
				rc.close()
			}
			return code, nil
		}
		rc.close()
		if fresh || attempt > 0 || ctx.Err() != nil {
			return 0, err
		}
	}
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c, rc.r = nil, nil
	}
}

var errRawAnswer = errors.New("bench: answer not understood (want HTTP/1.1 with Content-Length)")

func (rc *rawConn) roundTrip(req []byte) (code int, keepAlive bool, err error) {
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := rc.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, errRawAnswer
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errRawAnswer
	}
	length, keepAlive := -1, true
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, errRawAnswer
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, errRawAnswer
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keepAlive = false
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false, errRawAnswer
		}
	}
	if length < 0 {
		return 0, false, errRawAnswer
	}
	if _, err := rc.r.Discard(length); err != nil {
		return 0, false, io.ErrUnexpectedEOF
	}
	return code, keepAlive, nil
}
