package signalr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// APIVersion is the api-version of the versioned REST API (/api/hubs/…); the same paths with a
// Web PubSub api-version are Web PubSub's.
const APIVersion = "2022-06-01"

// RESTOptions configure a [REST].
type RESTOptions struct {
	Service *pubsub.Service
	Keys    accesskey.Keys
	// PublicURL is how app servers reach this server; tokens signed for its host are accepted
	// beside those signed for the request's own Host.
	PublicURL string
	Logger    *slog.Logger // default: slog.Default()
	// ClientAddress names the client behind a request in the log (default: the peer's address).
	ClientAddress func(*http.Request) string
}

// REST serves Azure SignalR Service's data-plane REST API, v1 (/api/v1/…) and 2022-06-01
// (/api/hubs/…?api-version=2022-06-01), on the service's hubs: what an app server's Management
// SDK or an Azure Functions SignalR output binding calls. Hub names are lower-cased, as the SDKs
// do, and an application prefixes its hubs ({application}_{hub}). A send invokes a client method
// (pubsub.NewInvocation), so every connection of the hub gets it in its own wire format.
type REST struct {
	svc        *pubsub.Service
	keys       accesskey.Keys
	publicHost string
	errs       httpapi.ErrorWriter
	versioned  *http.ServeMux
	routes     []restRoute
}

// version is the API version a request came in by; some statuses differ between them.
type version uint8

const (
	v1 version = iota
	v20220601
)

// pick returns the status of the request's version.
func (v version) pick(inV1, in20220601 int) int {
	if v == v1 {
		return inV1
	}
	return in20220601
}

// call is what every operation is given: the hub, lower-cased and prefixed, and the version.
type call struct {
	hub *pubsub.Hub
	v   version
}

// restHandler serves one operation, returning the success status or an error answered in the
// service's error shape.
type restHandler func(w http.ResponseWriter, r *http.Request, c call) (int, error)

// restRoute is one operation and its patterns, each "METHOD path" below the hub; a version
// without the operation has none.
type restRoute struct {
	v1, v2 []string
	handle restHandler
}

// NewREST builds the REST API over opts.Service.
func NewREST(opts RESTOptions) *REST {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &REST{
		svc:        opts.Service,
		keys:       opts.Keys,
		publicHost: publicHostname(opts.PublicURL),
		errs:       httpapi.ErrorWriter{Logger: opts.Logger, ClientAddr: opts.ClientAddress},
		versioned:  http.NewServeMux(),
	}
	// The paths and statuses are those of Azure/azure-signalr docs/swagger/v1.json and
	// docs/swagger/V20220601.json; the GET forms of the existence checks are those the emulator
	// and the Management SDK (RestHubLifetimeManager.IsUserInGroup) use.
	s.routes = []restRoute{
		{[]string{"POST "}, []string{"POST /:send"}, s.send(pubsub.ToAll, "")},
		{[]string{"POST /users/{user}"}, []string{"POST /users/{user}/:send"}, s.send(pubsub.ToUser, "user")},
		{[]string{"POST /connections/{connection}"}, []string{"POST /connections/{connection}/:send"}, s.send(pubsub.ToConnection, "connection")},
		{[]string{"POST /groups/{group}"}, []string{"POST /groups/{group}/:send"}, s.send(pubsub.ToGroup, "group")},
		{nil, []string{"POST /:closeConnections"}, s.closeConnections(pubsub.ToAll, "")},
		{nil, []string{"POST /groups/{group}/:closeConnections"}, s.closeConnections(pubsub.ToGroup, "group")},
		{nil, []string{"POST /users/{user}/:closeConnections"}, s.closeConnections(pubsub.ToUser, "user")},
		{[]string{"DELETE /connections/{connection}"}, []string{"DELETE /connections/{connection}"}, s.closeConnection},
		{[]string{"GET /connections/{connection}", "HEAD /connections/{connection}"}, []string{"HEAD /connections/{connection}"},
			s.exists("connection", (*pubsub.Hub).HasConnection, "Warning.Connection.NotExisted")},
		{[]string{"GET /users/{user}", "HEAD /users/{user}"}, []string{"HEAD /users/{user}"},
			s.exists("user", (*pubsub.Hub).HasUser, "Warning.User.NotExisted")},
		{[]string{"GET /groups/{group}", "HEAD /groups/{group}"}, []string{"HEAD /groups/{group}"},
			s.exists("group", (*pubsub.Hub).HasGroup, "Warning.Group.NotExisted")},
		{[]string{"PUT /groups/{group}/connections/{connection}"}, []string{"PUT /groups/{group}/connections/{connection}"},
			s.connectionGroup(pubsub.OpAddToGroups)},
		{[]string{"DELETE /groups/{group}/connections/{connection}"}, []string{"DELETE /groups/{group}/connections/{connection}"},
			s.connectionGroup(pubsub.OpRemoveFromGroups)},
		{nil, []string{"DELETE /connections/{connection}/groups"}, s.removeConnectionFromAllGroups},
		{[]string{"GET /groups/{group}/users/{user}", "HEAD /groups/{group}/users/{user}"},
			[]string{"GET /users/{user}/groups/{group}", "HEAD /users/{user}/groups/{group}"}, s.userInGroup},
		{[]string{"PUT /groups/{group}/users/{user}"}, []string{"PUT /users/{user}/groups/{group}"}, s.addUserToGroup},
		{[]string{"DELETE /groups/{group}/users/{user}"}, []string{"DELETE /users/{user}/groups/{group}"}, s.removeUserFromGroup},
		{[]string{"DELETE /users/{user}/groups"}, []string{"DELETE /users/{user}/groups"}, s.removeUserFromAllGroups},
	}
	for _, rt := range s.routes {
		for _, p := range rt.v2 {
			s.versioned.Handle(pattern(p, "/api/hubs/{hub}"), s.rest(v20220601, rt.handle))
		}
	}
	s.versioned.Handle("/", s.errs.Handler(func(_ http.ResponseWriter, r *http.Request) error {
		return httpapi.AzureError(http.StatusNotFound, "NotFound", fmt.Sprintf("no operation %s %s in API version %s", r.Method, r.URL.Path, APIVersion), nil)
	}))
	return s
}

// pattern places "METHOD path" below prefix.
func pattern(p, prefix string) string {
	method, path, _ := strings.Cut(p, " ")
	return method + " " + prefix + path
}

// Register adds the v1 API and the health checks to mux. The 2022-06-01 API shares its paths
// with Web PubSub's API and is told apart by its api-version: see [REST.Versioned].
func (s *REST) Register(mux *http.ServeMux) {
	health := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("HEAD /api/v1/health", health)
	mux.HandleFunc("GET /api/v1/health", health)
	for _, rt := range s.routes {
		for _, p := range rt.v1 {
			mux.Handle(pattern(p, "/api/v1/hubs/{hub}"), s.rest(v1, rt.handle))
		}
	}
}

// Versioned returns next with the 2022-06-01 API in front: a request below /api/hubs/ whose
// api-version is [APIVersion] is served here, everything else by next. (/api/health, the same
// check in both services, is next's.)
func (s *REST) Versioned(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/hubs/") && r.URL.Query().Get("api-version") == APIVersion {
			s.versioned.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func badRequest(format string, args ...any) *httpapi.ProtocolError {
	return httpapi.AzureError(http.StatusBadRequest, "InvalidRequest", fmt.Sprintf(format, args...), nil)
}

// rest wraps an operation with what every call shares: the hub name, the token, and the
// service's error shape for errors that have none.
func (s *REST) rest(v version, h restHandler) http.Handler {
	return s.errs.StatusHandler(func(w http.ResponseWriter, r *http.Request) (int, error) { return s.serve(w, r, v, h) }, operationFailed)
}

// operationFailed is a failure of ours in the service's error shape.
func operationFailed(err error) error {
	return httpapi.AzureError(http.StatusInternalServerError, "InternalServerError", "the operation failed", err)
}

func (s *REST) serve(w http.ResponseWriter, r *http.Request, v version, h restHandler) (int, error) {
	const naming = "must start with a letter and contain only letters, digits and _`,.[] (at most 128)"
	hub := r.PathValue("hub")
	if !pubsub.ValidHubName(hub) {
		return 0, badRequest("invalid hub name %q: a hub name %s", httpapi.Truncate(hub, 64), naming)
	}
	name := strings.ToLower(hub)
	if app := r.URL.Query().Get("application"); app != "" {
		if !pubsub.ValidHubName(app) {
			return 0, badRequest("invalid application name %q: an application name %s", httpapi.Truncate(app, 64), naming)
		}
		name = strings.ToLower(app) + "_" + name
	}
	if err := s.authorize(r); err != nil {
		return 0, err
	}
	return h(w, r, call{hub: s.svc.Hub(name), v: v})
}

// pathName reads the group, user or connection named in the path.
func pathName(r *http.Request, param string) (string, error) {
	name := r.PathValue(param)
	switch {
	case param == "group" && !pubsub.ValidGroupName(name):
		return "", badRequest("invalid group name: a group name is 1 to 1024 characters, not only white space")
	case name == "" || len(name) > 1024:
		return "", badRequest("invalid %s: it must be 1 to 1024 characters", param)
	}
	return name, nil
}

// target selects the connections an operation names: the hub's, or those of the group, user or
// connection named by the path parameter param, less the excluded connections (a repeated
// query parameter) when excludable.
func target(r *http.Request, kind pubsub.TargetKind, param string, excludable bool) (pubsub.Selector, error) {
	to := pubsub.Selector{Kind: kind}
	if param != "" {
		name, err := pathName(r, param)
		if err != nil {
			return to, err
		}
		to.Name = name
	}
	if excludable {
		to.Excluded = r.URL.Query()["excluded"]
	}
	return to, nil
}

func (s *REST) publish(r *http.Request, c call, e *pubsub.Envelope) error {
	if err := c.hub.Publish(r.Context(), e); err != nil {
		return fmt.Errorf("signalr REST %s %s: %w", r.Method, r.URL.Path, err)
	}
	return nil
}

// send answers 202 whether or not anyone receives the message, as the service does for users,
// groups and connections that are not there.
func (s *REST) send(kind pubsub.TargetKind, param string) restHandler {
	return func(w http.ResponseWriter, r *http.Request, c call) (int, error) {
		to, err := target(r, kind, param, kind == pubsub.ToAll || kind == pubsub.ToGroup)
		if err != nil {
			return 0, err
		}
		inv, err := s.invocation(w, r)
		if err != nil {
			return 0, err
		}
		m := pubsub.NewInvocation(to, inv.Target, inv.Arguments)
		m.MessagePackArgs = inv.MessagePack
		return http.StatusAccepted, s.publish(r, c, &pubsub.Envelope{Op: pubsub.OpSend, To: to, Message: m})
	}
}

func (s *REST) closeConnection(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
	to, err := target(r, pubsub.ToConnection, "connection", false)
	if err != nil {
		return 0, err
	}
	return c.v.pick(http.StatusAccepted, http.StatusOK), s.publish(r, c, &pubsub.Envelope{Op: pubsub.OpClose, To: to, Reason: r.URL.Query().Get("reason")})
}

func (s *REST) closeConnections(kind pubsub.TargetKind, param string) restHandler {
	return func(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
		to, err := target(r, kind, param, true)
		if err != nil {
			return 0, err
		}
		return http.StatusNoContent, s.publish(r, c, &pubsub.Envelope{Op: pubsub.OpClose, To: to, Reason: r.URL.Query().Get("reason")})
	}
}

// exists answers an existence check: 200, or 404 with the x-ms-error-code the Management SDK
// takes for "no" (RestHubLifetimeManager: any other 404 is an error to it). A "no" is an
// answer, not a failure, so it is not logged.
func (s *REST) exists(param string, has func(*pubsub.Hub, string) bool, code string) restHandler {
	return func(w http.ResponseWriter, r *http.Request, c call) (int, error) {
		name, err := pathName(r, param)
		if err != nil {
			return 0, err
		}
		if !has(c.hub, name) {
			return absent(w, r, code, fmt.Sprintf("%s %q does not exist", param, name))
		}
		return http.StatusOK, nil
	}
}

func absent(w http.ResponseWriter, r *http.Request, code, msg string) (int, error) {
	if r.Method == http.MethodHead {
		w.Header().Set("X-Ms-Error-Code", code)
		return http.StatusNotFound, nil
	}
	e := httpapi.AzureError(http.StatusNotFound, code, msg, nil)
	w.Header()["X-Ms-Error-Code"] = e.Header["X-Ms-Error-Code"]
	httpapi.WriteJSON(w, http.StatusNotFound, e.Body)
	return 0, nil
}

func (s *REST) userInGroup(w http.ResponseWriter, r *http.Request, c call) (int, error) {
	user, err := pathName(r, "user")
	if err != nil {
		return 0, err
	}
	group, err := pathName(r, "group")
	if err != nil {
		return 0, err
	}
	if !c.hub.HasUserInGroup(user, group) {
		return absent(w, r, "Info.User.NotInGroup", fmt.Sprintf("user %q is not in group %q", user, group))
	}
	return http.StatusOK, nil
}

// groupAndTarget reads the group and the connection or user (kind, path parameter param) of a
// membership route.
func groupAndTarget(r *http.Request, kind pubsub.TargetKind, param string) (string, pubsub.Selector, error) {
	group, err := pathName(r, "group")
	if err != nil {
		return "", pubsub.Selector{}, err
	}
	to, err := target(r, kind, param, false)
	return group, to, err
}

// connectionGroup adds a connection to a group or removes it from one; an unknown connection is
// 404 Error.Connection.NotExisted, which the Management SDK accepts for an addition.
func (s *REST) connectionGroup(op pubsub.Op) restHandler {
	return func(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
		group, to, err := groupAndTarget(r, pubsub.ToConnection, "connection")
		if err != nil {
			return 0, err
		}
		if !c.hub.HasConnection(to.Name) {
			return 0, httpapi.AzureError(http.StatusNotFound, "Error.Connection.NotExisted", fmt.Sprintf("connection %q does not exist", to.Name), nil)
		}
		return http.StatusOK, s.publish(r, c, &pubsub.Envelope{Op: op, To: to, Groups: []string{group}})
	}
}

func (s *REST) removeConnectionFromAllGroups(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
	to, err := target(r, pubsub.ToConnection, "connection", false)
	if err != nil {
		return 0, err
	}
	return http.StatusOK, s.publish(r, c, &pubsub.Envelope{Op: pubsub.OpRemoveFromGroups, To: to})
}

// addUserToGroup makes the user a member of the group, its later connections included, for ttl
// seconds, or without one among its latest 100 such groups (pubsub.MaxLastingMemberships); ttl=0
// adds only the connections the user has now (Azure/azure-signalr docs/swagger/V20220601.json,
// parameter ttl, whose year-long bound outlives memberships kept in memory).
func (s *REST) addUserToGroup(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
	group, to, err := groupAndTarget(r, pubsub.ToUser, "user")
	if err != nil {
		return 0, err
	}
	e := &pubsub.Envelope{Op: pubsub.OpAddToGroups, To: to, Groups: []string{group}, KeepForUser: true}
	if v := r.URL.Query().Get("ttl"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return 0, badRequest("ttl must be a number of seconds from 0 to %d", math.MaxInt32)
		}
		e.KeepForUser = n > 0
		e.MembershipExpires = time.Now().Add(time.Duration(n) * time.Second)
	}
	return c.v.pick(http.StatusAccepted, http.StatusOK), s.publish(r, c, e)
}

func (s *REST) removeUserFromGroup(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
	group, to, err := groupAndTarget(r, pubsub.ToUser, "user")
	if err != nil {
		return 0, err
	}
	return c.v.pick(http.StatusAccepted, http.StatusNoContent), s.publish(r, c, &pubsub.Envelope{Op: pubsub.OpRemoveFromGroups, To: to, Groups: []string{group}})
}

func (s *REST) removeUserFromAllGroups(_ http.ResponseWriter, r *http.Request, c call) (int, error) {
	to, err := target(r, pubsub.ToUser, "user", false)
	if err != nil {
		return 0, err
	}
	return c.v.pick(http.StatusOK, http.StatusNoContent), s.publish(r, c, &pubsub.Envelope{Op: pubsub.OpRemoveFromGroups, To: to})
}

// invocation is a send's body: the client method and its arguments, a JSON array, and the same
// arguments as a MessagePack array when the app server sent them so.
type invocation struct {
	Target      string          `json:"target"`
	Arguments   json.RawMessage `json:"arguments"`
	MessagePack []byte          `json:"-"`
}

// Media types of a send's body besides JSON (rest_binary.go).
const (
	mediaMessagePack = "application/x-msgpack"
	mediaBinary      = "application/octet-stream"
)

// invocation reads a send's body: JSON, MessagePack (messagePackPayload) or the Management SDK's
// binary form (binaryInvocation). JSON property names match case-insensitively: the Management
// SDK writes {"Target","Arguments"}, the REST documentation {"target","arguments"}. The body is
// bounded by the hub's message limit (1 MiB by default, the service's documented limit); any
// fault, its size included, is a 400, which the SDK reports as an invalid argument.
func (s *REST) invocation(w http.ResponseWriter, r *http.Request) (invocation, error) {
	var inv invocation
	mt := "application/json"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		mt, _, err = mime.ParseMediaType(ct)
		mt = strings.ToLower(mt)
		if err != nil || mt != "application/json" && mt != mediaMessagePack && mt != mediaBinary {
			return inv, httpapi.AzureError(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
				fmt.Sprintf("content type %q is not supported: send application/json, application/x-msgpack, or application/octet-stream as the Management SDK does", httpapi.Truncate(ct, 64)), nil)
		}
	}
	limit := s.svc.Limits().MaxMessageBytes
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return inv, badRequest("the body is larger than %d bytes", limit)
	case err != nil:
		return inv, badRequest("could not read the body")
	}
	switch mt {
	case mediaMessagePack:
		if inv, err = messagePackPayload(body); err != nil {
			return inv, badRequest("%v", err)
		}
	case mediaBinary:
		if inv, err = binaryInvocation(body); err != nil {
			return inv, badRequest("%v", err)
		}
	default:
		var he *httpapi.Error
		if err := httpapi.DecodeJSONFrom(bytes.NewReader(body), &inv); errors.As(err, &he) {
			return inv, badRequest(`the body must be JSON like {"target":"method","arguments":[…]}: %s`, he.Msg)
		} else if err != nil {
			return inv, badRequest("could not read the body")
		}
	}
	if inv.Target == "" {
		return inv, badRequest("target is required: the name of the client method to invoke")
	}
	args := bytes.TrimSpace(inv.Arguments)
	switch {
	case len(args) == 0 || string(args) == "null":
		inv.Arguments = json.RawMessage("[]")
		return inv, nil
	case args[0] != '[':
		return inv, badRequest("arguments must be a JSON array")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, args); err != nil {
		return inv, badRequest("arguments must be a JSON array")
	}
	inv.Arguments = compact.Bytes()
	return inv, nil
}
