// Package audit verifies and exports vigil's tamper-evident audit log
// (vigil.AuditEntry, chained by vigil.AuditChainHash). It reads the log
// through vigil.AuditStore, page by page, so a log of any length is checked
// in constant memory.
package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vigil-dev/vigil"
)

// PageSize is how many entries Verify and Export read per query.
const PageSize = 500

// Reasons a Problem gives for the first bad entry. A gap's reason names
// the last good seq: "sequence gap after 41 (entry removed)".
const (
	// ReasonEdited: the entry is in its place in the chain, but its hash is
	// not the hash of its content under the key (or the key is not the
	// one it was written with).
	ReasonEdited = "hash does not match its content (edited)"
	// ReasonLinkBroken: the entry's PrevHash is not the hash of the entry
	// before it.
	ReasonLinkBroken = "previous-hash link broken (removed, inserted or reordered)"
	// ReasonNotIncreasing: the entry's seq is not above the one before.
	ReasonNotIncreasing = "seq not increasing"

	reasonGapFormat = "sequence gap after %d (entry removed)"
)

// Problem names the first entry of the log that fails verification and
// why. Seq and ID are those of the entry as stored; for a missing expected
// head, Seq is the first missing sequence number and ID is "".
type Problem struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// String describes the problem for a person: "entry 5 (id ...): reason".
func (p *Problem) String() string {
	if p.ID == "" {
		return fmt.Sprintf("entry %d: %s", p.Seq, p.Reason)
	}
	return fmt.Sprintf("entry %d (id %s): %s", p.Seq, p.ID, p.Reason)
}

// Report is the outcome of Verify. Entries counts the entries found good,
// in order from the first; HeadSeq and HeadHash are those of the last good
// entry (0 and "" if none). With FirstBad nil the whole log is good and
// the head is its last entry: an operator records it elsewhere, so that a
// later Verify with that Anchor detects entries removed from the end.
type Report struct {
	Entries  int64    `json:"entries"`
	HeadSeq  int64    `json:"head_seq"`
	HeadHash string   `json:"head_hash"`
	FirstBad *Problem `json:"first_bad,omitempty"`
}

// OK reports whether the log verified.
func (r Report) OK() bool { return r.FirstBad == nil }

// Anchor is an entry recorded outside the database: its sequence number
// and hash, written "SEQ:HASH".
type Anchor struct {
	Seq  int64
	Hash string
}

// String returns the anchor as ParseAnchor reads it, "SEQ:HASH".
func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

// ParseAnchor parses "SEQ:HASH", as Verify's report prints a head: SEQ a
// positive integer, HASH 64 lower-case hex digits.
func ParseAnchor(s string) (Anchor, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 {
		return Anchor{}, fmt.Errorf("audit: anchor %q is not SEQ:HASH with a positive SEQ", s)
	}
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return Anchor{}, fmt.Errorf("audit: anchor %q: HASH must be 64 lower-case hex digits", s)
	}
	return Anchor{Seq: seq, Hash: hash}, nil
}

// Verify walks the whole log from the first entry and checks that it is
// one unbroken chain under key: sequence numbers start at 1 and increase
// by one, each entry's PrevHash is the Hash of the one before ("" for the
// first), and each Hash is vigil.AuditChainHash of the entry's content. It
// stops at the first entry that fails and names it in Report.FirstBad;
// checks are made in that order, so an entry is called edited only when
// its place in the chain is right. Each anchor must name an entry of the
// log with the anchor's hash: an anchor past the end means entries were
// removed from the end, a different hash that the log was rewritten with
// the key (or that the anchor belongs to another log).
//
// The error is for failures to read the log, never for a broken chain. A
// wrong key makes the first entry fail as edited.
func Verify(ctx context.Context, src vigil.AuditStore, key []byte, anchors ...Anchor) (Report, error) {
	var r Report
	want := map[int64]string{}
	for _, a := range anchors {
		want[a.Seq] = a.Hash
	}
	var after int64
	for {
		page, err := src.AuditEntries(ctx, after, PageSize)
		if err != nil {
			return r, err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if p := check(key, r, e); p != nil {
				r.FirstBad = p
				return r, nil
			}
			if h, ok := want[e.Seq]; ok && h != e.Hash {
				r.FirstBad = &Problem{Seq: e.Seq, ID: e.ID,
					Reason: "hash differs from the recorded anchor (the log was rewritten, or the anchor is of another log)"}
				return r, nil
			}
			r.Entries++
			r.HeadSeq, r.HeadHash = e.Seq, e.Hash
		}
		after = page[len(page)-1].Seq
	}
	for _, a := range anchors {
		if a.Seq > r.HeadSeq {
			r.FirstBad = &Problem{Seq: r.HeadSeq + 1,
				Reason: fmt.Sprintf("log ends at %d, before the recorded anchor %d (entries removed from the end)", r.HeadSeq, a.Seq)}
			break
		}
	}
	return r, nil
}

// check returns the problem of e, coming after the good entries counted in
// r, or nil.
func check(key []byte, r Report, e *vigil.AuditEntry) *Problem {
	bad := func(reason string) *Problem { return &Problem{Seq: e.Seq, ID: e.ID, Reason: reason} }
	switch {
	case e.Seq <= r.HeadSeq:
		return bad(ReasonNotIncreasing)
	case e.Seq != r.HeadSeq+1:
		return bad(fmt.Sprintf(reasonGapFormat, r.HeadSeq))
	case e.PrevHash != r.HeadHash:
		return bad(ReasonLinkBroken)
	case vigil.AuditChainHash(key, e.PrevHash, e) != e.Hash:
		return bad(ReasonEdited)
	}
	return nil
}

// Export writes the entries after afterSeq to w as JSON Lines, one
// vigil.AuditEntry per line in ascending Seq, exactly as stored (nothing
// is checked: run Verify for that), and reports how many it wrote. The
// lines carry every field the hash covers, so an export can be verified
// again elsewhere with the key.
func Export(ctx context.Context, src vigil.AuditStore, w io.Writer, afterSeq int64) (n int64, err error) {
	bw := bufio.NewWriter(w)
	defer func() {
		// What was read is written even when a later page fails.
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for {
		page, err := src.AuditEntries(ctx, afterSeq, PageSize)
		if err != nil || len(page) == 0 {
			return n, err
		}
		for _, e := range page {
			if e.Seq <= afterSeq {
				return n, errors.New("audit: the store returned entries out of order")
			}
			if err := enc.Encode(e); err != nil {
				return n, err
			}
			n++
			afterSeq = e.Seq
		}
	}
}
