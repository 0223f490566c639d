package auth

import (
	"sync"
	"time"
)

// lockouts counts failed logins per login and client address, so that failures from one address
// lock only that address's attempts on the login: nobody can lock an account's owner out from
// elsewhere. Unknown logins are counted alike, so their answers match real ones. The table lives
// in this process's memory, per node, and is bounded by max entries.
type lockouts struct {
	mu    sync.Mutex
	max   int
	state map[lockKey]lockState
}

type lockKey struct{ login, addr string }

type lockState struct {
	failed      int
	lockedUntil time.Time
}

func newLockouts(max int) *lockouts {
	return &lockouts{max: max, state: make(map[lockKey]lockState)}
}

// lockedUntil is when the lock of login from addr ends; zero when it has none.
func (l *lockouts) lockedUntil(login, addr string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state[lockKey{login, addr}].lockedUntil
}

// latest is when the last lock of login, from any address, ends; zero when none lasts past now.
func (l *lockouts) latest(login string, now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var until time.Time
	for k, st := range l.state {
		if k.login == login && st.lockedUntil.After(now) && st.lockedUntil.After(until) {
			until = st.lockedUntil
		}
	}
	return until
}

// fail counts a failure of login from addr and returns the failures in a row and the lock
// lockFor computes from them (0 when none).
func (l *lockouts) fail(login, addr string, now time.Time, lockFor func(int) time.Duration) (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := lockKey{login, addr}
	st, ok := l.state[k]
	if !ok && len(l.state) >= l.max {
		l.evict(now)
	}
	st.failed++
	lock := lockFor(st.failed)
	if lock > 0 {
		st.lockedUntil = now.Add(lock)
	}
	l.state[k] = st
	return st.failed, lock
}

// evict forgets entries that are not locked; if every entry is, the table is reset rather than
// grown, since an attacker with that many addresses gains little.
func (l *lockouts) evict(now time.Time) {
	for k, st := range l.state {
		if !st.lockedUntil.After(now) {
			delete(l.state, k)
		}
	}
	if len(l.state) >= l.max {
		clear(l.state)
	}
}

// reset forgets the failures of login from addr, after a successful login from there.
func (l *lockouts) reset(login, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.state, lockKey{login, addr})
}

// clear forgets the failures of login from every address: an unlock or a new password.
func (l *lockouts) clear(login string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.state {
		if k.login == login {
			delete(l.state, k)
		}
	}
}
