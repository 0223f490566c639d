package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"slices"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/pubsub"
)

// connectBody is the connect event's JSON body. Every key is always present, because express
// and other handlers read them without checking.
func connectBody(req ConnectRequest) []byte {
	orEmpty := func(m map[string][]string) map[string][]string {
		if m == nil {
			return map[string][]string{}
		}
		return m
	}
	body := struct {
		Claims       map[string][]string `json:"claims"`
		Query        map[string][]string `json:"query"`
		Headers      map[string][]string `json:"headers"`
		Subprotocols []string            `json:"subprotocols"`
		// Client certificates are never asked for, so there are none to forward.
		ClientCertificates []struct{} `json:"clientCertificates"`
	}{
		Claims:             orEmpty(req.Claims),
		Query:              orEmpty(req.Query),
		Headers:            orEmpty(req.Headers),
		Subprotocols:       req.Subprotocols,
		ClientCertificates: []struct{}{},
	}
	if body.Subprotocols == nil {
		body.Subprotocols = []string{}
	}
	b, _ := json.Marshal(body) // maps and slices of strings always encode
	return b
}

func disconnectedBody(reason string) []byte {
	b, _ := json.Marshal(struct {
		Reason string `json:"reason,omitempty"`
	}{reason}) // a string always encodes
	return b
}

// parseConnectAnswer reads a 2xx connect answer: empty (usually a 204) accepts as is; otherwise
// a JSON object whose unknown fields are ignored, as newer service versions may add some.
func parseConnectAnswer(body []byte, offered []string) (*ConnectResponse, error) {
	res := &ConnectResponse{}
	if len(bytes.TrimSpace(body)) == 0 {
		return res, nil
	}
	if err := json.Unmarshal(body, res); err != nil {
		return nil, fmt.Errorf("the answer is not a connect response object: %w", err)
	}
	if res.Subprotocol != "" && !slices.Contains(offered, res.Subprotocol) {
		return nil, fmt.Errorf("the handler chose subprotocol %q, which the client did not offer", res.Subprotocol)
	}
	return res, nil
}

// Reply is what a user event handler sent back for the client. Text and JSON data are valid
// UTF-8, because they go out in WebSocket text frames, which a browser drops the connection
// over otherwise; JSON data is one valid JSON value, so it can be embedded in a message as is.
type Reply struct {
	DataType pubsub.DataType
	Data     []byte
}

// parseReply maps a 2xx user event answer to the message for the client; nil when empty.
func parseReply(contentType string, body []byte) (*Reply, error) {
	if len(body) == 0 {
		return nil, nil
	}
	if contentType == "" {
		// A handler that names no type (a bare res.end("…")) almost always means text; bytes
		// that are not UTF-8 go as binary rather than be mangled.
		if utf8.Valid(body) {
			return &Reply{DataType: pubsub.Text, Data: body}, nil
		}
		return &Reply{DataType: pubsub.Binary, Data: body}, nil
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("reply content type %q: %w", contentType, err)
	}
	switch mediaType {
	case "application/octet-stream":
		return &Reply{DataType: pubsub.Binary, Data: body}, nil
	case "text/plain", "application/json":
		if !utf8.Valid(body) {
			return nil, fmt.Errorf("the %s reply is not valid UTF-8", mediaType)
		}
		if mediaType == "text/plain" {
			return &Reply{DataType: pubsub.Text, Data: body}, nil
		}
		if !json.Valid(body) {
			return nil, fmt.Errorf("the application/json reply is not valid JSON")
		}
		return &Reply{DataType: pubsub.JSON, Data: body}, nil
	}
	return nil, fmt.Errorf("reply content type %q is not text/plain, application/json or application/octet-stream", contentType)
}
