package signalr

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// pollTimeout is how long a poll waits for something to carry: ASP.NET Core's
// LongPollingOptions.PollTimeout default, under the client's own 100 s request timeout
// (@microsoft/signalr LongPollingTransport).
const pollTimeout = 90 * time.Second

// startLongPolling answers a long-polling connection's first GET at once and empty, as ASP.NET
// Core does: the client takes that answer as the transport being connected, then polls.
func (s *Server) startLongPolling(w http.ResponseWriter) error {
	noStore(w)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	return nil
}

// activePoll is the poll a long-polling connection is serving.
type activePoll struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// errPollSuperseded ends a poll when the client has sent another: the client gave up on it.
var errPollSuperseded = errors.New("a newer poll took over")

// poll serves a long-polling GET as ASP.NET Core's LongPollingServerTransport does: 200 with
// every byte queued for the client (application/octet-stream, whatever the transfer format), 200
// empty when nothing came within the poll timeout, 204 once the connection has ended. A new poll
// ends the one in progress with 204, and the connection is dropped when its client does not poll
// again within the client timeout.
func (s *Server) poll(w http.ResponseWriter, r *http.Request, hc *httpConn) error {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	me := &activePoll{cancel: cancel, done: make(chan struct{})}
	defer close(me.done)
	hc.pollMu.Lock()
	prev := hc.poll
	hc.poll = me
	hc.pollMu.Unlock()
	if prev != nil {
		prev.cancel(errPollSuperseded)
		<-prev.done
	}
	hc.absent.Stop()
	data, closed, err := hc.out.next(ctx, pollTimeout)
	hc.pollMu.Lock()
	if hc.poll == me {
		hc.poll = nil
		hc.absent.Reset(s.timeout)
	}
	hc.pollMu.Unlock()
	noStore(w)
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errPollSuperseded):
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNoContent)
		return nil
	case err != nil:
		// The client went away; it has until the client timeout to poll again.
		return nil
	case len(data) == 0 && closed:
		s.http.forget(hc)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNoContent)
		return nil
	case len(data) == 0:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// stopLongPolling serves DELETE, the long-polling client's stop: 202, and the connection ends.
// Other transports end with their stream or socket (ASP.NET Core answers them 400 alike).
func (s *Server) stopLongPolling(w http.ResponseWriter, hc *httpConn) error {
	if !hc.longPolling {
		return httpapi.AzureError(http.StatusBadRequest, "BadRequest", "Cannot terminate this connection using the DELETE endpoint.", nil)
	}
	hc.reader.Lock()
	conn := hc.conn
	hc.reader.Unlock()
	if conn != nil {
		conn.ClosedByClient(pubsub.CloseNormal)
	}
	_ = hc.out.Close()
	s.http.forget(hc)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache,no-store")
	w.Header().Set("Pragma", "no-cache")
}
