package pubsub

import "time"

// Limits bound what one connection may cost. The zero value of each field means the default in
// its comment, so Limits{} is a working configuration.
type Limits struct {
	// MaxMessageBytes is the largest inbound message accepted (default 1 MiB); larger ones close
	// the connection with 1009.
	MaxMessageBytes int64 `yaml:"maxMessageBytes"`
	// MaxQueuedFrames and MaxQueuedBytes bound the outbound queue (defaults 1,024 and 4 MiB): over
	// them ephemeral messages are dropped, then the connection is closed with 1008. A reliable
	// connection's queue may also hold its whole resend buffer (a replay), so its bound is the sum
	// of these and MaxUnacked, MaxUnackedBytes.
	MaxQueuedFrames int `yaml:"maxQueuedFrames"`
	MaxQueuedBytes  int `yaml:"maxQueuedBytes"`
	// MaxGroupsPerConn bounds the groups one connection may be in (default 100).
	MaxGroupsPerConn int `yaml:"maxGroupsPerConnection"`
	// MaxStreamsPerConn bounds the group streams one connection may have open at once (default
	// 100); one more is refused, and every open stream ends with its connection.
	MaxStreamsPerConn int `yaml:"maxStreamsPerConnection"`
	// MaxInboundPerSecond bounds client messages per connection per second (default 200), with
	// bursts of up to MaxInboundBurst (default 5 × the rate). Messages over the limit get an error
	// ack; a client with more than a second's worth of messages refused within ten seconds is
	// closed with 1008, after the acks that refused them.
	MaxInboundPerSecond int `yaml:"maxInboundPerSecond"`
	MaxInboundBurst     int `yaml:"maxInboundBurst"`
	// MaxUnacked and MaxUnackedBytes bound a reliable connection's resend buffer (defaults 1,000
	// messages and 16 MiB); overflow ends the session with 1008. Acks count only up to the last
	// message written, so a client that does not read cannot empty the buffer.
	MaxUnacked      int `yaml:"maxUnacked"`
	MaxUnackedBytes int `yaml:"maxUnackedBytes"`
	// MaxConnsPerUser bounds the open client connections of one user id, across hubs (default
	// 100); connections without a user id are not counted. MaxConnsPerAddress bounds those of one
	// client address (default: none, since a whole office may share an address; set it for a
	// public deployment). A connection past either is refused before the WebSocket opens.
	MaxConnsPerUser    int `yaml:"maxConnectionsPerUser"`
	MaxConnsPerAddress int `yaml:"maxConnectionsPerAddress"`
	// ReconnectWindow is how long a reliable session outlives its socket (default 30 s).
	ReconnectWindow time.Duration `yaml:"reconnectWindow"`
	// WriteTimeout is how long one socket write may block before the client counts as gone
	// (default 10 s).
	WriteTimeout time.Duration `yaml:"writeTimeout"`
}

// withDefaults returns l with every zero field replaced by its default.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 1 << 20
	}
	def(&l.MaxQueuedFrames, 1024)
	def(&l.MaxQueuedBytes, 4<<20)
	def(&l.MaxGroupsPerConn, 100)
	def(&l.MaxStreamsPerConn, 100)
	def(&l.MaxInboundPerSecond, 200)
	def(&l.MaxInboundBurst, 5*l.MaxInboundPerSecond)
	def(&l.MaxUnacked, 1000)
	def(&l.MaxConnsPerUser, 100)
	def(&l.MaxUnackedBytes, 16<<20)
	if l.ReconnectWindow <= 0 {
		l.ReconnectWindow = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
	return l
}
