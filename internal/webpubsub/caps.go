package webpubsub

import (
	"net"
	"net/http"
)

// peerAddress is the connection's peer without its port: the client address when no proxy
// stands between.
func peerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
