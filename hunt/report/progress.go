package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressWidth is the bar's width in cells; the whole line stays under
// 70 columns, so it fits any terminal without wrapping.
const progressWidth = 30

// progressEvery bounds how often the bar is redrawn; the last step is
// always drawn.
const progressEvery = 100 * time.Millisecond

// NewProgress returns a function to give hunt.Options.Progress. On a
// terminal it draws one line that it redraws in place with \r:
//
//	hunting [===========>                  ]  38%  190/500
//
// Elsewhere (a CI log, a pipe) it draws nothing, so logs hold no carriage
// returns. Calling it with done < 0 clears the line: do so when the hunt
// ends, whether or not it reached total, before printing anything else to
// the same terminal. It is safe for concurrent use.
func NewProgress(w io.Writer, isTerminal bool) func(done, total int) {
	if !isTerminal {
		return func(int, int) {}
	}
	var (
		mu    sync.Mutex
		last  string
		drawn time.Time
		shown bool
	)
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if done < 0 {
			if shown {
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", len(last)))
				shown, last = false, ""
			}
			return
		}
		line := progressLine(done, total)
		now := time.Now()
		if line == last || (now.Sub(drawn) < progressEvery && done < total) {
			return
		}
		pad := ""
		if n := len(last) - len(line); n > 0 {
			pad = strings.Repeat(" ", n) // wipe what a longer line left
		}
		fmt.Fprintf(w, "\r%s%s", line, pad)
		last, drawn, shown = line, now, true
	}
}

// progressLine renders the bar for done of total steps; with no known
// total it shows the count alone.
func progressLine(done, total int) string {
	if total <= 0 {
		return fmt.Sprintf("hunting... %d", done)
	}
	done = min(done, total)
	filled := done * progressWidth / total
	bar := strings.Repeat("=", filled)
	if filled < progressWidth {
		bar += ">" + strings.Repeat(" ", progressWidth-filled-1)
	}
	return fmt.Sprintf("hunting [%s] %3d%%  %d/%d", bar, done*100/total, done, total)
}
