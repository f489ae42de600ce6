package sqlstore

import "testing"

// FuzzDecodeCursor: cursors come from clients; decoding never panics and
// whatever it accepts encodes back to the same cursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1767225600000000, "aaaaaaaaaaaaaaaaaaaaaaaaaa"))
	f.Add("")
	f.Add("MTIzLmFiYw")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, c string) {
		at, id, ok := decodeCursor(c)
		if !ok {
			return
		}
		if at <= 0 || len(id) != 26 {
			t.Fatalf("accepted %q as (%d, %q)", c, at, id)
		}
		if again := encodeCursor(at, id); again != c {
			if at2, id2, ok2 := decodeCursor(again); !ok2 || at2 != at || id2 != id {
				t.Fatalf("round trip of %q failed", c)
			}
		}
	})
}
