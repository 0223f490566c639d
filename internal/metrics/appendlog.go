package metrics

import (
	"math"
	"sync"
)

// appendLogBuckets is how many marks an appendLog remembers: a mark older
// than that many marks (each followed by a commit) is too old to know, and
// a cache falls back on its freshness bound for it. 65,536 buckets (512
// KiB) last an hour at 18 reloads with commits between them a second.
const appendLogBuckets = 1 << 16

// appendLog keeps the oldest timestamp of the samples committed between
// consecutive marks, so that a cache can ask which of its steps the samples
// committed after its evaluation could have changed. A mark starts a new
// bucket only when the current one holds a commit, so the buckets are
// spent by reloads that something was appended between, not by time.
type appendLog struct {
	mu     sync.Mutex
	cur    int64 // the bucket commits go to
	filled bool  // whether cur holds a commit
	oldest [appendLogBuckets]int64
}

func (l *appendLog) add(oldest int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.cur % appendLogBuckets
	if !l.filled {
		l.oldest[i], l.filled = oldest, true
		return
	}
	l.oldest[i] = min(l.oldest[i], oldest)
}

func (l *appendLog) mark() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.filled {
		l.cur++
		l.filled = false
	}
	return l.cur
}

// since returns the oldest timestamp committed after mark was taken,
// math.MaxInt64 when none, and false when the log no longer reaches back
// to mark.
func (l *appendLog) since(mark int64) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if mark < 0 || mark > l.cur || l.cur-mark >= appendLogBuckets {
		return 0, false
	}
	oldest := int64(math.MaxInt64)
	for b := mark; b < l.cur; b++ {
		oldest = min(oldest, l.oldest[b%appendLogBuckets])
	}
	if l.filled {
		oldest = min(oldest, l.oldest[l.cur%appendLogBuckets])
	}
	return oldest, true
}

// Mark implements [AppendLog].
func (s *Store) Mark() int64 { return s.appended.mark() }

// AppendedSince implements [AppendLog]: samples count once their
// appender's Commit has made them visible to queries, so a query that
// marks the log before it starts either reads a commit's samples or finds
// them here.
func (s *Store) AppendedSince(mark int64) (oldest int64, known bool) {
	return s.appended.since(mark)
}
