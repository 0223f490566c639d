package signalr

import (
	"net/http"
	"time"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// pollTimeout is how long a poll waits for something to carry: ASP.NET Core's
// LongPollingOptions.PollTimeout default, under the client's own 100 s request timeout
// (@microsoft/signalr LongPollingTransport).
const pollTimeout = 90 * time.Second

// startLongPolling answers a long-polling connection's first GET at once and empty, as ASP.NET
// Core does: the client takes that answer as the transport being connected, then polls.
func (s *Server) startLongPolling(w http.ResponseWriter, hc *httpConn) error {
	hc.absent = time.AfterFunc(s.timeout, func() { s.transportLost(hc, "no poll within the client timeout") })
	noStore(w)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	return nil
}

// poll serves a long-polling GET: 200 with every byte queued for the client, 200 empty when
// nothing came within the poll timeout, 204 once the connection has ended. The connection is
// dropped when its client does not poll again within the client timeout.
func (s *Server) poll(w http.ResponseWriter, r *http.Request, hc *httpConn) error {
	if !hc.absent.Stop() {
		// Another poll is out, or the connection was dropped for want of one.
		return apiError(http.StatusConflict, "Conflict", "another poll of the connection is in progress", nil)
	}
	data, closed, err := hc.out.next(r.Context(), pollTimeout)
	noStore(w)
	switch {
	case err != nil:
		// The client gave up this poll; it has until the client timeout to send the next.
		hc.absent.Reset(s.timeout)
		return nil
	case len(data) == 0 && closed:
		s.http.forget(hc)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	hc.absent.Reset(s.timeout)
	contentType := "text/plain"
	if hc.proto != nil && isBinary(hc.proto) {
		contentType = "application/octet-stream"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// stopLongPolling serves DELETE, the long-polling client's stop: 202, and the connection ends.
// Other transports end with their stream or socket (ASP.NET Core answers them 400 alike).
func (s *Server) stopLongPolling(w http.ResponseWriter, hc *httpConn) error {
	if !hc.longPolling {
		return apiError(http.StatusBadRequest, "BadRequest", "Cannot terminate this connection using the DELETE endpoint.", nil)
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
