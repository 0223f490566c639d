package signalr

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
	"time"
)

// acceptsEventStream tells an EventSource's GET from a long poll, as ASP.NET Core does: by its
// Accept header.
func acceptsEventStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == "text/event-stream" {
			return true
		}
	}
	return false
}

// serveEventStream holds the GET of a Server-Sent Events connection open and writes what the
// connection's writer puts in the outbox as events, until the connection ends or the client goes.
func (s *Server) serveEventStream(w http.ResponseWriter, r *http.Request, hc *httpConn) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache,no-store")
	h.Set("Pragma", "no-cache")
	// Nothing on the way may compress the stream (ASP.NET Core ServerSentEventsServerTransport)
	// or, for nginx, buffer it.
	h.Set("Content-Encoding", "identity")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// A comment first: some browsers fire open only on the first bytes.
	if _, err := w.Write([]byte(":\r\n")); err != nil || rc.Flush() != nil {
		s.transportLost(hc, "connection lost")
		return nil
	}
	var ev []byte
	for {
		data, closed, err := hc.out.next(r.Context(), 0)
		if err != nil {
			s.transportLost(hc, "connection lost")
			return nil
		}
		if len(data) > 0 {
			ev = appendEvent(ev[:0], data)
			_ = rc.SetWriteDeadline(time.Now().Add(s.svc.Limits().WriteTimeout))
			if _, err := w.Write(ev); err != nil || rc.Flush() != nil {
				s.transportLost(hc, "write failed")
				return nil
			}
		}
		if closed {
			s.http.forget(hc)
			return nil
		}
	}
}

// appendEvent renders data as one event: each of its lines a data field, then an empty line
// (ASP.NET Core ServerSentEventsMessageFormatter); the client joins the lines with "\n" again.
func appendEvent(dst, data []byte) []byte {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		dst = append(dst, "data: "...)
		dst = append(dst, bytes.TrimSuffix(line, []byte("\r"))...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}
