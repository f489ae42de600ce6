package spool

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestWriteAndList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	d, err := Open(dir, ".txt")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := d.Write("same-id", []byte(strconv.Itoa(i))); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	p, err := d.Write("last", []byte("last"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	os.WriteFile(filepath.Join(dir, ".tmp-x.txt"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "other.eml"), nil, 0o600)
	paths, err := List(dir, ".txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 21 || paths[20] != p {
		t.Fatalf("listed %d files, last %s; want 21 ending with the last written", len(paths), paths[len(paths)-1])
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode().Perm())
	}
	if _, err := Open(p, ".txt"); err == nil {
		t.Fatal("opened a file as a spool directory")
	}
}
