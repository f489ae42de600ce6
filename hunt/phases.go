package hunt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// split returns the signed-in identities that op's role admits and those
// below it, in config order.
func (h *hunter) split(op *operation) (entitled, lower []*identity) {
	for _, id := range h.ids {
		if id.rank >= op.rank {
			entitled = append(entitled, id)
		} else {
			lower = append(lower, id)
		}
	}
	return entitled, lower
}

func (h *hunter) replayed(op *operation) bool { return op.skipReason == "" && op.login == "" }

// selfPhase reads each identity's self views (GET /me and the like) first:
// they tell its account id and other own values.
func (h *hunter) selfPhase(ctx context.Context) {
	var ops []*operation
	for _, op := range h.ops {
		if op.self && h.replayed(op) {
			ops = append(ops, op)
		}
	}
	forEach(ctx, h.opts.Concurrency, ops, func(op *operation) {
		entitled, _ := h.split(op)
		for _, id := range entitled {
			vals, _, ok := h.fill(op, id, fillRead)
			if !ok {
				continue
			}
			if a := h.observe(ctx, op, id.caller(), vals, nil, true); served(a) {
				id.learn(a, true)
				id.addView(a)
			}
		}
	})
}

// createPhase (unsafe methods only) creates an object as each identity
// through every collection create, learning the ids it owns and the values
// it wrote; anonymous, an invalid credential and lower roles try too.
func (h *hunter) createPhase(ctx context.Context) {
	if !h.opts.UnsafeMethods {
		return
	}
	var ops []*operation
	for _, op := range h.ops {
		if op.createFor != "" && h.replayed(op) {
			ops = append(ops, op)
		}
	}
	forEach(ctx, h.opts.Concurrency, ops, func(op *operation) {
		defer h.progress()
		h.neutralWrite(ctx, op, func(id *identity, a *answer) {
			if v := createdID(a, op.createFor); v != "" {
				id.mu.Lock()
				id.created[op.itemPath] = append(id.created[op.itemPath], v)
				id.mu.Unlock()
			}
			id.addView(a)
		})
	})
}

// createdID finds the id of a created object in the answer: a field named
// like the item parameter, or id, or the Location header.
func createdID(a *answer, param string) string {
	if m, ok := a.doc.(map[string]any); ok {
		for _, obj := range []any{m, m["data"], m["result"], m["item"]} {
			o, ok := obj.(map[string]any)
			if !ok {
				continue
			}
			for _, k := range sortedKeys(o) {
				if normKey(k) == normKey(param) {
					if s := scalarString(o[k]); s != "" {
						return s
					}
				}
			}
			if s := scalarString(o["id"]); s != "" {
				return s
			}
		}
	}
	if a.location != "" {
		return path.Base(strings.SplitN(a.location, "?", 2)[0])
	}
	return ""
}

// readObs is everything seen of one safe operation.
type readObs struct {
	op       *operation
	owners   []string                     // identities that own an object op can name, config order
	vals     map[string]map[string]string // identity -> its values
	owned    map[string]map[string]bool   // identity -> which values are its own
	neutral  bool                         // no identity owns a value: examples only
	mine     map[string]*answer           // identity -> answer for its own (or the neutral) values
	anon     map[string]*answer           // owner ("" when neutral) -> anonymous answer for its values
	invalid  *answer                      // invalid credential, for invalidAs's values
	invalidA string                       // whose credential was turned
	cross    map[[2]string]*answer        // {attacker, victim} -> attacker's answer for the victim's values
	lower    map[string]*answer           // lower identity -> answer for lowerRef's values
	lowerRef string                       // identity whose values lower roles used ("" neutral or their own)
}

// readPhase replays every safe operation as every caller.
func (h *hunter) readPhase(ctx context.Context) {
	var ops []*operation
	for _, op := range h.ops {
		if op.method == "GET" && h.replayed(op) {
			ops = append(ops, op)
		}
	}
	forEach(ctx, h.opts.Concurrency, ops, func(op *operation) {
		defer h.progress()
		o := h.observeRead(ctx, op)
		if o == nil {
			op.skipReason = "no parameter values are known for it"
			return
		}
		h.mu.Lock()
		h.reads[op] = o
		h.mu.Unlock()
	})
}

func (h *hunter) observeRead(ctx context.Context, op *operation) *readObs {
	entitled, lowers := h.split(op)
	o := &readObs{op: op, vals: map[string]map[string]string{}, owned: map[string]map[string]bool{},
		mine: map[string]*answer{}, anon: map[string]*answer{}, cross: map[[2]string]*answer{}, lower: map[string]*answer{}}
	for _, id := range entitled {
		vals, owned, ok := h.fill(op, id, fillRead)
		if ok && len(owned) > 0 {
			o.owners = append(o.owners, id.name)
			o.vals[id.name], o.owned[id.name] = vals, owned
		}
	}
	neutral, _, nok := h.fill(op, nil, fillRead)
	var ref map[string]string
	switch {
	case len(o.owners) > 0:
		for _, name := range o.owners {
			o.mine[name] = h.observe(ctx, op, h.byName[name].caller(), o.vals[name], nil, true)
			if served(o.mine[name]) {
				h.byName[name].addView(o.mine[name])
			}
		}
		for _, name := range o.owners {
			o.anon[name] = h.observe(ctx, op, h.anon(), o.vals[name], nil, true)
		}
		first := o.owners[0]
		if !op.public {
			o.invalidA = first
			o.invalid = h.observe(ctx, op, h.invalid(h.byName[first]), o.vals[first], nil, true)
		}
		for _, victim := range o.owners {
			for _, b := range entitled {
				if b.name != victim {
					o.cross[[2]string{b.name, victim}] = h.observe(ctx, op, b.caller(), o.vals[victim], nil, true)
				}
			}
		}
		ref, o.lowerRef = o.vals[first], first
	case nok:
		o.neutral = true
		for _, id := range entitled {
			o.vals[id.name] = neutral
			o.mine[id.name] = h.observe(ctx, op, id.caller(), neutral, nil, true)
		}
		o.anon[""] = h.observe(ctx, op, h.anon(), neutral, nil, true)
		if !op.public {
			var tamper *identity
			if len(entitled) > 0 {
				tamper = entitled[0]
			} else if len(h.ids) > 0 {
				tamper = h.ids[0]
			}
			if tamper != nil {
				o.invalidA = tamper.name
			}
			o.invalid = h.observe(ctx, op, h.invalid(tamper), neutral, nil, true)
		}
		ref = neutral
		if len(entitled) > 0 {
			o.lowerRef = entitled[0].name
		}
	default:
		// Nobody entitled owns a value; a lower role may still name its own
		// object (an admin operation on accounts, say).
		for _, l := range lowers {
			if vals, owned, ok := h.fill(op, l, fillRead); ok && len(owned) > 0 {
				o.anon[""] = h.observe(ctx, op, h.anon(), vals, nil, true)
				o.lower[l.name] = h.observe(ctx, op, l.caller(), vals, nil, true)
			}
		}
		if len(o.lower) == 0 {
			return nil
		}
		o.neutral = true
		return o
	}
	for _, l := range lowers {
		o.lower[l.name] = h.observe(ctx, op, l.caller(), ref, nil, true)
	}
	return o
}

// computeMarkers works out each identity's own values and its private
// markers: private-looking values of its own views that no other
// identity's own views hold.
func (h *hunter) computeMarkers() {
	type seen struct{ kind, field string }
	owners := map[string]map[string]seen{} // value -> identity -> what it is
	note := func(v, who, kind, field string) {
		v = strings.TrimSpace(v)
		if len(v) < 6 {
			return
		}
		if owners[v] == nil {
			owners[v] = map[string]seen{}
		}
		if _, ok := owners[v][who]; !ok {
			owners[v][who] = seen{kind, field}
		}
	}
	for _, id := range h.ids {
		id.mu.Lock()
		for _, a := range id.views {
			for _, it := range itemsIn(a) {
				note(it.value, id.name, it.kind, it.key)
			}
		}
		for _, w := range id.written {
			note(w, id.name, kindWritten, "")
		}
		for _, s := range id.secrets {
			note(s, id.name, kindSecret, "credential")
		}
		if tok, ok := strings.CutPrefix(id.header.Get("Authorization"), "Bearer "); ok {
			note(tok, id.name, kindSecret, "bearer token")
		}
		id.mu.Unlock()
	}
	for _, id := range h.ids {
		id.own = map[string]bool{}
	}
	h.markers = []marker{}
	for v, who := range owners {
		for name := range who {
			h.byName[name].own[v] = true
		}
		if len(who) == 1 {
			for name, s := range who {
				h.markers = append(h.markers, marker{owner: name, kind: s.kind, field: s.field, value: v})
			}
		}
	}
	sort.Slice(h.markers, func(i, j int) bool {
		a, b := h.markers[i], h.markers[j]
		if h.idIndex[a.owner] != h.idIndex[b.owner] {
			return h.idIndex[a.owner] < h.idIndex[b.owner]
		}
		return a.value < b.value
	})
	h.markerByValue = map[string]*marker{}
	for i := range h.markers {
		h.markerByValue[h.markers[i].value] = &h.markers[i]
	}
}

// judgeReads works out the markers, then judges every safe operation in
// spec order.
func (h *hunter) judgeReads(context.Context) {
	if h.judged {
		return
	}
	h.judged = true
	h.computeMarkers()
	for _, op := range h.ops {
		if o := h.reads[op]; o != nil {
			h.judgeRead(o)
		}
	}
}

// enumeratePhase probes the neighbours of known numeric ids.
func (h *hunter) enumeratePhase(ctx context.Context) {
	var obs []*readObs
	for _, op := range h.ops {
		if o := h.reads[op]; o != nil && len(o.owners) > 0 {
			obs = append(obs, o)
		}
	}
	forEach(ctx, h.opts.Concurrency, obs, func(o *readObs) { h.enumerate(ctx, o) })
}

// writePhase (unsafe methods only) replays PUT, PATCH and POSTs that are not
// creates: each identity's own object first, then everyone else's attempt,
// each read back as the owner. Operations on one path run one after another
// so that a read-back sees only the write it checks.
func (h *hunter) writePhase(ctx context.Context) {
	if !h.opts.UnsafeMethods {
		return
	}
	groups := h.groups(func(op *operation) bool {
		return (op.method == "PUT" || op.method == "PATCH" || op.method == "POST" && op.createFor == "") && h.replayed(op)
	})
	forEach(ctx, h.opts.Concurrency, groups, func(g []*operation) {
		for _, op := range g {
			h.writeOp(ctx, op)
			h.progress()
		}
	})
}

// deletePhase (unsafe methods only) tries to delete each identity's
// objects as everyone else, then deletes the objects the hunt created.
func (h *hunter) deletePhase(ctx context.Context) {
	if !h.opts.UnsafeMethods {
		return
	}
	groups := h.groups(func(op *operation) bool { return op.method == "DELETE" && h.replayed(op) })
	forEach(ctx, h.opts.Concurrency, groups, func(g []*operation) {
		for _, op := range g {
			h.deleteOp(ctx, op)
			h.progress()
		}
	})
}

// groups collects the operations keep admits, grouped by path template.
func (h *hunter) groups(keep func(*operation) bool) [][]*operation {
	idx := map[string]int{}
	var out [][]*operation
	for _, op := range h.ops {
		if !keep(op) {
			continue
		}
		k := op.path
		if op.readBack != nil {
			k = op.readBack.path
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], op)
	}
	return out
}

// victim is an identity and the values that name its object.
type victim struct {
	id   *identity
	vals map[string]string
}

// landedState is what a read-back showed.
type landedState int

const (
	unknown landedState = iota // nothing to read back with
	landed                     // the owner sees the writer's value
	missed                     // the owner's object does not show it
)

// readBack reads the victim's object as the victim and says whether any of
// the canaries is in it.
func (h *hunter) readBack(ctx context.Context, op *operation, v victim, canaries []string) (landedState, *answer) {
	if op.readBack == nil || len(canaries) == 0 {
		return unknown, nil
	}
	a := h.observe(ctx, op.readBack, v.id.caller(), v.vals, nil, false)
	if !served(a) {
		return unknown, a
	}
	for _, c := range canaries {
		if strings.Contains(string(a.body), c) {
			return landed, a
		}
	}
	return missed, a
}

func (h *hunter) writeOp(ctx context.Context, op *operation) {
	entitled, lowers := h.split(op)
	var victims []victim
	for _, id := range entitled {
		if vals, owned, ok := h.fill(op, id, fillWrite); ok && len(owned) > 0 {
			victims = append(victims, victim{id, vals})
		}
	}
	if len(victims) == 0 {
		if _, _, ok := h.fill(op, nil, fillWrite); !ok {
			op.skipReason = "no parameter values are known for it"
			return
		}
		h.neutralWrite(ctx, op, nil)
		return
	}
	for _, v := range victims {
		body, cans, err := h.bodyFor(op, v.id.name, v.vals)
		if err != nil {
			op.skipReason = "no request body can be built for it"
			return
		}
		own := h.observe(ctx, op, v.id.caller(), v.vals, body, false)
		if served(own) {
			v.id.mu.Lock()
			v.id.written = append(v.id.written, cans...)
			v.id.mu.Unlock()
		}
		writers := []caller{h.anon(), h.invalid(v.id)}
		for _, b := range entitled {
			if b != v.id {
				writers = append(writers, b.caller())
			}
		}
		for _, l := range lowers {
			writers = append(writers, l.caller())
		}
		for _, w := range writers {
			if op.public && w.id == nil {
				continue
			}
			body, cans, err := h.bodyFor(op, w.name, v.vals)
			if err != nil {
				continue
			}
			a := h.observe(ctx, op, w, v.vals, body, false)
			if !served(a) {
				continue
			}
			state, back := h.readBack(ctx, op, v, cans)
			h.judgeWrite(op, w, v, a, own, state, back)
		}
	}
}

// neutralWrite replays a write that names no identity's object: each
// entitled identity first (onOwn sees its served answers), then anonymous,
// an invalid credential and lower roles.
func (h *hunter) neutralWrite(ctx context.Context, op *operation, onOwn func(*identity, *answer)) {
	entitled, lowers := h.split(op)
	refs := map[string]*answer{}
	var first *identity
	var firstVals map[string]string
	for _, id := range entitled {
		vals, _, ok := h.fill(op, id, fillWrite)
		if !ok {
			continue
		}
		body, cans, err := h.bodyFor(op, id.name, vals)
		if err != nil {
			continue
		}
		a := h.observe(ctx, op, id.caller(), vals, body, false)
		refs[id.name] = a
		if served(a) {
			id.mu.Lock()
			id.written = append(id.written, cans...)
			id.mu.Unlock()
			if onOwn != nil {
				onOwn(id, a)
			}
			if first == nil {
				first, firstVals = id, vals
			}
		}
	}
	vals := firstVals
	if vals == nil {
		var ok bool
		if vals, _, ok = h.fill(op, nil, fillWrite); !ok {
			if len(refs) == 0 {
				op.skipReason = "no parameter values are known for it"
			}
			return
		}
	}
	var writers []caller
	if !op.public {
		writers = append(writers, h.anon(), h.invalid(first))
	}
	for _, l := range lowers {
		writers = append(writers, l.caller())
	}
	for _, w := range writers {
		body, cans, err := h.bodyFor(op, w.name, vals)
		if err != nil {
			continue
		}
		a := h.observe(ctx, op, w, vals, body, false)
		if !served(a) {
			continue
		}
		state, back := unknown, (*answer)(nil)
		var v victim
		if first != nil {
			v = victim{first, vals}
			state, back = h.readBack(ctx, op, v, cans)
		}
		var ref *answer
		if first != nil {
			ref = refs[first.name]
		}
		h.judgeWrite(op, w, v, a, ref, state, back)
	}
}

func (h *hunter) deleteOp(ctx context.Context, op *operation) {
	entitled, lowers := h.split(op)
	var victims []victim
	for _, id := range entitled {
		if vals, owned, ok := h.fill(op, id, fillDelete); ok && len(owned) > 0 {
			victims = append(victims, victim{id, vals})
		}
	}
	if len(victims) == 0 {
		op.skipReason = "deletes only objects the hunt created or the config lists, and knows none for it"
		return
	}
	for _, v := range victims {
		existed := false
		if op.readBack != nil {
			existed = served(h.observe(ctx, op.readBack, v.id.caller(), v.vals, nil, false))
		}
		var writers []caller
		if !op.public {
			writers = append(writers, h.anon(), h.invalid(v.id))
		}
		for _, b := range entitled {
			if b != v.id {
				writers = append(writers, b.caller())
			}
		}
		for _, l := range lowers {
			writers = append(writers, l.caller())
		}
		gone := false
		for _, w := range writers {
			a := h.observe(ctx, op, w, v.vals, nil, false)
			if !served(a) {
				continue
			}
			state := unknown
			var after *answer
			if existed {
				after = h.observe(ctx, op.readBack, v.id.caller(), v.vals, nil, false)
				if after != nil && (after.status == http.StatusNotFound || after.status == http.StatusGone) {
					state, gone = landed, true
				} else if served(after) {
					state = missed
				}
			}
			h.judgeWrite(op, w, v, a, nil, state, after)
			if gone {
				break
			}
		}
		// Clean up what the hunt created; objects the config lists stay.
		if !gone && h.allCreated(op, v) {
			h.observe(ctx, op, v.id.caller(), v.vals, nil, false)
		}
	}
}

// allCreated says whether every path value of v was created by the hunt.
func (h *hunter) allCreated(op *operation, v victim) bool {
	found := false
	_, items := pathContext(op.path)
	for _, p := range op.params {
		if p.In != "path" {
			continue
		}
		if !v.id.createdByHunt(items[p.Name], v.vals[p.Name]) {
			return false
		}
		found = true
	}
	return found
}

// enumerate probes id±1, id±2 of the first owner's numeric ids against an
// id that cannot exist.
func (h *hunter) enumerate(ctx context.Context, o *readObs) {
	op := o.op
	x := h.byName[o.owners[0]]
	vals := o.vals[x.name]
	prev, items := pathContext(op.path)
	for _, p := range op.params {
		if !o.owned[x.name][p.Name] || (p.In != "path" && p.In != "query") {
			continue
		}
		n, err := strconv.ParseUint(vals[p.Name], 10, 63)
		if err != nil || n > 1<<53 {
			continue
		}
		with := func(v uint64) map[string]string {
			m := make(map[string]string, len(vals))
			for k, e := range vals {
				m[k] = e
			}
			m[p.Name] = strconv.FormatUint(v, 10)
			return m
		}
		ctl := h.observe(ctx, op, x.caller(), with(n+1000003), nil, false)
		if ctl == nil || ctl.status == http.StatusTooManyRequests || ctl.status >= 500 {
			return
		}
		var existing []string
		var owners []string
		var sample *answer
		for _, d := range []int64{-1, 1, -2, 2} {
			if int64(n)+d <= 0 {
				continue
			}
			nb := uint64(int64(n) + d)
			if x.owns(p.Name, prev[p.Name], items[p.Name], strconv.FormatUint(nb, 10)) {
				continue
			}
			a := h.observe(ctx, op, x.caller(), with(nb), nil, false)
			if !exists(a, ctl) {
				continue
			}
			s := strconv.FormatUint(nb, 10)
			existing = append(existing, fmt.Sprintf("%s → %d", s, a.status))
			if sample == nil {
				sample = a
			}
			for _, y := range h.ids {
				if y != x && y.owns(p.Name, prev[p.Name], items[p.Name], s) {
					owners = append(owners, y.name+" owns "+s)
				}
			}
			if len(owners) == 0 {
				for _, m := range h.markerHits(a, x.name) {
					owners = append(owners, fmt.Sprintf("%s answers with %s's %s", s, m.owner, m.label()))
					break
				}
			}
		}
		if len(existing) == 0 {
			continue
		}
		h.judgeEnumeration(op, x, p.Name, vals[p.Name], existing, owners, sample, ctl)
		return
	}
}

// exists says whether a neighbour's answer shows an object where the
// control id shows none.
func exists(a, ctl *answer) bool {
	if a == nil || a.status == http.StatusTooManyRequests || a.status >= 500 {
		return false
	}
	if a.status != ctl.status {
		return true
	}
	if served(a) && served(ctl) && a.isJSON && ctl.isJSON {
		return jaccard(a.shape, ctl.shape) < 1 || len(a.leaves) > len(ctl.leaves)+1
	}
	return false
}

// lookupWords in a path mark a lookup operation.
var lookupWords = []string{"lookup", "search", "find", "get_user", "getuser", "user_info", "userinfo", "resolve", "exists", "check"}

// lookupParams are query parameters (normalised) that name a person.
var lookupParams = map[string]bool{"userid": true, "uid": true, "accountid": true, "email": true, "username": true, "phone": true, "login": true, "handle": true, "user": true, "account": true, "id": true, "q": true, "query": true}

// lookupLike says whether a safe operation looks up accounts: the kind an
// enumeration walks, and so the kind that needs a per-caller limit.
func lookupLike(op *operation) bool {
	if op.method != "GET" {
		return false
	}
	p := strings.ToLower(op.path)
	for _, w := range lookupWords {
		if strings.Contains(p, w) {
			return true
		}
	}
	for _, prm := range op.params {
		if prm.In == "query" && lookupParams[normKey(prm.Name)] {
			return true
		}
	}
	segs := strings.Split(strings.Trim(op.path, "/"), "/")
	if n := len(segs); n >= 2 && strings.HasPrefix(segs[n-1], "{") && userCollections[strings.ToLower(segs[n-2])] {
		return true
	}
	return false
}

// burstPhase sends Burst requests to every operation that must be rate
// limited (rate_limited, sign-ins, lookups) and looks for one 429.
func (h *hunter) burstPhase(ctx context.Context) {
	for _, op := range h.ops {
		if ctx.Err() != nil {
			return
		}
		listed := op.rateLimited
		switch {
		case op.login != "":
		case op.skipReason != "":
			continue
		case listed && (op.method == "GET" || h.opts.UnsafeMethods):
		case op.method == "GET" && lookupLike(op):
		default:
			continue
		}
		mk, who, need2xx := h.burstRequest(op)
		if mk == nil {
			continue
		}
		h.burst(ctx, op, who, mk, need2xx)
	}
}

// burstRequest returns a maker of the burst's request for op, who sends
// it, and whether an answer must be a 2xx to count as served.
//
// A sign-in is probed with the identity's own body and a wrong password:
// what a limit must stop is guessing, and servers rightly let correct
// sign-ins through (and reset their failure counters on them). A lookup is
// probed by the least privileged identity looking up another identity's
// object where one is known, since looking oneself up is often not limited.
func (h *hunter) burstRequest(op *operation) (mk func() *request, who string, need2xx bool) {
	if op.login != "" {
		id := h.byName[op.login]
		return func() *request {
			r, _ := h.loginRequest(id)
			if id.cfg.Login.Body != nil {
				r.body, _ = json.Marshal(wrongPassword(id.cfg.Login.Body))
			}
			return r
		}, id.name, false
	}
	if op.public {
		var vals map[string]string
		if o := h.reads[op]; o != nil && len(o.owners) > 0 {
			vals = o.vals[o.owners[0]]
		} else if v, _, ok := h.fill(op, nil, fillRead); ok {
			vals = v
		} else {
			return nil, "", false
		}
		return func() *request { return h.request(op, h.anon(), vals, nil) }, Anonymous, true
	}
	entitled, _ := h.split(op)
	sort.SliceStable(entitled, func(i, j int) bool { return entitled[i].rank < entitled[j].rank })
	for _, id := range entitled {
		vals, _, ok := h.fill(op, id, fillRead)
		if !ok {
			continue
		}
		if o := h.reads[op]; o != nil && op.method == "GET" {
			for _, other := range o.owners {
				if other != id.name {
					vals = o.vals[other]
					break
				}
			}
		}
		var body []byte
		if op.method != "GET" {
			var err error
			if body, _, err = h.bodyFor(op, id.name, vals); err != nil {
				continue
			}
		}
		c := id.caller()
		return func() *request { return h.request(op, c, vals, body) }, id.name, true
	}
	return nil, "", false
}

// wrongPassword returns a sign-in body with its password-like fields
// turned wrong.
func wrongPassword(body any) any {
	switch x := body.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			n := normKey(k)
			if s, ok := v.(string); ok && (strings.Contains(n, "pass") || strings.Contains(n, "secret") || n == "pin" || n == "pwd") {
				out[k] = "wrong-" + tamper(s)
				continue
			}
			out[k] = wrongPassword(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = wrongPassword(v)
		}
		return out
	}
	return body
}

// burst sends Burst requests made by mk, stopping at the first 429. The
// operation lacks a limit when every answer came back (as a 2xx when
// need2xx) and none was a 429.
func (h *hunter) burst(ctx context.Context, op *operation, who string, mk func() *request, need2xx bool) {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var answered, limited int
	var sample, refusal *answer
	idx := make([]int, h.opts.Burst)
	forEach(bctx, h.opts.Concurrency, idx, func(int) {
		a, err := h.send(bctx, mk())
		if err != nil {
			return
		}
		op.sent.Store(true)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case a.status == http.StatusTooManyRequests:
			limited++
			if refusal == nil {
				refusal = a
			}
			cancel()
		case a.status >= 500:
		case need2xx && a.status/100 != 2:
		default:
			answered++
			if sample == nil {
				sample = a
			}
		}
	})
	if op.login != "" {
		// Sign in correctly once more: servers that count failures per
		// account clear them on a success, so the identity is not left
		// locked out for the next run. A short Retry-After is waited out.
		if refusal != nil {
			if secs, err := strconv.Atoi(refusal.retryAfter); err == nil && secs > 0 && secs <= 2 {
				t := time.NewTimer(time.Duration(secs) * time.Second)
				select {
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
		}
		if r, err := h.loginRequest(h.byName[op.login]); err == nil {
			_, _ = h.send(ctx, r)
		}
	}
	if limited == 0 && answered == h.opts.Burst && sample != nil {
		h.judgeBurst(op, who, sample)
	}
}
