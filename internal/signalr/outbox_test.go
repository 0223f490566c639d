package signalr

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// A full outbox holds the writer until the reader takes the bytes or the write deadline passes;
// a write that timed out put nothing in, so it can be retried whole.
func TestOutboxBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOutbox(4)
		if _, err := o.Write([]byte("abcdef")); err != nil {
			t.Fatalf("a write into an empty outbox: %v", err)
		}
		_ = o.SetWriteDeadline(time.Now().Add(time.Second))
		start := time.Now()
		if n, err := o.Write([]byte("g")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("a write into a full outbox: %d, %v; want 0, deadline exceeded", n, err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("gave up after %v, want the deadline's 1s", waited)
		}
		_ = o.SetWriteDeadline(time.Now().Add(time.Minute))
		wrote := make(chan error, 1)
		go func() { _, err := o.Write([]byte("g")); wrote <- err }()
		synctest.Wait()
		if data, closed, err := o.next(context.Background(), 0); string(data) != "abcdef" || closed || err != nil {
			t.Fatalf("next = %q %v %v", data, closed, err)
		}
		if err := <-wrote; err != nil {
			t.Fatalf("the waiting write after the reader took the bytes: %v", err)
		}
		_ = o.Close()
		if data, closed, _ := o.next(context.Background(), 0); string(data) != "g" || !closed {
			t.Errorf("after Close: %q closed=%v, want the rest and closed", data, closed)
		}
		if _, err := o.Write([]byte("h")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("a write after Close: %v", err)
		}
	})
}
