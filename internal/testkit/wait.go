package testkit

import (
	"testing"
	"time"
)

// WaitTimeout bounds every [WaitFor]. It only matters when a test fails, so it is generous: a
// loaded machine running the race detector must not turn a slow pass into a failure.
const WaitTimeout = 20 * time.Second

// WaitFor polls cond until it holds, and fails the test, naming what it waited for, when it does
// not hold within [WaitTimeout]. It is for what a test cannot be told about: a real server, a
// socket, another process. Code that runs on timers is tested in a testing/synctest bubble
// instead, where synctest.Wait says when everything has settled.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Poll(WaitTimeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", WaitTimeout, what)
	}
}

// Poll calls cond until it holds or timeout has passed, and reports whether it held. The pause
// between calls starts at a millisecond, for a condition about to hold, and doubles up to 100 ms,
// for a condition that costs a request.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
	return true
}
