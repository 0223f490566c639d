package pubsub

import (
	"fmt"
	"sync"
)

// connCaps counts the open client connections of each user id and each client address, so that
// one person or one machine cannot take every connection the server can hold. A zero cap counts
// nothing.
type connCaps struct {
	perUser, perAddress int

	mu        sync.Mutex
	users     map[string]int
	addresses map[string]int
}

func newConnCaps(perUser, perAddress int) *connCaps {
	return &connCaps{perUser: perUser, perAddress: perAddress, users: make(map[string]int), addresses: make(map[string]int)}
}

// acquire counts a connection of user from address, or says which cap it is past.
func (c *connCaps) acquire(user, address string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	countUser := user != "" && c.perUser > 0
	if countUser && c.users[user] >= c.perUser {
		return fmt.Errorf("user %q already has %d open connections, the most limits.maxConnectionsPerUser allows", user, c.perUser)
	}
	if c.perAddress > 0 && c.addresses[address] >= c.perAddress {
		return fmt.Errorf("address %s already has %d open connections, the most limits.maxConnectionsPerAddress allows", address, c.perAddress)
	}
	if countUser {
		c.users[user]++
	}
	if c.perAddress > 0 {
		c.addresses[address]++
	}
	return nil
}

// release forgets a connection acquire counted.
func (c *connCaps) release(user, address string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	forget := func(m map[string]int, key string) {
		if m[key] <= 1 {
			delete(m, key)
		} else {
			m[key]--
		}
	}
	if user != "" && c.perUser > 0 {
		forget(c.users, user)
	}
	if c.perAddress > 0 {
		forget(c.addresses, address)
	}
}

// AdmitConnection counts a client connection of user (none when empty) from address against
// Limits.MaxConnsPerUser and MaxConnsPerAddress, whichever protocol the client speaks, or says
// which cap it is past. ReleaseConnection forgets it when the connection ends.
func (s *Service) AdmitConnection(user, address string) error { return s.caps.acquire(user, address) }

// ReleaseConnection forgets a connection [Service.AdmitConnection] counted.
func (s *Service) ReleaseConnection(user, address string) { s.caps.release(user, address) }
