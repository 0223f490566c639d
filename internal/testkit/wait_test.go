package testkit

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		if !Poll(time.Second, func() bool { calls++; return calls == 5 }) {
			t.Fatal("Poll gave up on a condition that held at the fifth call")
		}
		// Pauses of 1, 2, 4 and 8 ms came between the five calls.
		if waited := time.Since(start); waited != 15*time.Millisecond {
			t.Errorf("waited %v for the fifth call, want 15ms", waited)
		}

		start = time.Now()
		if Poll(time.Second, func() bool { return false }) {
			t.Fatal("Poll reported a condition that never held")
		}
		if waited := time.Since(start); waited < time.Second || waited > time.Second+100*time.Millisecond {
			t.Errorf("gave up after %v, want one pause past the 1s timeout", waited)
		}
	})
}
