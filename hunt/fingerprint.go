package hunt

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Fingerprint returns the stable fingerprint of a finding: 32 hex digits of
// a SHA-256 over its rule, method, path template and identities — never
// its evidence, whose ids, timestamps and excerpts change from run to run —
// so that baselines and SARIF diffs do not churn.
func Fingerprint(f *Finding) string {
	var b strings.Builder
	b.WriteString("vigil-hunt/1\x00")
	b.WriteString(f.Rule)
	b.WriteByte(0)
	b.WriteString(strings.ToUpper(f.Method))
	b.WriteByte(0)
	b.WriteString(f.Path)
	for _, id := range f.Identities {
		b.WriteByte(0)
		b.WriteString(id)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}
