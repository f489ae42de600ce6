package hunt

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// fixes says how to fix each rule's findings.
var fixes = map[string]string{
	RuleBrokenAuthentication: "Deny by default: register every route with an access policy, verify the credential (signature, expiry, revocation) before anything else, and answer 401 to a missing or invalid one — never a degraded answer.",
	RulePublicFallback:       "Serve anonymous callers a separate public type that cannot hold private fields; never fall back to the owner's data when the credential check fails.",
	RuleBOLA:                 "Scope every object lookup and write by the caller (WHERE owner = actor) in the service or query layer, and answer 404 for objects the caller may not see.",
	RuleBFLA:                 "Check the caller's role in the operation's access policy, not in the client; answer 403 to callers below it.",
	RuleDataExposure:         "Return a response type made for this audience: drop password hashes, tokens and secrets from every response, and others' contact details from views other callers see.",
	RuleEnumerableID:         "Use opaque random identifiers, and answer exactly alike (404) for objects that do not exist and objects the caller may not see.",
	RuleNoRateLimit:          "Limit this operation per caller and per account (429 with Retry-After), and raise an alert on bursts.",
}

func (h *hunter) add(f Finding) {
	f.Fix = fixes[f.Rule]
	if f.Identities == nil {
		f.Identities = []string{}
	}
	h.mu.Lock()
	h.cands = append(h.cands, f)
	h.mu.Unlock()
}

func newFinding(rule, severity, confidence string, op *operation, title string, ev Evidence, ids ...string) Finding {
	var list []string
	for _, id := range ids {
		if id != "" {
			list = append(list, id)
		}
	}
	return Finding{Rule: rule, Severity: severity, Confidence: confidence, Method: op.method, Path: op.path,
		Identities: list, Title: title, Evidence: ev}
}

func evidence(a *answer, proof, baseline string) Evidence {
	e := Evidence{Proof: proof, Baseline: baseline}
	if a != nil {
		e.Request = a.req.display()
		e.Status = a.status
		e.Excerpt = excerpt(a)
	}
	return e
}

// brief describes an answer in one line for a baseline.
func brief(a *answer) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf("%s answered %d", a.req.display(), a.status)
}

func only(hits []marker, owner string) []marker {
	var out []marker
	for _, m := range hits {
		if m.owner == owner {
			out = append(out, m)
		}
	}
	return out
}

func secretKind(k string) bool {
	return k == kindHash || k == kindSecret || k == kindJWT || k == kindToken
}

// privateLooking returns the private-looking values of a that sit where
// ref (when given) has a value too.
func privateLooking(a, ref *answer) []item {
	if a == nil {
		return nil
	}
	var out []item
	if a.isJSON {
		for _, l := range a.leaves {
			if ref != nil && ref.isJSON && !ref.shape[l.path] {
				continue
			}
			for _, it := range classifyAll(l.key, l.val, l.str) {
				if ref == nil && it.kind == kindToken {
					continue
				}
				out = append(out, it)
			}
		}
		return out
	}
	return textItems(string(a.body))
}

// exposureCand is an answer to judge for data exposure.
type exposureCand struct {
	receiver string
	a        *answer
}

// judgeRead judges one safe operation from its observations.
func (h *hunter) judgeRead(o *readObs) {
	op := o.op
	ruled := map[string]bool{}
	refFor := func(v string) (string, *answer) {
		if v != "" {
			return v, o.mine[v]
		}
		for _, id := range h.ids {
			if a := o.mine[id.name]; a != nil {
				return id.name, a
			}
		}
		return "", nil
	}
	anonKeys := o.owners
	if o.neutral {
		anonKeys = []string{""}
	}

	// Answers that got through without a valid credential.
	var broken []*answer

	// Anonymous callers.
	for _, v := range anonKeys {
		a := o.anon[v]
		if !served(a) {
			continue
		}
		refName, ref := refFor(v)
		smaller := op.public || reduced(a, ref)
		hits := h.markerHits(a, "")
		if smaller {
			// Another view: only values private wherever they show count.
			hits = strong(hits)
		}
		if len(hits) > 0 {
			victim := hits[0].owner
			proof := "the anonymous answer carries " + describeHits(hits)
			if smaller {
				h.add(newFinding(RulePublicFallback, SeverityHigh, Confirmed, op,
					fmt.Sprintf("%s falls back to a public view that still shows %s's private data", op.key, victim),
					evidence(a, proof+", in a view smaller than the owner's", brief(o.mine[victim])), Anonymous, victim))
				ruled[RulePublicFallback] = true
			} else {
				h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op,
					fmt.Sprintf("%s answers anonymous callers with %s's private data", op.key, victim),
					evidence(a, proof+"; the operation is not public", brief(o.mine[victim])), Anonymous, victim))
				ruled[RuleBrokenAuthentication] = true
				broken = append(broken, a)
			}
			continue
		}
		if op.public {
			continue
		}
		if op.rank > 0 && served(ref) && similar(a, ref) && !trivial(ref) {
			h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op,
				fmt.Sprintf("%s answers anonymous callers, though it requires the %s role", op.key, op.role),
				evidence(a, fmt.Sprintf("the anonymous answer has the shape of %s's (role %s) answer", refName, op.role), brief(ref)), Anonymous, refName))
			ruled[RuleBrokenAuthentication] = true
			broken = append(broken, a)
			continue
		}
		if h.publicAlike(o) {
			continue // everyone gets the same: public content
		}
		if items := privateLooking(a, ref); len(items) > 0 {
			proof := fmt.Sprintf("the anonymous answer carries a %s (%s) where the owner's view has one", items[0].kind, mask(items[0].kind, items[0].value))
			if served(ref) && reduced(a, ref) {
				h.add(newFinding(RulePublicFallback, SeverityMedium, Suspected, op,
					fmt.Sprintf("%s may fall back to a public view that shows private-looking data", op.key),
					evidence(a, proof, brief(ref)), Anonymous, refName))
				ruled[RulePublicFallback] = true
			} else {
				h.add(newFinding(RuleBrokenAuthentication, SeverityHigh, Suspected, op,
					fmt.Sprintf("%s may answer anonymous callers with private data", op.key),
					evidence(a, proof, brief(ref)), Anonymous, refName))
				ruled[RuleBrokenAuthentication] = true
				broken = append(broken, a)
			}
		}
	}

	// A plausible but wrong credential.
	if a := o.invalid; !op.public && served(a) {
		refName := o.invalidA
		ref := o.mine[refName]
		anonKey := refName
		if o.neutral {
			anonKey = ""
		}
		anonRefused := !served(o.anon[anonKey])
		title := fmt.Sprintf("%s accepts an invalid credential", op.key)
		switch hits := h.markerHits(a, ""); {
		case len(hits) > 0:
			h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op, title+" and answers with "+hits[0].owner+"'s private data",
				evidence(a, "a wrong bearer token (a turned signature) was accepted; the answer carries "+describeHits(hits), brief(o.anon[anonKey])), InvalidCredential, hits[0].owner))
			ruled[RuleBrokenAuthentication] = true
			broken = append(broken, a)
		case anonRefused && served(ref) && alike(a, ref) && !trivial(ref):
			h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op, title,
				evidence(a, fmt.Sprintf("a wrong credential got exactly %s's answer, while no credential was refused", refName), brief(o.anon[anonKey])), InvalidCredential, refName))
			ruled[RuleBrokenAuthentication] = true
			broken = append(broken, a)
		case op.rank > 0 && served(ref) && similar(a, ref) && !trivial(ref):
			h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op, title,
				evidence(a, fmt.Sprintf("a wrong credential got the %s role's view", op.role), brief(ref)), InvalidCredential, refName))
			ruled[RuleBrokenAuthentication] = true
			broken = append(broken, a)
		case anonRefused && len(privateLooking(a, ref)) > 0:
			h.add(newFinding(RuleBrokenAuthentication, SeverityHigh, Suspected, op, title,
				evidence(a, "a wrong credential was served private-looking data, while no credential was refused", brief(o.anon[anonKey])), InvalidCredential))
			ruled[RuleBrokenAuthentication] = true
			broken = append(broken, a)
		}
	}

	// Other identities asking for an owner's object.
	var exposures []exposureCand
	if !ruled[RuleBrokenAuthentication] {
		for _, victim := range o.owners {
			refA := o.mine[victim]
			for _, b := range h.ids {
				c := o.cross[[2]string{b.name, victim}]
				if !served(c) {
					continue
				}
				if served(refA) && reduced(c, refA) {
					// Another view (a public profile, say): not the owner's,
					// so judged for what it shows, as data exposure.
					exposures = append(exposures, exposureCand{b.name, c})
					continue
				}
				if hits := only(h.markerHits(c, b.name), victim); len(hits) > 0 {
					h.add(newFinding(RuleBOLA, SeverityHigh, Confirmed, op,
						fmt.Sprintf("%s can read %s's object through %s", b.name, victim, op.key),
						evidence(c, fmt.Sprintf("%s's answer for %s's object is %s's own view and carries %s", b.name, victim, victim, describeHits(hits)), brief(refA)), b.name, victim))
					ruled[RuleBOLA] = true
					continue
				}
				if len(only(h.markerHits(c, ""), b.name)) > 0 {
					continue // the API answered with b's own object
				}
				if refB := o.mine[b.name]; served(refB) && alike(c, refB) {
					continue
				}
				if served(refA) && alike(c, refA) && len(privateLooking(refA, nil)) > 0 && !served(o.anon[victim]) {
					h.add(newFinding(RuleBOLA, SeverityMedium, Suspected, op,
						fmt.Sprintf("%s may read %s's object through %s", b.name, victim, op.key),
						evidence(c, fmt.Sprintf("%s's answer equals %s's own view, which holds private-looking values (none unique to %s)", b.name, victim, victim), brief(refA)), b.name, victim))
					ruled[RuleBOLA] = true
					continue
				}
				exposures = append(exposures, exposureCand{b.name, c})
			}
		}
	}

	// Lower roles.
	if op.rank > 0 && !ruled[RuleBrokenAuthentication] {
		for _, l := range h.ids {
			a := o.lower[l.name]
			if !served(a) {
				continue
			}
			hName := o.lowerRef
			ref := o.mine[hName]
			hits := h.markerHits(a, l.name)
			title := fmt.Sprintf("%s (role %s) reaches %s, which requires the %s role", l.name, roleName(l, h), op.key, op.role)
			switch {
			case served(ref) && similar(a, ref) && !trivial(ref):
				h.add(newFinding(RuleBFLA, SeverityHigh, Confirmed, op, title,
					evidence(a, fmt.Sprintf("%s's answer has the shape of %s's (role %s)", l.name, hName, op.role), brief(ref)), l.name, hName))
			case len(hits) > 0:
				h.add(newFinding(RuleBFLA, SeverityHigh, Confirmed, op, title,
					evidence(a, "the answer carries "+describeHits(hits), brief(ref)), l.name, hits[0].owner))
			case !trivial(a):
				h.add(newFinding(RuleBFLA, SeverityMedium, Suspected, op, title,
					evidence(a, fmt.Sprintf("%s was served, though its answer differs from the %s role's", l.name, op.role), brief(ref)), l.name))
			default:
				continue
			}
			ruled[RuleBFLA] = true
		}
	}

	// Excessive data exposure. Where another identity's object reached a
	// signed-in caller (bola, bfla) or a public view (public-fallback), that
	// finding says it all. Where it reached a caller without a valid
	// credential through an operation that names an object (the incident's
	// endpoint), what the answer carries is a flaw of its own: private
	// fields and secrets in a type that anyone who gets past the gate
	// receives.
	if ruled[RulePublicFallback] || ruled[RuleBOLA] || ruled[RuleBFLA] || ruled[RuleBrokenAuthentication] && (op.self || o.neutral) {
		return
	}
	if ruled[RuleBrokenAuthentication] {
		exposures = exposures[:0]
		for _, a := range broken {
			exposures = append(exposures, exposureCand{a.req.who, a})
		}
	}
	if o.neutral && !op.self && !ruled[RuleBrokenAuthentication] {
		for _, id := range h.ids {
			if a := o.mine[id.name]; a != nil {
				exposures = append(exposures, exposureCand{id.name, a})
			}
		}
	}
	for _, k := range anonKeys {
		if a := o.anon[k]; a != nil && !ruled[RuleBrokenAuthentication] {
			exposures = append(exposures, exposureCand{Anonymous, a})
		}
	}
	pub := h.publicAlike(o)
	var best *Finding
	for _, c := range exposures {
		if f := h.exposure(op, c.receiver, c.a, pub); f != nil && (best == nil || stronger(*f, *best)) {
			best = f
		}
	}
	if best != nil {
		h.add(*best)
	}
}

func roleName(id *identity, h *hunter) string {
	if id.cfg.Role != "" {
		return id.cfg.Role
	}
	if len(h.cfg.Roles) > 0 {
		return h.cfg.Roles[0]
	}
	return "none"
}

// publicAlike says whether op is public or answers everyone alike: what it
// shows is then public content, and values of unknown owner in it are not
// exposures.
func (h *hunter) publicAlike(o *readObs) bool {
	if o.op.public {
		return true
	}
	var first *answer
	n := 0
	for _, a := range o.mine {
		if !served(a) {
			return false
		}
		if first == nil {
			first = a
		} else if !alike(a, first) {
			return false
		}
		n++
	}
	for _, a := range o.anon {
		if !served(a) || (first != nil && !alike(a, first)) {
			return false
		}
	}
	return n > 0
}

// exposure judges one answer to receiver for data exposure.
func (h *hunter) exposure(op *operation, receiver string, a *answer, publicContent bool) *Finding {
	if !served(a) {
		return nil
	}
	var own map[string]bool
	adminView := false
	if id := h.byName[receiver]; id != nil {
		own = id.own
		adminView = id.rank > 0 && op.rank > 0
	}
	pii := func(k string) bool { return k == kindEmail || k == kindPhone }
	var conf, susp []string
	secret := false
	victim := ""
	for _, m := range h.markerHits(a, receiver) {
		if !strongKind(m.kind) || adminView && pii(m.kind) {
			continue
		}
		conf = append(conf, m.owner+"'s "+m.label()+" "+mask(m.kind, m.value))
		if victim == "" {
			victim = m.owner
		}
		if secretKind(m.kind) {
			secret = true
		}
	}
	seen := map[string]bool{}
	for _, it := range itemsIn(a) {
		if own[it.value] || h.markerByValue[it.value] != nil || seen[it.value] {
			continue
		}
		seen[it.value] = true
		if strings.Contains(a.req.url, it.value) || strings.Contains(a.req.url, url.QueryEscape(it.value)) {
			continue // the caller's own request, echoed
		}
		if adminView && pii(it.kind) {
			continue
		}
		d := "a " + it.kind + " " + mask(it.kind, it.value)
		if it.key != "" {
			d += " in " + it.key
		}
		switch {
		case it.kind == kindHash || it.kind == kindJWT:
			conf, secret = append(conf, d), true
		case it.kind == kindSecret && (len(it.value) >= 16 || highEntropy(it.value)):
			conf, secret = append(conf, d), true
		case !publicContent:
			susp = append(susp, d)
		}
	}
	severity, confidence := SeverityLow, Suspected
	list := susp
	switch {
	case len(conf) > 0 && secret:
		severity, confidence, list = SeverityHigh, Confirmed, conf
	case len(conf) > 0:
		severity, confidence, list = SeverityMedium, Confirmed, conf
	case len(susp) == 0:
		return nil
	}
	if len(list) > 4 {
		list = append(list[:4:4], "…")
	}
	f := newFinding(RuleDataExposure, severity, confidence, op,
		fmt.Sprintf("%s shows %s data that is not theirs", op.key, receiver),
		evidence(a, "the answer to "+receiver+" carries "+strings.Join(list, ", "), ""), receiver, victim)
	f.Fix = fixes[RuleDataExposure]
	return &f
}

// judgeWrite judges a served write (or delete) by w on v's object.
func (h *hunter) judgeWrite(op *operation, w caller, v victim, a, ownerRef *answer, state landedState, back *answer) {
	vname := ""
	if v.id != nil {
		vname = v.id.name
	}
	var hits []marker
	if vname != "" {
		hits = only(h.markerHits(a, w.name), vname)
	}
	verb := "change"
	if op.method == "DELETE" {
		verb = "delete"
	}
	proofLanded := fmt.Sprintf("%s's %s was seen by %s afterwards: %s", w.name, strings.ToLower(op.method), vname, brief(back))
	if op.method == "DELETE" {
		proofLanded = fmt.Sprintf("after %s's DELETE, %s's own read of the object: %s", w.name, vname, brief(back))
	}
	switch {
	case w.id == nil:
		if op.public {
			return
		}
		who := "anonymous callers"
		if w.name == InvalidCredential {
			who = "an invalid credential"
		}
		title := fmt.Sprintf("%s lets %s %s", op.key, who, verb+" data")
		switch {
		case state == landed:
			h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op, title, evidence(a, proofLanded, ""), w.name, vname))
		case len(hits) > 0:
			h.add(newFinding(RuleBrokenAuthentication, SeverityCritical, Confirmed, op, title, evidence(a, "the answer carries "+describeHits(hits), ""), w.name, vname))
		case state == unknown && op.declared:
			h.add(newFinding(RuleBrokenAuthentication, SeverityHigh, Suspected, op, title,
				evidence(a, fmt.Sprintf("%s was answered %d; the write could not be read back", w.name, a.status), brief(ownerRef)), w.name))
		}
	case w.id.rank < op.rank:
		title := fmt.Sprintf("%s (role %s) can %s through %s, which requires the %s role", w.name, roleName(w.id, h), verb, op.key, op.role)
		switch {
		case state == landed:
			h.add(newFinding(RuleBFLA, SeverityHigh, Confirmed, op, title, evidence(a, proofLanded, ""), w.name, vname))
		case len(hits) > 0:
			h.add(newFinding(RuleBFLA, SeverityHigh, Confirmed, op, title, evidence(a, "the answer carries "+describeHits(hits), ""), w.name, vname))
		case state == unknown && served(ownerRef) && similar(a, ownerRef) && !trivial(ownerRef):
			h.add(newFinding(RuleBFLA, SeverityHigh, Confirmed, op, title,
				evidence(a, fmt.Sprintf("%s's answer has the shape of %s's (role %s)", w.name, vname, op.role), brief(ownerRef)), w.name, vname))
		case state == unknown:
			h.add(newFinding(RuleBFLA, SeverityMedium, Suspected, op, title,
				evidence(a, fmt.Sprintf("%s was answered %d; the write could not be read back", w.name, a.status), brief(ownerRef)), w.name))
		}
	default:
		title := fmt.Sprintf("%s can %s %s's object through %s", w.name, verb, vname, op.key)
		switch {
		case state == landed:
			h.add(newFinding(RuleBOLA, SeverityHigh, Confirmed, op, title, evidence(a, proofLanded, ""), w.name, vname))
		case len(hits) > 0:
			h.add(newFinding(RuleBOLA, SeverityHigh, Confirmed, op, title, evidence(a, "the answer carries "+describeHits(hits), ""), w.name, vname))
		case state == unknown && (op.method == "DELETE" || served(ownerRef) && similar(a, ownerRef) && !trivial(a)):
			h.add(newFinding(RuleBOLA, SeverityMedium, Suspected, op, strings.Replace(title, " can ", " may ", 1),
				evidence(a, fmt.Sprintf("%s was answered %d for %s's object; the write could not be read back", w.name, a.status, vname), brief(ownerRef)), w.name, vname))
		}
	}
}

// judgeEnumeration reports neighbours of a known id that exist.
func (h *hunter) judgeEnumeration(op *operation, x *identity, param, value string, existing, owners []string, sample, ctl *answer) {
	severity, confidence := SeverityLow, Suspected
	proof := fmt.Sprintf("neighbours of %s=%s answer unlike an id that cannot exist: %s", param, value, strings.Join(existing, ", "))
	if len(owners) > 0 {
		severity, confidence = SeverityMedium, Confirmed
		proof += "; they are other identities' objects (" + strings.Join(owners, "; ") + ")"
	}
	h.add(newFinding(RuleEnumerableID, severity, confidence, op,
		fmt.Sprintf("%s lets %s walk sequential %s values", op.key, x.name, param),
		evidence(sample, proof, "an id that cannot exist: "+brief(ctl)), x.name))
}

// judgeBurst reports an operation that served a whole burst.
func (h *hunter) judgeBurst(op *operation, who string, sample *answer) {
	why, what := "a lookup", "requests"
	switch {
	case op.login != "":
		why, what = "a sign-in", "sign-ins with a wrong password"
		if op.rateLimited {
			why = "a sign-in listed in rate_limited"
		}
	case op.rateLimited:
		why = "listed in rate_limited"
	}
	h.add(newFinding(RuleNoRateLimit, SeverityMedium, Confirmed, op,
		fmt.Sprintf("%s answered a burst of %d %s without a 429", op.key, h.opts.Burst, what),
		evidence(sample, fmt.Sprintf("%s (%s) answered all %d %s from %s, sent at most %s per second, without one 429", op.key, why, h.opts.Burst, what, who, strconv.FormatFloat(h.opts.Rate, 'f', -1, 64)), ""), who))
}
