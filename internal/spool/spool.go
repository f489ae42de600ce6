// Package spool is a directory of files written atomically under
// time-ordered names: the embedded default of vigil's outgoing channels
// (mail as .eml, SMS as .json), which people and tests read back in the
// order they were written.
package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dir writes files named <unix-nanos>-<id><ext> into one directory. It is
// safe for concurrent use; time stamps are strictly increasing within a
// Dir, so names never collide, even for one id written twice.
type Dir struct {
	path, ext string

	mu   sync.Mutex
	last int64
}

// Open returns a Dir writing files ending in ext into path, creating it
// (mode 0700) and its parents if needed.
func Open(path, ext string) (*Dir, error) {
	if path == "" {
		return nil, fmt.Errorf("no directory given")
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", path)
	}
	return &Dir{path: path, ext: ext}, nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.path }

func (d *Dir) stamp() int64 {
	now := time.Now().UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	if now <= d.last {
		now = d.last + 1
	}
	d.last = now
	return now
}

// Write stores data under a new name for id, atomically: a hidden
// temporary file in the same directory (mode 0600), synced, renamed, and
// the directory synced. A reader never sees a partial file. It returns the
// file's path.
func (d *Dir) Write(id string, data []byte) (path string, err error) {
	name := fmt.Sprintf("%d-%s%s", d.stamp(), id, d.ext)
	f, err := os.CreateTemp(d.path, ".tmp-*"+d.ext)
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; say so explicitly, whatever the umask.
	if err = f.Chmod(0o600); err != nil {
		return "", err
	}
	if _, err = f.Write(data); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	path = filepath.Join(d.path, name)
	if err = os.Rename(tmp, path); err != nil {
		return "", err
	}
	// Make the rename durable. Failure here leaves a complete file in
	// place, so it is not reported.
	if dh, derr := os.Open(d.path); derr == nil {
		_ = dh.Sync()
		dh.Close()
	}
	return path, nil
}

// List returns the paths of the regular files ending in ext in dir, oldest
// first: by the time stamp that starts each name, then by name (files not
// named by a Dir sort first). Hidden files (temporaries) are skipped.
func List(dir, ext string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		name  string
		stamp int64
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ext) {
			continue
		}
		prefix, _, _ := strings.Cut(name, "-")
		stamp, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			stamp = -1
		}
		files = append(files, file{name, stamp})
	}
	slices.SortFunc(files, func(a, b file) int {
		if a.stamp != b.stamp {
			if a.stamp < b.stamp {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Join(dir, f.name)
	}
	return out, nil
}
