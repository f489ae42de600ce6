// Package hunt is the engine of `vigil hunt`: it replays an API described by
// an OpenAPI 3.0/3.1 document as anonymous, as an invalid credential, as
// each configured identity against the others' objects and as weaker roles,
// and reports where the API let a caller through that it should have
// stopped, or showed more than it should.
//
// # Judging, not guessing
//
// Status codes alone mislead (a 302 to a login page is not a bypass, a
// public endpoint is not a leak, an echoed id is not a breach), so hunt
// judges every answer against baselines and only calls a finding
// Confirmed with proof:
//
//   - Baselines first. For every operation hunt takes the owner's answer
//     (each identity asking for its own object, with parameter values from
//     the config's owns, from objects it created, or from its own sign-in
//     and "me" answers), the anonymous answer, an invalid-credential answer
//     and each other identity's answer for that same object.
//   - Private markers. From each identity's own views (its sign-in answer,
//     its self endpoints, its own objects, the values hunt wrote as it) hunt
//     learns the values that look private — emails, phone numbers, JWTs,
//     password hashes, tokens and secrets, high-entropy strings, values it
//     wrote — and that no other identity's own views share. Those markers
//     are the proof: another caller's answer that carries them is showing
//     that identity's private data. Ids are never markers, so an id echoed
//     back proves nothing.
//   - Enforced is enforced. A redirect (especially to a login page), 401,
//     403, 404, 405, any other error status, an HTML login form and an error
//     body (application/problem+json, {"error": ...}, {"success": false})
//     all count as the API saying no. 429 and 5xx are inconclusive.
//   - Public is public. An operation that answers everyone alike with
//     nothing private is treated as public, whatever the document says,
//     and is not a finding.
//   - Views are compared by shape. An answer with the owner's shape (the same
//     JSON key paths) is the owner's view; a strictly smaller one is another
//     view (a public profile, a "public mode"), which is fine unless it
//     still carries the owner's private markers.
//   - Writes are read back. A write by one caller to another's object is a
//     finding only when the owner, reading its object afterwards, sees the
//     value the writer wrote (or a delete made it disappear). A success
//     status whose write landed elsewhere — on the writer's own object, say —
//     is not a finding.
//
// Everything weaker (a similar shape without markers, a write that could
// not be read back, a private-looking value of unknown owner) is reported
// as Suspected, at a lower severity.
//
// # Rules
//
//   - broken-authentication: an operation not meant for anonymous callers
//     answers one with no credential, or with a syntactically plausible but
//     wrong one, and the answer carries an identity's private markers (or is
//     the higher role's view of a role-gated operation, or is a write).
//   - public-fallback: an anonymous answer in a reduced ("public") view that
//     still carries the owner's private markers.
//   - bola: identity B reaches identity A's object: B's answer carries A's
//     markers in A's own view, or B's write or delete is seen by A.
//   - bfla: an identity below the role an operation requires (config
//     `requires`, or the spec's x-required-role, x-roles, x-vigil-policy, or
//     a tag named like a role) gets the higher role's answer.
//   - data-exposure: an answer to someone other than the owner that
//     carries another identity's contact details or secrets, password
//     hashes, JWTs or secret fields (an admin seeing email addresses in an
//     admin-only operation is not one). An answer a bola, bfla or
//     public-fallback finding already covers is not reported again; an
//     object's private view served without a valid credential (the
//     incident's endpoint) is, next to its broken-authentication: the
//     type that carries the secrets is a flaw of its own.
//   - enumerable-id: a numeric id whose neighbours (id±1, id±2) answer
//     differently from an id that cannot exist, so objects can be walked;
//     confirmed when the neighbours are other identities' objects.
//   - no-rate-limit: an operation listed in rate_limited, or a login or
//     lookup, that serves a whole burst without one 429.
//
// # Safety
//
// Only safe methods are replayed unless Options.UnsafeMethods is set; then
// operations run in the order create, read, update, delete, and only
// objects the hunt created or the config lists are deleted. A global rate
// cap, a request budget that is never exceeded, per-request timeouts and a
// bound on requests in flight keep a hunt polite. Evidence never holds
// credentials: Authorization and Cookie headers are never recorded, and
// private-looking values are masked to a short prefix and "…".
package hunt
