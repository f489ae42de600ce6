package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is wrapped by every error of ParsePHC, and so by Verify's
// error for a stored hash it cannot read. Such an error means the stored value
// is corrupt or was written by something else: a fault of the store, not of
// the person logging in.
var ErrMalformedHash = errors.New("password: malformed argon2id PHC string")

// maxPHCLen bounds the input ParsePHC looks at. The longest string it accepts,
// with every parameter at its maximum, is about 210 bytes.
const maxPHCLen = 256

// b64 is the encoding of salt and key in a PHC string: standard alphabet,
// no padding, and (Strict) no stray bits in the last character.
var b64 = base64.RawStdEncoding.Strict()

// ParsePHC parses an argon2id hash in PHC string format,
//
//	$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>
//
// with salt and key in unpadded standard base64, as written by Hasher.Hash
// and by the reference argon2 CLI. It accepts exactly that shape: no other
// algorithm or version, no optional keyid or data fields, decimal numbers
// without sign or leading zeros, and only canonical base64. The returned
// Params carry the salt and key lengths and have passed Validate, so the
// caller can compute with them without further checks. Every failure returns
// an error wrapping ErrMalformedHash whose text never contains the input; it
// never panics.
func ParsePHC(s string) (p Params, salt, key []byte, err error) {
	fail := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, args...)...)
	}
	if len(s) > maxPHCLen {
		return fail("longer than %d bytes", maxPHCLen)
	}
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return fail("want 5 fields separated by '$'")
	}
	if fields[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("version is not v=%d", argon2.Version)
	}

	cost := strings.Split(fields[3], ",")
	if len(cost) != 3 {
		return fail("want parameters m=,t=,p= and nothing else")
	}
	var nums [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(cost[i], name)
		if !ok {
			return fail("want parameters m=,t=,p= in that order")
		}
		n, ok := parseDecimal(digits)
		if !ok {
			return fail("parameter %s is not a decimal number below 2^32", name[:1])
		}
		nums[i] = n
	}
	if nums[2] > math.MaxUint8 {
		// Checked before the conversion below, which would wrap.
		return fail("%w: parallelism %d not in [%d, %d]", ErrInvalidParams, nums[2], MinParallelism, MaxParallelism)
	}

	if salt, err = decodeB64(fields[4], MaxSaltLen); err != nil {
		return fail("salt: %v", err)
	}
	if key, err = decodeB64(fields[5], MaxKeyLen); err != nil {
		return fail("key: %v", err)
	}
	p = Params{
		Memory:      nums[0],
		Iterations:  nums[1],
		Parallelism: uint8(nums[2]),
		SaltLen:     uint32(len(salt)),
		KeyLen:      uint32(len(key)),
	}
	if err := p.Validate(); err != nil {
		return fail("%w", err)
	}
	return p, salt, key, nil
}

// parseDecimal parses what the PHC format allows for a number: ASCII digits
// with no sign and no leading zero, fitting in 32 bits.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// decodeB64 decodes s as unpadded standard base64 of at most maxLen bytes. It
// rejects every input that does not re-encode to itself: the decoder skips
// '\r' and '\n', which a strict format must not.
func decodeB64(s string, maxLen int) ([]byte, error) {
	if len(s) > b64.EncodedLen(maxLen) {
		return nil, fmt.Errorf("longer than %d bytes", maxLen)
	}
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, errors.New("not canonical unpadded base64")
	}
	return b, nil
}

// encodePHC is the inverse of ParsePHC.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}
