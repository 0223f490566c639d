package metrics

import (
	"math"
	"sync"
	"time"
)

// appendLogSeconds is how far back an appendLog remembers: a mark older
// than this is too old to know, and a cache falls back on its freshness
// bound. An hour, the cache's default TTL, so that an extent's mark is
// known for as long as the extent is kept.
const appendLogSeconds = 3600

// appendLog keeps, for every second of the last hour, the oldest timestamp
// of the samples committed in that second, so that a cache can ask which
// of its steps samples committed after its evaluation could have changed.
// A second is the unit because a panel is reloaded seconds apart at the
// least, and 3,600 slots are few to scan.
type appendLog struct {
	origin time.Time // carries the monotonic clock, immune to wall clock steps

	mu     sync.Mutex
	second [appendLogSeconds]int64 // 1 + the second the slot holds, 0 for none
	oldest [appendLogSeconds]int64 // ms
}

// now is the current second since origin; l.mu is held, so that the
// seconds of add, Mark and AppendedSince never go backwards relative to
// each other.
func (l *appendLog) now() int64 {
	return int64(time.Since(l.origin) / time.Second)
}

func (l *appendLog) add(oldest int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.now()
	i := s % appendLogSeconds
	if l.second[i] != s+1 {
		l.second[i], l.oldest[i] = s+1, oldest
		return
	}
	l.oldest[i] = min(l.oldest[i], oldest)
}

func (l *appendLog) mark() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now()
}

// since returns the oldest timestamp committed from mark's second on
// (so possibly a little before the mark was taken, which only costs a
// re-evaluation), math.MaxInt64 when none, and false when the log no
// longer reaches back to mark.
func (l *appendLog) since(mark int64) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if mark < 0 || now-mark >= appendLogSeconds {
		return 0, false
	}
	oldest := int64(math.MaxInt64)
	for s := mark; s <= now; s++ {
		if i := s % appendLogSeconds; l.second[i] == s+1 {
			oldest = min(oldest, l.oldest[i])
		}
	}
	return oldest, true
}

// Mark implements [AppendLog].
func (s *Store) Mark() int64 { return s.appended.mark() }

// AppendedSince implements [AppendLog]: samples are counted once their
// appender's Commit made them visible to queries.
func (s *Store) AppendedSince(mark int64) (oldest int64, known bool) {
	return s.appended.since(mark)
}
