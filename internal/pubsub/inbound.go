package pubsub

import (
	"time"

	"golang.org/x/time/rate"
)

// floodWindow is how many seconds back refusals count: a client refused more than a second's
// worth of messages ([Limits.MaxInboundPerSecond]) within that span is not slowing down, whether
// it floods at many times the rate or stays a little over it.
const floodWindow = 10

// inboundLimiter is a connection's inbound rate accounting: a token bucket for the rate, and the
// refusals of the last floodWindow seconds, counted per second.
type inboundLimiter struct {
	bucket   *rate.Limiter
	refused  [floodWindow]int // by Unix second modulo floodWindow
	last     int64            // the Unix second of the latest refusal
	flooding bool
}

// refuse counts a refusal at now and reports whether more than limit fall within the window.
func (l *inboundLimiter) refuse(now time.Time, limit int) bool {
	// A clock stepping back counts in the latest second, so that it cannot reopen old ones.
	sec := max(now.Unix(), l.last)
	for s := max(l.last+1, sec-floodWindow+1); s <= sec; s++ {
		l.refused[s%floodWindow] = 0
	}
	l.last = sec
	l.refused[sec%floodWindow]++
	total := 0
	for _, n := range l.refused {
		total += n
	}
	l.flooding = l.flooding || total > limit
	return l.flooding
}
