package pubsub

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run on synctest's fake clock; synctest.Test also fails if a goroutine the test
// started is still blocked when it ends, which makes it a leak check of its own.

func TestReconnectWindowExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{Limits: Limits{ReconnectWindow: 30 * time.Second}})
		h := svc.Hub("h")
		var log closeLog
		c, s := reliableConn(t, h, "c", &log)
		_ = h.Join(c, "g")
		c.Deliver(textMsg("m1"))
		synctest.Wait()
		c.Dropped(s, "connection lost")

		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		if got := log.get(); len(got) != 0 || !h.HasConnection("c") {
			t.Fatalf("session ended inside its reconnect window (OnClose %q)", got)
		}
		c.Deliver(textMsg("m2")) // still buffered for a client that may come back

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got := log.get(); !slices.Equal(got, []string{"reconnect window expired"}) {
			t.Fatalf("OnClose reasons = %q, want one call for the expired window", got)
		}
		if h.HasConnection("c") || h.HasGroup("g") {
			t.Error("expired session still indexed")
		}
		if err := c.Attach(newTestSocket()); !errors.Is(err, ErrClosed) {
			t.Errorf("Attach after expiry = %v, want ErrClosed", err)
		}
		c.Close(CloseNormal, "later")
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := log.get(); len(got) != 1 {
			t.Errorf("OnClose called %d times, want once: %q", len(got), got)
		}
		c.mu.Lock()
		unacked := len(c.unacked)
		c.mu.Unlock()
		if unacked != 0 {
			t.Errorf("an ended session still holds %d messages", unacked)
		}
	})
}

// A reconnect stops the window's clock; the next drop starts a full window again.
func TestReconnectWindowRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{})
		h := svc.Hub("h")
		var log closeLog
		c, s1 := reliableConn(t, h, "c", &log)
		c.Deliver(textMsg("m1"))
		synctest.Wait()
		c.Dropped(s1, "lost")

		time.Sleep(20 * time.Second)
		s2 := newTestSocket()
		if err := c.Attach(s2); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second) // past the first window's end
		synctest.Wait()
		if got := log.get(); len(got) != 0 {
			t.Fatalf("session ended although its client came back: %q", got)
		}
		c.Dropped(s2, "lost again")
		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		if got := log.get(); len(got) != 0 {
			t.Fatalf("second window cut short: %q", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got := log.get(); !slices.Equal(got, []string{"reconnect window expired"}) {
			t.Errorf("OnClose reasons = %q", got)
		}
		var data []string
		for _, f := range s2.frames(t) {
			if f != "ping:" { // keep-alive pings depend on the clock, not on the session
				data = append(data, f)
			}
		}
		if !slices.Equal(data, []string{"text::m1#1"}) {
			t.Errorf("replay after reconnect = %q", data)
		}
	})
}

func TestKeepAlivePings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService(t, Options{})
		c1, s1 := connect(t, svc.Hub("a"), ConnOptions{ID: "c1", Codec: newTestCodec(FormatWebPubSubJSON)})
		_, s2 := connect(t, svc.Hub("b"), ConnOptions{ID: "c2", Codec: newTestCodec(FormatWebPubSubJSON)})
		r, rs := reliableConn(t, svc.Hub("a"), "r", nil)
		r.Dropped(rs, "lost") // nobody to ping
		// The ticker starts when Run does, a moment before the connections exist.
		time.Sleep(KeepAliveInterval - time.Second)
		synctest.Wait()
		assertFrames(t, s1)
		time.Sleep(time.Second)
		synctest.Wait()
		assertFrames(t, s1, "ping:")
		assertFrames(t, s2, "ping:")
		c1.Deliver(textMsg("x"))
		time.Sleep(KeepAliveInterval)
		synctest.Wait()
		assertFrames(t, s1, "ping:", "text::x", "ping:")
		assertFrames(t, rs)
	})
}
