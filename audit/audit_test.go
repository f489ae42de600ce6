package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/audit"
)

var key = []byte("0123456789abcdef0123456789abcdef")

// memLog is a vigil.AuditStore over a slice, returned in slice order (not
// sorted), so a test can present any sequence a broken store might.
type memLog struct {
	entries []*vigil.AuditEntry
	err     error
}

func (m *memLog) AuditEntries(_ context.Context, after int64, limit int) ([]*vigil.AuditEntry, error) {
	if m.err != nil {
		return nil, m.err
	}
	start := 0
	if after > 0 {
		start = len(m.entries)
		for i, e := range m.entries {
			if e.Seq == after {
				start = i + 1
				break
			}
		}
	}
	var out []*vigil.AuditEntry
	for _, e := range m.entries[start:] {
		if len(out) == limit {
			break
		}
		c := *e
		out = append(out, &c)
	}
	return out, nil
}

// chain returns n entries chained under key, as the store appends them.
func chain(n int) []*vigil.AuditEntry {
	var out []*vigil.AuditEntry
	prev := ""
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := vigil.NewAuditEntry(at.Add(time.Duration(i)*time.Second), vigil.AuditLoginFailed, nil, "203.0.113.7", vigil.NewID(),
			map[string]any{"result": "failed", "n": i})
		e.Seq, e.PrevHash = int64(i), prev
		e.Hash = vigil.AuditChainHash(key, prev, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(t *testing.T, entries []*vigil.AuditEntry, anchors ...audit.Anchor) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), &memLog{entries: entries}, key, anchors...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyGoodChain(t *testing.T) {
	for _, n := range []int{0, 1, 7, audit.PageSize, audit.PageSize*2 + 3} {
		entries := chain(n)
		r := verify(t, entries)
		if !r.OK() || r.Entries != int64(n) || r.HeadSeq != int64(n) {
			t.Fatalf("n=%d: report %+v, want %d good entries", n, r, n)
		}
		if n > 0 && r.HeadHash != entries[n-1].Hash {
			t.Fatalf("n=%d: head hash %q, want the last entry's", n, r.HeadHash)
		}
		if n == 0 && r.HeadHash != "" {
			t.Fatalf("empty log: head hash %q", r.HeadHash)
		}
	}
}

func TestVerifyTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]*vigil.AuditEntry) []*vigil.AuditEntry
		seq     int64
		reason  string
		entries int64 // good entries before the bad one
	}{
		{"edited detail", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[4].Detail = `{"n":5,"result":"success"}`
			return l
		}, 5, audit.ReasonEdited, 4},
		{"edited time", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[4].At = l[4].At.Add(time.Microsecond)
			return l
		}, 5, audit.ReasonEdited, 4},
		{"edited actor", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[2].ActorKind = vigil.AuditActorSystem
			return l
		}, 3, audit.ReasonEdited, 2},
		{"changed hash", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[4].Hash = strings.Repeat("0", 64)
			return l
		}, 5, audit.ReasonEdited, 4},
		{"last entry edited", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[9].IP = "198.51.100.1"
			return l
		}, 10, audit.ReasonEdited, 9},
		{"middle entry removed", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			return append(l[:4:4], l[5:]...)
		}, 6, "sequence gap after 4 (entry removed)", 4},
		{"first entry removed", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			return l[1:]
		}, 2, "sequence gap after 0 (entry removed)", 0},
		{"contents of two entries swapped", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			a, b := *l[2], *l[6]
			a.Seq, b.Seq = 7, 3
			l[2], l[6] = &b, &a
			return l
		}, 3, audit.ReasonLinkBroken, 2},
		{"neighbours swapped", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			a, b := *l[3], *l[4]
			a.Seq, b.Seq = 5, 4
			l[3], l[4] = &b, &a
			return l
		}, 4, audit.ReasonLinkBroken, 3},
		{"entry removed and the rest renumbered", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l = append(l[:4:4], l[5:]...)
			for i := 4; i < len(l); i++ {
				l[i].Seq--
			}
			return l
		}, 5, audit.ReasonLinkBroken, 4},
		{"entry inserted with a guessed hash", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			forged := &vigil.AuditEntry{Seq: 4, ID: vigil.NewID(), At: l[3].At, ActorKind: vigil.AuditActorCLI, Action: vigil.AuditRoleGranted,
				Detail: `{"role":"admin"}`, PrevHash: l[2].Hash}
			forged.Hash = vigil.AuditChainHash([]byte("not the key"), forged.PrevHash, forged)
			rest := l[3:]
			for _, e := range rest {
				e.Seq++
			}
			return append(append(l[:3:3], forged), rest...)
		}, 4, audit.ReasonEdited, 3},
		{"link repointed", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[5].PrevHash = l[3].Hash
			return l
		}, 6, audit.ReasonLinkBroken, 5},
		{"duplicate seq", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			d := *l[4]
			return append(append(l[:5:5], &d), l[5:]...)
		}, 5, audit.ReasonNotIncreasing, 5},
		{"seq going back", func(l []*vigil.AuditEntry) []*vigil.AuditEntry {
			l[6].Seq = 2
			return l
		}, 2, audit.ReasonNotIncreasing, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := chain(10)
			r := verify(t, tt.tamper(l))
			if r.OK() {
				t.Fatalf("tampered log verified: %+v", r)
			}
			if r.FirstBad.Seq != tt.seq || r.FirstBad.Reason != tt.reason || r.Entries != tt.entries {
				t.Fatalf("first bad = %+v after %d good, want seq %d %q after %d", r.FirstBad, r.Entries, tt.seq, tt.reason, tt.entries)
			}
			if r.HeadSeq != tt.entries {
				t.Errorf("head = %d, want the last good entry %d", r.HeadSeq, tt.entries)
			}
		})
	}
}

func TestVerifyWrongKeyFailsAtFirst(t *testing.T) {
	r, err := audit.Verify(context.Background(), &memLog{entries: chain(5)}, []byte("another key"))
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.FirstBad.Seq != 1 || r.FirstBad.Reason != audit.ReasonEdited || r.Entries != 0 {
		t.Fatalf("wrong key: %+v %+v", r, r.FirstBad)
	}
	// The empty key is a key like any other.
	if r, _ := audit.Verify(context.Background(), &memLog{entries: chain(5)}, nil); r.OK() {
		t.Fatal("a chain made with a key verified without it")
	}
}

func TestVerifyAnchors(t *testing.T) {
	l := chain(10)
	good := audit.Anchor{Seq: 7, Hash: l[6].Hash}
	if r := verify(t, l, good, audit.Anchor{Seq: 10, Hash: l[9].Hash}); !r.OK() {
		t.Fatalf("anchored good log: %+v", r.FirstBad)
	}
	// The tail removed: a valid, shorter chain, caught only by the anchor.
	if r := verify(t, l[:8]); !r.OK() {
		t.Fatalf("a truncated chain is still a chain: %+v", r.FirstBad)
	}
	r := verify(t, l[:5], good)
	if r.OK() || r.FirstBad.Seq != 6 || !strings.Contains(r.FirstBad.Reason, "removed from the end") || r.Entries != 5 {
		t.Fatalf("truncated past the anchor: %+v %+v", r, r.FirstBad)
	}
	// The whole log removed.
	if r := verify(t, nil, good); r.OK() || r.FirstBad.Seq != 1 {
		t.Fatalf("empty log with an anchor: %+v", r)
	}
	// Rewritten with the key from entry 3 on: consistent, but not the
	// anchored entry any more.
	rew := chain(10)
	rew[2].Detail = `{"rewritten":true}`
	for i := 2; i < len(rew); i++ {
		rew[i].PrevHash = rew[i-1].Hash
		rew[i].Hash = vigil.AuditChainHash(key, rew[i].PrevHash, rew[i])
	}
	if r := verify(t, rew); !r.OK() {
		t.Fatalf("a chain rewritten with the key verifies without an anchor: %+v", r.FirstBad)
	}
	anchor := audit.Anchor{Seq: 7, Hash: chain(10)[6].Hash} // from a run of the same content: differs by ids
	r = verify(t, rew, anchor)
	if r.OK() || r.FirstBad.Seq != 7 || !strings.Contains(r.FirstBad.Reason, "anchor") {
		t.Fatalf("rewritten chain with an anchor: %+v", r.FirstBad)
	}
}

func TestParseAnchor(t *testing.T) {
	h := strings.Repeat("ab", 32)
	a, err := audit.ParseAnchor(" 42:" + h + "\n")
	if err != nil || a.Seq != 42 || a.Hash != h || a.String() != "42:"+h {
		t.Fatalf("ParseAnchor = %+v, %v", a, err)
	}
	for _, bad := range []string{"", "42", ":" + h, "0:" + h, "-1:" + h, "x:" + h, "42:" + h[:63], "42:" + strings.ToUpper(h),
		"42:" + h + "0", "42:" + strings.Repeat("g", 64), "99999999999999999999:" + h} {
		if _, err := audit.ParseAnchor(bad); err == nil {
			t.Errorf("ParseAnchor(%q) accepted", bad)
		}
	}
}

func TestChainHashCoversEveryField(t *testing.T) {
	base := func() *vigil.AuditEntry {
		return &vigil.AuditEntry{Seq: 3, ID: "id", At: time.UnixMicro(1_700_000_000_000_001).UTC(), ActorID: "actor", ActorKind: "account",
			Action: "login.failed", TargetID: "target", IP: "192.0.2.1", Detail: `{"a":1}`, PrevHash: "p", Hash: "h"}
	}
	ref := vigil.AuditChainHash(key, "p", base())
	if len(ref) != 64 || strings.Trim(ref, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not 64 hex digits", ref)
	}
	// Hash and PrevHash fields are not hashed: prev is the argument.
	e := base()
	e.Hash, e.PrevHash = "other", "other"
	if vigil.AuditChainHash(key, "p", e) != ref {
		t.Fatal("the hash depends on the stored Hash or PrevHash field rather than on prev")
	}
	if vigil.AuditChainHash(key, "q", base()) == ref {
		t.Fatal("prev is not covered")
	}
	muts := map[string]func(*vigil.AuditEntry){
		"Seq":       func(e *vigil.AuditEntry) { e.Seq++ },
		"ID":        func(e *vigil.AuditEntry) { e.ID += "x" },
		"At":        func(e *vigil.AuditEntry) { e.At = e.At.Add(time.Microsecond) },
		"ActorID":   func(e *vigil.AuditEntry) { e.ActorID = "" },
		"ActorKind": func(e *vigil.AuditEntry) { e.ActorKind = "cli" },
		"Action":    func(e *vigil.AuditEntry) { e.Action = "login.succeeded" },
		"TargetID":  func(e *vigil.AuditEntry) { e.TargetID = "t" },
		"IP":        func(e *vigil.AuditEntry) { e.IP = "192.0.2.2" },
		"Detail":    func(e *vigil.AuditEntry) { e.Detail = `{"a":2}` },
		// Moving bytes between neighbouring fields must not collide.
		"ActorID/ActorKind boundary": func(e *vigil.AuditEntry) { e.ActorID, e.ActorKind = "actora", "ccount" },
		"TargetID/IP boundary":       func(e *vigil.AuditEntry) { e.TargetID, e.IP = "target1", "92.0.2.1" },
	}
	for name, mut := range muts {
		e := base()
		mut(e)
		if vigil.AuditChainHash(key, "p", e) == ref {
			t.Errorf("changing %s leaves the hash alike", name)
		}
	}
	// Time zones do not matter, only the instant.
	e = base()
	e.At = e.At.In(time.FixedZone("X", 3600))
	if vigil.AuditChainHash(key, "p", e) != ref {
		t.Error("the hash depends on the time zone of At")
	}
}

func TestNewAuditEntry(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 7200))
	e := vigil.NewAuditEntry(at, vigil.AuditLogout, &vigil.Actor{AccountID: "acct", SessionID: "sess"}, "192.0.2.9", "acct",
		map[string]any{"session_id": "sess", "b": 1, "a": true})
	if e.ActorKind != vigil.AuditActorAccount || e.ActorID != "acct" || e.TargetID != "acct" || e.IP != "192.0.2.9" || e.ID == "" {
		t.Fatalf("entry %+v", e)
	}
	if !e.At.Equal(at.Truncate(time.Microsecond)) || e.At.Location() != time.UTC {
		t.Fatalf("At = %v, want %v in UTC microseconds", e.At, at)
	}
	if e.Detail != `{"a":true,"b":1,"session_id":"sess"}` {
		t.Fatalf("detail %s is not canonical", e.Detail)
	}
	anon := vigil.NewAuditEntry(at, vigil.AuditLoginFailed, nil, "", "", nil)
	if anon.ActorKind != vigil.AuditActorAnonymous || anon.ActorID != "" || anon.Detail != "{}" {
		t.Fatalf("anonymous entry %+v", anon)
	}
	if d := vigil.AuditDetail(map[string]any{"f": func() {}}); !json.Valid([]byte(d)) {
		t.Fatalf("unencodable detail gave %q", d)
	}
}

func TestExport(t *testing.T) {
	l := chain(audit.PageSize + 20)
	var buf bytes.Buffer
	n, err := audit.Export(context.Background(), &memLog{entries: l}, &buf, 0)
	if err != nil || n != int64(len(l)) {
		t.Fatalf("Export = %d, %v; want %d", n, err, len(l))
	}
	sc := bufio.NewScanner(&buf)
	var back []*vigil.AuditEntry
	for sc.Scan() {
		var e vigil.AuditEntry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d: %v: %s", len(back)+1, err, sc.Text())
		}
		back = append(back, &e)
	}
	if len(back) != len(l) {
		t.Fatalf("%d lines, want %d", len(back), len(l))
	}
	// An export verifies again, elsewhere, with the key.
	if r := verify(t, back); !r.OK() || r.Entries != int64(len(l)) {
		t.Fatalf("exported log does not verify: %+v", r.FirstBad)
	}
	buf.Reset()
	if n, err := audit.Export(context.Background(), &memLog{entries: l}, &buf, int64(len(l)-3)); err != nil || n != 3 ||
		strings.Count(buf.String(), "\n") != 3 || !strings.HasPrefix(buf.String(), fmt.Sprintf(`{"seq":%d,`, len(l)-2)) {
		t.Fatalf("export after %d = %d, %v: %s", len(l)-3, n, err, buf.String())
	}
}

func TestReadErrorsAreErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := audit.Verify(context.Background(), &memLog{err: boom}, key); !errors.Is(err, boom) {
		t.Fatalf("Verify err = %v", err)
	}
	if _, err := audit.Export(context.Background(), &memLog{err: boom}, &bytes.Buffer{}, 0); !errors.Is(err, boom) {
		t.Fatalf("Export err = %v", err)
	}
}
