package webpubsub

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// The rules tested here are Azure/azure-webpubsub protocols/client/client-spec.md §3.6.

// recordingLink is a connection's side of its streams: what the publisher was told and what went
// to the group.
type recordingLink struct {
	mu          sync.Mutex
	replies     []map[string]any
	published   []published
	forbidden   bool
	failPublish bool
}

type published struct {
	group  string
	noEcho bool
	dt     pubsub.DataType
	data   string
	at     pubsub.StreamPosition
}

func (l *recordingLink) reply(frame []byte) {
	var m map[string]any
	if err := json.Unmarshal(frame, &m); err != nil {
		panic("reply is not JSON: " + string(frame))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.replies = append(l.replies, m)
}

func (l *recordingLink) canSend(string) bool { return !l.forbidden }

func (l *recordingLink) publish(group string, noEcho bool, dt pubsub.DataType, data []byte, at *pubsub.StreamPosition) error {
	if l.failPublish {
		return errors.New("broker down")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.published = append(l.published, published{group, noEcho, dt, string(data), *at})
	return nil
}

// take returns and forgets what was recorded so far.
func (l *recordingLink) take() ([]map[string]any, []published) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, p := l.replies, l.published
	l.replies, l.published = nil, nil
	return r, p
}

// isOpen reports, under the table's lock, whether a stream is open: timers change the table on
// their own goroutines.
func (t *streamTable) isOpen(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.open[id]
	return ok
}

func parseInbound(t *testing.T, frame string) inbound {
	t.Helper()
	var m inbound
	if err := json.Unmarshal([]byte(frame), &m); err != nil {
		t.Fatalf("parse %s: %v", frame, err)
	}
	return m
}

// expect checks what one client message caused.
func expect(t *testing.T, link *recordingLink, what string, replies []map[string]any, pubs []published) {
	t.Helper()
	gotR, gotP := link.take()
	if !reflect.DeepEqual(gotR, replies) {
		t.Errorf("%s: replies\n got %v\nwant %v", what, gotR, replies)
	}
	if !reflect.DeepEqual(gotP, pubs) {
		t.Errorf("%s: published\n got %+v\nwant %+v", what, gotP, pubs)
	}
}

func ackOf(id string, expected float64) map[string]any {
	return map[string]any{"type": "streamAck", "streamId": id, "expectedSequenceId": expected}
}

func closedOf(id, name, msg string) map[string]any {
	m := map[string]any{"type": "streamClosed", "streamId": id}
	if name != "" {
		m["error"] = map[string]any{"name": name, "message": msg}
	}
	return m
}

const openS1 = `{"type":"sendToGroup","group":"g","noEcho":true,"stream":{"streamId":"s1"}}`

func TestStreamOrderAndEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab streamTable
		link := &recordingLink{}
		if rerr := tab.start(link, parseInbound(t, openS1), 10); rerr != nil {
			t.Fatalf("start refused: %+v", rerr)
		}
		expect(t, link, "start", []map[string]any{ackOf("s1", 1)}, nil)

		frag := func(seq int, data string) published {
			return published{"g", true, pubsub.Text, data, pubsub.StreamPosition{ID: "s1", Seq: uint64(seq)}}
		}
		data := func(frame string) {
			t.Helper()
			if closed, err := tab.data(link, parseInbound(t, frame)); closed != nil || err != nil {
				t.Fatal(closed, err)
			}
		}
		data(`{"type":"streamData","streamId":"s1","streamSequenceId":1,"dataType":"text","data":"a"}`)
		expect(t, link, "fragment 1", []map[string]any{ackOf("s1", 2)}, []published{frag(1, "a")})

		data(`{"type":"streamData","streamId":"s1","streamSequenceId":1,"dataType":"text","data":"a"}`)
		expect(t, link, "resend of 1 (§3.6.2 item 6)", []map[string]any{ackOf("s1", 2)}, nil)

		data(`{"type":"streamData","streamId":"s1","streamSequenceId":3,"dataType":"text","data":"c"}`)
		expect(t, link, "gap (§3.6.2 item 7)", []map[string]any{{
			"type": "streamNack", "streamId": "s1", "name": "InvalidSequenceId",
			"message": "expected streamSequenceId 2", "expectedSequenceId": float64(2),
		}}, nil)

		data(`{"type":"streamData","streamId":"s1"}`)
		expect(t, link, "keepalive (§3.6.2 item 9)", nil, nil)

		data(`{"type":"streamData","streamId":"s1","streamSequenceId":2,"dataType":"json","data":{"b":2}}`)
		expect(t, link, "fragment 2", []map[string]any{ackOf("s1", 3)},
			[]published{{"g", true, pubsub.JSON, `{"b":2}`, pubsub.StreamPosition{ID: "s1", Seq: 2}}})

		if err := tab.end(link, parseInbound(t, `{"type":"streamEnd","streamId":"s1"}`)); err != nil {
			t.Fatal(err)
		}
		expect(t, link, "end (§3.6.3 items 3, 4)", []map[string]any{closedOf("s1", "", "")},
			[]published{{"g", true, pubsub.Text, "", pubsub.StreamPosition{ID: "s1", Seq: 3, End: true}}})

		data(`{"type":"streamData","streamId":"s1","streamSequenceId":3,"dataType":"text","data":"c"}`)
		expect(t, link, "data after the end", []map[string]any{closedOf("s1", "StreamNotFound", "the stream is not open")}, nil)
		_ = tab.end(link, parseInbound(t, `{"type":"streamEnd","streamId":"s1"}`))
		expect(t, link, "end after the end", []map[string]any{closedOf("s1", "StreamNotFound", "the stream is not open")}, nil)

		// The id is free again (§3.6.1 item 3).
		if rerr := tab.start(link, parseInbound(t, openS1), 10); rerr != nil {
			t.Fatalf("reopen refused: %+v", rerr)
		}
	})
}

func TestStreamEndWithUserError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab streamTable
		link := &recordingLink{}
		_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"s"}}`), 10)
		link.take()
		// A name from the client is not its to give: the service classifies the error (§3.6.3 item 2).
		_ = tab.end(link, parseInbound(t, `{"type":"streamEnd","streamId":"s","error":{"name":"Mine","message":"boom","userErrorCode":"E1"}}`))
		want := pubsub.StreamPosition{ID: "s", Seq: 1, End: true, Err: &pubsub.StreamError{Name: "UserError", Message: "boom", UserCode: "E1"}}
		_, pubs := link.take()
		if len(pubs) != 1 || !reflect.DeepEqual(pubs[0].at, want) {
			t.Fatalf("terminal %+v, want %+v", pubs, want)
		}
	})
}

func TestStreamStartRefused(t *testing.T) {
	for _, tc := range []struct {
		name, frame, errName string
		forbidden            bool
	}{
		{"no stream id", `{"type":"sendToGroup","group":"g","stream":{}}`, "BadRequest", false},
		{"empty stream id", `{"type":"sendToGroup","group":"g","stream":{"streamId":""}}`, "BadRequest", false},
		{"zero idle timeout", `{"type":"sendToGroup","group":"g","stream":{"streamId":"s","idleTimeoutMs":0}}`, "BadRequest", false},
		{"data on the start", `{"type":"sendToGroup","group":"g","dataType":"text","data":"x","stream":{"streamId":"s"}}`, "BadRequest", false},
		{"bad group", `{"type":"sendToGroup","group":" ","stream":{"streamId":"s"}}`, "BadRequest", false},
		{"no permission", `{"type":"sendToGroup","group":"g","stream":{"streamId":"s"}}`, "Forbidden", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tab streamTable
				link := &recordingLink{forbidden: tc.forbidden}
				m := parseInbound(t, tc.frame)
				rerr := tab.start(link, m, 10)
				if rerr == nil || rerr.name != tc.errName {
					t.Fatalf("refusal %+v, want %s", rerr, tc.errName)
				}
				id := ""
				if m.Stream.StreamID != nil {
					id = *m.Stream.StreamID
				}
				expect(t, link, "start", []map[string]any{closedOf(id, tc.errName, rerr.msg)}, nil)
				if tab.isOpen(id) {
					t.Fatalf("the refused stream %q is open", id)
				}
			})
		})
	}

	t.Run("already open, and past the limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var tab streamTable
			link := &recordingLink{}
			open := func(id string) *requestError {
				return tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"`+id+`"}}`), 2)
			}
			if open("a") != nil || open("b") != nil {
				t.Fatal("the first two streams were refused")
			}
			link.take()
			if rerr := open("a"); rerr == nil || rerr.msg != `stream "a" is already open on this connection` {
				t.Fatalf("reopen: %+v", rerr)
			}
			if rerr := open("c"); rerr == nil || rerr.msg != "a connection may have at most 2 open streams" {
				t.Fatalf("third: %+v", rerr)
			}
			// The refusal of a second "a" leaves the first one open.
			link.take()
			_, _ = tab.data(link, parseInbound(t, `{"type":"streamData","streamId":"a","streamSequenceId":1,"dataType":"text","data":"x"}`))
			expect(t, link, "the first a", []map[string]any{ackOf("a", 2)},
				[]published{{"g", false, pubsub.Text, "x", pubsub.StreamPosition{ID: "a", Seq: 1}}})
		})
	})
}

// A fragment the service cannot take ends the stream: the publisher gets streamClosed and
// receivers a terminal message with the same error, so that nobody waits for the rest.
func TestStreamClosedByBadFragment(t *testing.T) {
	for _, tc := range []struct {
		name, frame, errName, msg string
		forbidden                 bool
	}{
		{"no dataType", `{"type":"streamData","streamId":"s","streamSequenceId":1,"data":"x"}`,
			"BadRequest", "a stream fragment needs streamSequenceId, dataType and data", false},
		{"no sequence id", `{"type":"streamData","streamId":"s","dataType":"text","data":"x"}`,
			"BadRequest", "a stream fragment needs streamSequenceId, dataType and data", false},
		{"bad data", `{"type":"streamData","streamId":"s","streamSequenceId":1,"dataType":"binary","data":"!"}`,
			"BadRequest", "data is not valid base64", false},
		{"permission withdrawn", `{"type":"streamData","streamId":"s","streamSequenceId":1,"dataType":"text","data":"x"}`,
			"Forbidden", `no permission to send to group "g"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var tab streamTable
				link := &recordingLink{}
				_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"s"}}`), 10)
				link.take()
				link.forbidden = tc.forbidden
				if closed, _ := tab.data(link, parseInbound(t, tc.frame)); closed == nil || closed.name != tc.errName {
					t.Errorf("refusal for the log %+v, want %s", closed, tc.errName)
				}
				expect(t, link, "fragment", []map[string]any{closedOf("s", tc.errName, tc.msg)}, []published{{
					"g", false, pubsub.Text, "",
					pubsub.StreamPosition{ID: "s", Seq: 1, End: true, Err: &pubsub.StreamError{Name: tc.errName, Message: tc.msg}},
				}})
			})
		})
	}
}

// A fragment that could not be published is refused with TransientError and not counted, so the
// client sends it again (§3.6.4 item 5).
func TestStreamPublishFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab streamTable
		link := &recordingLink{}
		_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"s"}}`), 10)
		link.take()
		link.failPublish = true
		frame := parseInbound(t, `{"type":"streamData","streamId":"s","streamSequenceId":1,"dataType":"text","data":"x"}`)
		if _, err := tab.data(link, frame); err == nil {
			t.Fatal("no error for the log")
		}
		expect(t, link, "failed fragment", []map[string]any{{
			"type": "streamNack", "streamId": "s", "name": "TransientError",
			"message": "the fragment could not be published", "expectedSequenceId": float64(1),
		}}, nil)
		link.failPublish = false
		_, _ = tab.data(link, frame)
		expect(t, link, "resent fragment", []map[string]any{ackOf("s", 2)},
			[]published{{"g", false, pubsub.Text, "x", pubsub.StreamPosition{ID: "s", Seq: 1}}})
	})
}

func TestStreamFragmentOverTheRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab streamTable
		link := &recordingLink{}
		_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"s"}}`), 10)
		link.take()
		tab.overLimit(link, "s", "too many messages")
		tab.overLimit(link, "gone", "too many messages")
		expect(t, link, "dropped fragments", []map[string]any{{
			"type": "streamNack", "streamId": "s", "name": "TransientError",
			"message": "too many messages", "expectedSequenceId": float64(1),
		}}, nil)
	})
}

func TestStreamIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab streamTable
		link := &recordingLink{}
		_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"s","idleTimeoutMs":1000}}`), 10)
		_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"default"}}`), 10)
		link.take()

		// Accepted data and keepalives each give the stream its whole timeout again.
		time.Sleep(900 * time.Millisecond)
		_, _ = tab.data(link, parseInbound(t, `{"type":"streamData","streamId":"s","streamSequenceId":1,"dataType":"text","data":"x"}`))
		time.Sleep(900 * time.Millisecond)
		_, _ = tab.data(link, parseInbound(t, `{"type":"streamData","streamId":"s"}`))
		time.Sleep(900 * time.Millisecond)
		synctest.Wait()
		link.take()
		if !tab.isOpen("s") {
			t.Fatal("the stream expired although it was active within its timeout")
		}

		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		msg := "no stream data within 1000 ms"
		expect(t, link, "expiry (§3.6.1 item 4)", []map[string]any{closedOf("s", "IdleTimeout", msg)}, []published{{
			"g", false, pubsub.Text, "",
			pubsub.StreamPosition{ID: "s", Seq: 2, End: true, Err: &pubsub.StreamError{Name: "IdleTimeout", Message: msg}},
		}})

		// Without idleTimeoutMs, the service default of 300000 ms applies.
		time.Sleep(300*time.Second - 2800*time.Millisecond - time.Nanosecond)
		synctest.Wait()
		if !tab.isOpen("default") {
			t.Fatal("the default stream expired early")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if tab.isOpen("default") {
			t.Fatal("the default stream outlived 300 s")
		}
	})
}

func TestStreamsCancelledWithTheirConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tab streamTable
		link := &recordingLink{}
		for _, id := range []string{"a", "b"} {
			_ = tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"`+id+`"}}`), 10)
		}
		link.take()
		if err := tab.closeAll(); err != nil {
			t.Fatal(err)
		}
		replies, pubs := link.take()
		if len(replies) != 0 {
			t.Errorf("replies to a closed connection: %v", replies)
		}
		ended := map[string]string{}
		for _, p := range pubs {
			if p.at.End && p.at.Err != nil {
				ended[p.at.ID] = p.at.Err.Name
			}
		}
		if want := map[string]string{"a": "Cancelled", "b": "Cancelled"}; !reflect.DeepEqual(ended, want) {
			t.Fatalf("terminal messages %v, want %v", ended, want)
		}
		if rerr := tab.start(link, parseInbound(t, `{"type":"sendToGroup","group":"g","stream":{"streamId":"c"}}`), 10); rerr == nil {
			t.Fatal("a stream opened on a closed connection")
		}
		link.take()
		// No timer of theirs is left to fire.
		time.Sleep(time.Hour)
		synctest.Wait()
		if r, p := link.take(); len(r)+len(p) != 0 {
			t.Fatalf("after the close: %v %v", r, p)
		}
	})
}

// Simple clients get a stream's payloads as they are: the raw format has no place for the stream
// object (the JSON renderings are in testdata/codec, TestDownstreamGolden).
func TestRawFormatIgnoresStream(t *testing.T) {
	m := streamMessage(pubsub.Text, "hi", &pubsub.StreamPosition{ID: "s", Seq: 2})
	if f := m.Encoded(rawCodec); string(f.Payload) != "hi" || f.Binary {
		t.Fatalf("raw frame %+v, want the text payload alone", f)
	}
}

// Through the real endpoint: stream messages are served, a refused or unknown stream is answered
// with streamClosed and the connection goes on, and a receiver gets every message of the stream.
func TestStreamOverTheClientEndpoint(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{})
	recv := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "r", Groups: []string{"g"}})
	pub := ts.dial("chat", ProtocolReliableJSON, accesskey.ClientClaims{UserID: "p", Roles: allRoles})
	nobody := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{UserID: "n"})

	nobody.send(map[string]any{"type": "sendToGroup", "group": "g", "stream": map[string]any{"streamId": "s"}})
	if m := nobody.next(); m["type"] != "streamClosed" || m["error"].(map[string]any)["name"] != "Forbidden" {
		t.Fatalf("refused start: %v", m)
	}
	nobody.send(map[string]any{"type": "streamData", "streamId": "s", "streamSequenceId": 1, "dataType": "text", "data": "x"})
	if m := nobody.next(); m["type"] != "streamClosed" || m["error"].(map[string]any)["name"] != "StreamNotFound" {
		t.Fatalf("data of no stream: %v", m)
	}
	nobody.send(map[string]any{"type": "ping"})
	if m := nobody.next(); m["type"] != "pong" {
		t.Fatalf("after stream errors the connection answers %v, want pong", m)
	}

	pub.send(map[string]any{"type": "sendToGroup", "group": "g", "noEcho": false, "stream": map[string]any{"streamId": "s"}})
	pub.send(map[string]any{"type": "streamData", "streamId": "s", "streamSequenceId": 1, "dataType": "text", "data": "x"})
	pub.send(map[string]any{"type": "streamEnd", "streamId": "s"})
	for _, want := range []string{`"expectedSequenceId":1`, `"expectedSequenceId":2`, `"type":"streamClosed"`} {
		b, _ := json.Marshal(pub.next())
		if !strings.Contains(string(b), want) {
			t.Fatalf("publisher got %s, want %s", b, want)
		}
	}
	for _, want := range []map[string]any{
		{"streamId": "s", "streamSequenceId": 1.0, "endOfStream": false},
		{"streamId": "s", "streamSequenceId": 2.0, "endOfStream": true},
	} {
		if m := recv.next(); !reflect.DeepEqual(m["stream"], want) || m["fromUserId"] != "p" {
			t.Fatalf("receiver got %v, want stream %v", m, want)
		}
	}
}

// A fragment dropped by the inbound rate limit is answered with TransientError, naming the id to
// resend from, as an ordinary message with an ackId is answered with TooManyRequests.
func TestStreamFragmentRefusedByTheRateLimit(t *testing.T) {
	ts := newTestServer(t, pubsub.Limits{MaxInboundPerSecond: 5, MaxInboundBurst: 5})
	c := ts.dial("chat", ProtocolJSON, accesskey.ClientClaims{Roles: allRoles})
	// Written as a burst: the start and four fragments pass, the fifth fragment does not.
	c.send(map[string]any{"type": "sendToGroup", "group": "g", "stream": map[string]any{"streamId": "s"}})
	for seq := 1; seq <= 5; seq++ {
		c.send(map[string]any{"type": "streamData", "streamId": "s", "streamSequenceId": seq, "dataType": "text", "data": "x"})
	}
	for want := 1; want <= 5; want++ {
		if m := c.next(); m["type"] != "streamAck" || m["expectedSequenceId"] != float64(want) {
			t.Fatalf("got %v, want streamAck %d", m, want)
		}
	}
	if m := c.next(); m["type"] != "streamNack" || m["name"] != "TransientError" || m["expectedSequenceId"] != 5.0 {
		t.Fatalf("got %v, want streamNack TransientError 5", m)
	}
}
