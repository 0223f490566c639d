package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Subprotocols a run can speak.
const (
	ProtocolJSON         = "json.webpubsub.azure.v1"
	ProtocolReliableJSON = "json.reliable.webpubsub.azure.v1"
)

// Config describes one run. Zero values mean the defaults in the comments.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080. Required.
	URL string
	// AccessKey signs the client tokens and the REST tokens, as the SDKs do. Required, except
	// against Centrifugo.
	AccessKey string
	// Centrifugo holds the keys of a run against Centrifugo (Protocol ProtocolCentrifugo).
	Centrifugo Centrifugo
	// Hub is the hub every connection uses (default "bench").
	Hub string
	// Protocol is ProtocolJSON (default) or ProtocolReliableJSON for Web PubSub, or
	// ProtocolSignalRJSON or ProtocolSignalRMessagePack for SignalR clients, which join their
	// group through the SignalR REST API and are published to through it, or
	// ProtocolCentrifugo for Centrifugo's JSON clients, subscribed to a channel per group and
	// published to through its HTTP API.
	Protocol string
	// Subscribers is how many connections to open (default 100).
	Subscribers int
	// Groups is how many groups to spread them over (default 1): subscriber i is in group
	// i mod Groups, and measured messages go to the groups in turn.
	Groups int
	// Join is how subscribers enter their group: "token" (default) through the token's
	// webpubsub.group claim, or "message" through a joinGroup request after connecting.
	Join string
	// Publisher is "rest" (default), POST /api/hubs/{hub}/groups/{group}/:send, or "client", a
	// WebSocket client sending sendToGroup.
	Publisher string
	// Publishers is how many publishers work at once (default 16), each waiting for its
	// previous message to be accepted before sending the next. One is not enough to reach a
	// high rate: on a single core, the load generator reads a publisher's answer only after
	// thousands of subscriber reads that became ready before it, so one publisher manages a
	// few messages per second against 10,000 subscribers whatever the server does.
	Publishers int
	// Rate is measured messages per second over all publishers; 0 publishes as fast as the
	// server accepts them.
	Rate float64
	// Size is the message payload in bytes (default 1024).
	Size int
	// Duration is how long to publish, or in idle mode how long to hold the connections
	// (default 10 s).
	Duration time.Duration
	// Messages, when positive, stops publishing after this many measured messages.
	Messages int
	// Idle only opens the connections and holds them, to measure their memory.
	Idle bool
	// ConnectRate bounds new connections per second (default 2,000), so that the server's
	// accept queue and handshakes are not what is measured.
	ConnectRate float64
	// SourceAddrs are local IPs to dial from in turn. By default a run against a loopback
	// server uses 127.0.0.2, 127.0.0.3, … one per 10,000 connections, because each source
	// address has only about 28,000 ephemeral ports and closed connections hold theirs in
	// TIME_WAIT for a minute.
	SourceAddrs []string
	// Drain bounds the wait for deliveries after the last publish (default 30 s); the wait
	// ends sooner when everything arrived or nothing arrived for 3 s.
	Drain time.Duration
	// Progress receives a progress line every second; nil for none.
	Progress io.Writer
}

// withDefaults fills zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Hub == "" {
		c.Hub = "bench"
	}
	if c.Protocol == "" {
		c.Protocol = ProtocolJSON
	}
	def(&c.Subscribers, 100)
	def(&c.Groups, 1)
	if c.Join == "" {
		c.Join = "token"
	}
	if c.Publisher == "" {
		c.Publisher = "rest"
	}
	def(&c.Publishers, 16)
	def(&c.Size, 1024)
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.ConnectRate == 0 {
		c.ConnectRate = 2000
	}
	if c.Drain == 0 {
		c.Drain = 30 * time.Second
	}
	c.URL = strings.TrimRight(c.URL, "/")

	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url %q must be the server's base URL, e.g. http://127.0.0.1:8080", c.URL)
	}
	if c.AccessKey == "" && c.Protocol != ProtocolCentrifugo {
		bad("an access key is required: pass a connection string or the access key")
	}
	switch c.Protocol {
	case ProtocolJSON, ProtocolReliableJSON:
	case ProtocolSignalRJSON, ProtocolSignalRMessagePack:
		// Serverless SignalR clients only listen: the app server puts them in groups and sends.
		if c.Join != "token" || c.Publisher != "rest" {
			bad("a SignalR run joins groups and publishes through the REST API: leave join and publisher at their defaults")
		}
	case ProtocolCentrifugo:
		if c.Centrifugo.APIKey == "" || c.Centrifugo.Secret == "" {
			bad("a Centrifugo run needs its HTTP API key and its token HMAC secret key")
		}
		// Centrifugo's clients subscribe themselves and its HTTP API publishes.
		if c.Join != "token" || c.Publisher != "rest" {
			bad("a Centrifugo run subscribes on connecting and publishes through the HTTP API: leave join and publisher at their defaults")
		}
	default:
		bad("protocol %q: use %s, %s, %s, %s or %s", c.Protocol, ProtocolJSON, ProtocolReliableJSON, ProtocolSignalRJSON, ProtocolSignalRMessagePack, ProtocolCentrifugo)
	}
	if c.Join != "token" && c.Join != "message" {
		bad("join %q: use token or message", c.Join)
	}
	if c.Publisher != "rest" && c.Publisher != "client" {
		bad("publisher %q: use rest or client", c.Publisher)
	}
	if c.Subscribers < 0 || c.Groups < 0 || c.Publishers < 0 || c.Messages < 0 {
		bad("subscribers, groups, publishers and messages must not be negative")
	}
	if c.Groups > c.Subscribers && c.Subscribers > 0 {
		bad("groups (%d) must not outnumber subscribers (%d): a group without members measures nothing", c.Groups, c.Subscribers)
	}
	if c.Rate < 0 || c.ConnectRate < 0 || c.Duration < 0 || c.Drain < 0 {
		bad("rate, connect rate, duration and drain must not be negative")
	}
	// The header of a payload takes up to about 70 bytes; smaller sizes are rounded up.
	if c.Size < 0 || c.Size > 1<<20 {
		bad("size %d: use 0 to 1 MiB (the server's default inbound limit)", c.Size)
	}
	for _, a := range c.SourceAddrs {
		if net.ParseIP(a) == nil {
			bad("source address %q is not an IP address", a)
		}
	}
	if len(c.SourceAddrs) == 0 && err == nil && isLoopbackHost(u.Hostname()) {
		for i := range (c.Subscribers + c.Publishers + 9_999) / 10_000 {
			c.SourceAddrs = append(c.SourceAddrs, fmt.Sprintf("127.0.0.%d", 2+i))
		}
	}
	return c, errors.Join(errs...)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// description is the run's setup in a few words, for the report's first line.
func (c Config) description() string {
	if c.Idle {
		return fmt.Sprintf("%d idle connections in %d group(s), %s", c.Subscribers, c.Groups, c.Protocol)
	}
	rate := "unlimited rate"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%g msg/s", c.Rate)
	}
	return fmt.Sprintf("%d subscribers in %d group(s), %d %s publisher(s) at %s, %d-byte messages, %s",
		c.Subscribers, c.Groups, c.Publishers, c.Publisher, rate, c.Size, c.Protocol)
}
