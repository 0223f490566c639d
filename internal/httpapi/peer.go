package httpapi

import (
	"net"
	"net/http"
)

// PeerAddress is the connection's peer without its port: the client address when no proxy
// stands between, and one address for all the connections a machine opens.
func PeerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
