package loadgen

import (
	"bytes"
	"strconv"
)

// A payload is what the publisher sends and subscribers look for in whatever frame carries it:
//
//	~hb1 <kind> <worker> <group> <seq> <unix nanoseconds>~xxxx…
//
// It is plain ASCII without quotes, backslashes or characters JSON encoders escape (<, >, &),
// so it survives being a JSON string in any protocol unchanged and can be found in a frame by
// a byte search instead of a JSON decode, which keeps the load generator cheaper than the
// server it measures. kind is 'm' for a measured message and 'w' for a warm-up message that
// proves a subscriber is in its group before measuring starts.
const (
	payloadMagic = "~hb1 "
	payloadEnd   = '~'
	kindMeasured = 'm'
	kindWarmup   = 'w'
)

// header is what a payload carries.
type header struct {
	kind   byte
	worker int    // publisher worker, each with its own sequence per group
	group  int    // index of the group the message was sent to
	seq    uint64 // per worker and group, from 0
	sent   int64  // publisher's clock when sent, Unix nanoseconds
}

// appendPayload appends h padded with 'x' to size bytes (or longer when the header does not
// fit in size).
func appendPayload(dst []byte, h header, size int) []byte {
	start := len(dst)
	dst = append(dst, payloadMagic...)
	dst = append(dst, h.kind, ' ')
	dst = strconv.AppendInt(dst, int64(h.worker), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(h.group), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, h.seq, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, h.sent, 10)
	dst = append(dst, payloadEnd)
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// scanPayloads calls fn for every payload header in frame. A frame holds one payload in Web
// PubSub; other protocols batch several messages in one frame.
func scanPayloads(frame []byte, fn func(header)) {
	for {
		i := bytes.Index(frame, []byte(payloadMagic))
		if i < 0 {
			return
		}
		frame = frame[i+len(payloadMagic):]
		h, rest, ok := parseHeader(frame)
		if ok {
			fn(h)
		}
		frame = rest
	}
}

// parseHeader reads the fields after the magic; rest is what follows the header.
func parseHeader(b []byte) (h header, rest []byte, ok bool) {
	if len(b) < 2 || b[1] != ' ' || (b[0] != kindMeasured && b[0] != kindWarmup) {
		return h, b, false
	}
	h.kind = b[0]
	b = b[2:]
	var fields [4]uint64
	for i := range fields {
		n, j := 0, 0
		var v uint64
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			v = v*10 + uint64(b[j]-'0')
			j++
			n++
		}
		want := byte(' ')
		if i == len(fields)-1 {
			want = payloadEnd
		}
		if n == 0 || n > 19 || j >= len(b) || b[j] != want {
			return h, b, false
		}
		fields[i] = v
		b = b[j+1:]
	}
	h.worker, h.group, h.seq, h.sent = int(fields[0]), int(fields[1]), fields[2], int64(fields[3])
	return h, b, true
}
