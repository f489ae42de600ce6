package password

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// commonPasswordsFile is the bundled list of common and breached passwords;
// its header says where it comes from and under which licence. Entries are
// lower-cased, at least 8 code points long, sorted by byte value and unique,
// which TestCommonListShape checks.
//
//go:embed commonpasswords.txt
var commonPasswordsFile string

// commonPasswords returns the bundled list's entries, sorted. The slice is
// built on first use and shares its strings with the embedded file.
var commonPasswords = sync.OnceValue(func() []string {
	lines := strings.Split(commonPasswordsFile, "\n")
	list := make([]string, 0, len(lines))
	for _, line := range lines {
		line = strings.TrimSuffix(line, "\r") // a checkout with CRLF line ends
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		list = append(list, line)
	}
	return list
})

// isCommon reports whether pw, already normalised and lower-cased, is on the
// bundled list.
func isCommon(lower string) bool {
	_, found := slices.BinarySearch(commonPasswords(), lower)
	return found
}
