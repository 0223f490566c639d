package webpubsub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
)

// apiVersions are the data-plane API versions served; the paths and shapes are the same in all.
var apiVersions = []string{"2021-10-01", "2022-11-01", "2023-07-01", "2024-01-01", "2024-12-01"}

func badRequest(format string, args ...any) *httpapi.ProtocolError {
	return httpapi.AzureError(http.StatusBadRequest, "InvalidRequest", fmt.Sprintf(format, args...), nil)
}

func notFound(format string, args ...any) *httpapi.ProtocolError {
	return httpapi.AzureError(http.StatusNotFound, "NotFound", fmt.Sprintf(format, args...), nil)
}

// absent is the "no" of an existence check (a HEAD): an answer, not a failure, so it is not
// logged as one.
func absent(w http.ResponseWriter) (int, error) {
	w.Header().Set("X-Ms-Error-Code", "NotFound")
	return http.StatusNotFound, nil
}

// restHandler serves one REST operation. It returns the success status, or an error that
// rest answers in the error shape; handlers that write a body write it themselves.
type restHandler func(w http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error)

func (s *Server) registerREST(mux *http.ServeMux) {
	health := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("HEAD /api/health", health)
	mux.HandleFunc("GET /api/health", health)

	// Each operation names the access an identity token's roles must grant (identity.go): reading
	// is what Azure's "Web PubSub Service Reader" role allows, everything else needs full access.
	routes := []struct {
		pattern string
		need    access
		handle  restHandler
	}{
		{"POST /api/hubs/{hub}/:send", fullAccess, s.sendToAll},
		{"POST /api/hubs/{hub}/users/{user}/:send", fullAccess, s.sendToUser},
		{"POST /api/hubs/{hub}/connections/{connection}/:send", fullAccess, s.sendToConnection},
		{"POST /api/hubs/{hub}/groups/{group}/:send", fullAccess, s.sendToGroupREST},
		{"PUT /api/hubs/{hub}/groups/{group}/connections/{connection}", fullAccess, s.addConnectionToGroup},
		{"DELETE /api/hubs/{hub}/groups/{group}/connections/{connection}", fullAccess, s.removeConnectionFromGroup},
		{"DELETE /api/hubs/{hub}/connections/{connection}/groups", fullAccess, s.removeConnectionFromAllGroups},
		{"PUT /api/hubs/{hub}/users/{user}/groups/{group}", fullAccess, s.addUserToGroup},
		{"DELETE /api/hubs/{hub}/users/{user}/groups/{group}", fullAccess, s.removeUserFromGroup},
		{"DELETE /api/hubs/{hub}/users/{user}/groups", fullAccess, s.removeUserFromAllGroups},
		{"POST /api/hubs/{hub}/:addToGroups", fullAccess, s.filteredGroups(pubsub.OpAddToGroups)},
		{"POST /api/hubs/{hub}/:removeFromGroups", fullAccess, s.filteredGroups(pubsub.OpRemoveFromGroups)},
		{"DELETE /api/hubs/{hub}/connections/{connection}", fullAccess, s.closeConnection},
		{"POST /api/hubs/{hub}/:closeConnections", fullAccess, s.closeConnections(pubsub.ToAll, "")},
		{"POST /api/hubs/{hub}/groups/{group}/:closeConnections", fullAccess, s.closeConnections(pubsub.ToGroup, "group")},
		{"POST /api/hubs/{hub}/users/{user}/:closeConnections", fullAccess, s.closeConnections(pubsub.ToUser, "user")},
		{"HEAD /api/hubs/{hub}/connections/{connection}", readAccess, s.exists("connection", (*pubsub.Hub).HasConnection)},
		{"HEAD /api/hubs/{hub}/users/{user}", readAccess, s.exists("user", (*pubsub.Hub).HasUser)},
		{"HEAD /api/hubs/{hub}/groups/{group}", readAccess, s.exists("group", (*pubsub.Hub).HasGroup)},
		{"GET /api/hubs/{hub}/groups/{group}/connections", readAccess, s.listGroupConnections},
		{"PUT /api/hubs/{hub}/permissions/{permission}/connections/{connection}", fullAccess, s.changePermission(pubsub.OpGrant)},
		{"DELETE /api/hubs/{hub}/permissions/{permission}/connections/{connection}", fullAccess, s.changePermission(pubsub.OpRevoke)},
		{"HEAD /api/hubs/{hub}/permissions/{permission}/connections/{connection}", readAccess, s.checkPermission},
		// Azure's clientToken data action is not a read: a reader cannot mint client tokens.
		{"POST /api/hubs/{hub}/:generateToken", fullAccess, s.generateToken},
	}
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.rest(rt.need, rt.handle))
	}
}

// rest wraps an operation with what every REST call shares: api-version, hub name and token
// checks, and the service's error shape for errors that have none.
func (s *Server) rest(need access, h restHandler) http.Handler {
	return s.errs.StatusHandler(func(w http.ResponseWriter, r *http.Request) (int, error) { return s.serveREST(w, r, need, h) }, operationFailed)
}

// operationFailed is a failure of ours in the service's error shape.
func operationFailed(err error) error {
	return httpapi.AzureError(http.StatusInternalServerError, "InternalServerError", "the operation failed", err)
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, need access, h restHandler) (int, error) {
	v := r.URL.Query().Get("api-version")
	if !slices.Contains(apiVersions, v) {
		e := httpapi.AzureError(http.StatusBadRequest, "UnsupportedApiVersion",
			fmt.Sprintf("api-version %q is not supported; use one of %s", v, strings.Join(apiVersions, ", ")), nil)
		e.Header.Set("api-supported-versions", strings.Join(apiVersions, ", "))
		return 0, e
	}
	hubName := r.PathValue("hub")
	if !pubsub.ValidHubName(hubName) {
		return 0, badRequest("hub name must start with a letter and contain only letters, digits and _`,.[] (at most 128)")
	}
	if err := s.authorizeREST(r, need); err != nil {
		return 0, err
	}
	return h(w, r, s.svc.Hub(hubName))
}

// authorizeREST checks the request's Bearer token: one the server SDK signs with an access key
// for each request, whose audience is the request URL with or without the query string, and
// which may do anything; or, when identities are configured, an identity provider's access
// token, which may do what its roles allow.
func (s *Server) authorizeREST(r *http.Request, need access) error {
	token := bearerToken(r)
	if token == "" {
		return unauthorized(errMissingToken)
	}
	if s.identities != nil && !accesskey.SignedWithKey(token) {
		return s.authorizeIdentity(r, token, need)
	}
	if _, err := s.keys.Verify(token, accesskey.RESTAudience(r.RequestURI, s.trustedHosts(r)...), time.Now()); err != nil {
		return unauthorized(err)
	}
	return nil
}

func unauthorized(err error) error {
	return httpapi.AzureError(http.StatusUnauthorized, "Unauthorized", tokenProblem(err), fmt.Errorf("REST token rejected: %w", err))
}

// message reads a REST send body into a message to the connections to selects.
func (s *Server) message(r *http.Request, to pubsub.Selector) (*pubsub.Message, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		mt = "application/octet-stream"
	}
	var dt pubsub.DataType
	switch strings.ToLower(mt) {
	case "text/plain":
		dt = pubsub.Text
	case "application/json":
		dt = pubsub.JSON
	case "application/octet-stream":
		dt = pubsub.Binary
	default:
		return nil, httpapi.AzureError(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("content type %q is not supported: use text/plain, application/json or application/octet-stream", ct), nil)
	}
	limit := s.svc.Limits().MaxMessageBytes
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("could not read the message body")
	}
	if int64(len(body)) > limit {
		return nil, httpapi.AzureError(http.StatusRequestEntityTooLarge, "PayloadTooLarge", fmt.Sprintf("the message is larger than %d bytes", limit), nil)
	}
	if dt != pubsub.Binary && !utf8.Valid(body) {
		return nil, badRequest("the body is not valid UTF-8; send bytes as application/octet-stream")
	}
	if dt == pubsub.JSON && !json.Valid(body) {
		return nil, badRequest("the body is not valid JSON although the content type is application/json")
	}
	m := pubsub.NewServerMessage(to, dt, body)
	if ttl := r.URL.Query().Get("messageTtlSeconds"); ttl != "" {
		n, err := strconv.Atoi(ttl)
		if err != nil || n < 0 || n > 300 {
			return nil, badRequest("messageTtlSeconds must be an integer from 0 to 300")
		}
		if n > 0 {
			m.Expires = m.Published.Add(time.Duration(n) * time.Second)
		}
	}
	return m, nil
}

// selector reads the excluded connections and the filter that narrow a send or close.
func selector(r *http.Request, kind pubsub.TargetKind, name string) pubsub.Selector {
	q := r.URL.Query()
	return pubsub.Selector{Kind: kind, Name: name, Excluded: q["excluded"], Filter: q.Get("filter")}
}

func (s *Server) publish(r *http.Request, hub *pubsub.Hub, e *pubsub.Envelope) error {
	err := hub.Publish(r.Context(), e)
	var fe *pubsub.FilterError
	if errors.As(err, &fe) {
		return badRequest("%v", fe)
	}
	return err
}

func (s *Server) send(r *http.Request, hub *pubsub.Hub, to pubsub.Selector) (int, error) {
	m, err := s.message(r, to)
	if err != nil {
		return 0, err
	}
	if err := s.publish(r, hub, &pubsub.Envelope{Op: pubsub.OpSend, To: to, Message: m}); err != nil {
		return 0, err
	}
	return http.StatusAccepted, nil
}

func (s *Server) sendToAll(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	return s.send(r, hub, selector(r, pubsub.ToAll, ""))
}

func (s *Server) sendToUser(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	user, err := pathUser(r)
	if err != nil {
		return 0, err
	}
	return s.send(r, hub, selector(r, pubsub.ToUser, user))
}

func (s *Server) sendToConnection(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	return s.send(r, hub, pubsub.Selector{Kind: pubsub.ToConnection, Name: r.PathValue("connection")})
}

func (s *Server) sendToGroupREST(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	group, err := pathGroup(r)
	if err != nil {
		return 0, err
	}
	return s.send(r, hub, selector(r, pubsub.ToGroup, group))
}

func pathGroup(r *http.Request) (string, error) {
	g := r.PathValue("group")
	if !pubsub.ValidGroupName(g) {
		return "", badRequest("group name must be 1 to 1024 characters and not only white space")
	}
	return g, nil
}

func pathUser(r *http.Request) (string, error) {
	u := r.PathValue("user")
	if u == "" || len(u) > 1024 {
		return "", badRequest("user id must be 1 to 1024 characters")
	}
	return u, nil
}

func (s *Server) changeGroups(r *http.Request, hub *pubsub.Hub, op pubsub.Op, to pubsub.Selector, groups []string) error {
	return s.publish(r, hub, &pubsub.Envelope{Op: op, To: to, Groups: groups})
}

func (s *Server) addConnectionToGroup(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	group, err := pathGroup(r)
	if err != nil {
		return 0, err
	}
	id := r.PathValue("connection")
	if !hub.HasConnection(id) {
		return 0, notFound("connection %q does not exist", id)
	}
	return http.StatusOK, s.changeGroups(r, hub, pubsub.OpAddToGroups, pubsub.Selector{Kind: pubsub.ToConnection, Name: id}, []string{group})
}

func (s *Server) removeConnectionFromGroup(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	group, err := pathGroup(r)
	if err != nil {
		return 0, err
	}
	to := pubsub.Selector{Kind: pubsub.ToConnection, Name: r.PathValue("connection")}
	return http.StatusNoContent, s.changeGroups(r, hub, pubsub.OpRemoveFromGroups, to, []string{group})
}

func (s *Server) removeConnectionFromAllGroups(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	to := pubsub.Selector{Kind: pubsub.ToConnection, Name: r.PathValue("connection")}
	return http.StatusNoContent, s.changeGroups(r, hub, pubsub.OpRemoveFromGroups, to, nil)
}

func (s *Server) addUserToGroup(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	return s.userGroups(r, hub, pubsub.OpAddToGroups, true, http.StatusOK)
}

func (s *Server) removeUserFromGroup(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	return s.userGroups(r, hub, pubsub.OpRemoveFromGroups, true, http.StatusNoContent)
}

func (s *Server) removeUserFromAllGroups(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	return s.userGroups(r, hub, pubsub.OpRemoveFromGroups, false, http.StatusNoContent)
}

// userGroups changes the groups of every connection of a user; with no group in the path a
// removal covers all groups.
func (s *Server) userGroups(r *http.Request, hub *pubsub.Hub, op pubsub.Op, oneGroup bool, status int) (int, error) {
	user, err := pathUser(r)
	if err != nil {
		return 0, err
	}
	var groups []string
	if oneGroup {
		g, err := pathGroup(r)
		if err != nil {
			return 0, err
		}
		groups = []string{g}
	}
	return status, s.changeGroups(r, hub, op, pubsub.Selector{Kind: pubsub.ToUser, Name: user}, groups)
}

// maxRequestBody bounds JSON request bodies that are not messages.
const maxRequestBody = 64 << 10

func (s *Server) filteredGroups(op pubsub.Op) restHandler {
	return func(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
		var body struct {
			Groups []string `json:"groups"`
			Filter string   `json:"filter"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
		if err := dec.Decode(&body); err != nil {
			return 0, badRequest("the body must be JSON like {\"groups\":[\"g1\"],\"filter\":\"userId eq 'u1'\"}: %v", err)
		}
		if len(body.Groups) == 0 {
			return 0, badRequest("groups must name at least one group")
		}
		for _, g := range body.Groups {
			if !pubsub.ValidGroupName(g) {
				return 0, badRequest("invalid group name %q", g)
			}
		}
		to := pubsub.Selector{Kind: pubsub.ToAll, Filter: body.Filter}
		return http.StatusOK, s.changeGroups(r, hub, op, to, body.Groups)
	}
}

// appServerClosed is the reason a REST close gives, both in the client's disconnected message
// and in the disconnected event: the service's words around the app server's own reason
// (Azure/azure-sdk-for-js, sdk/web-pubsub/web-pubsub/README.md: closeConnection(id, { reason:
// "Hello closed." }) gives "Application server closed the connection. Reason: Hello closed."),
// and the first sentence alone when it gave none, as Microsoft's Web PubSub emulator does.
func appServerClosed(r *http.Request) string {
	const closed = "Application server closed the connection."
	if reason := r.URL.Query().Get("reason"); reason != "" {
		return closed + " Reason: " + reason
	}
	return closed
}

func (s *Server) closeConnection(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	to := pubsub.Selector{Kind: pubsub.ToConnection, Name: r.PathValue("connection")}
	return http.StatusNoContent, s.publish(r, hub, &pubsub.Envelope{Op: pubsub.OpClose, To: to, Reason: appServerClosed(r)})
}

func (s *Server) closeConnections(kind pubsub.TargetKind, param string) restHandler {
	return func(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
		name := ""
		if param != "" {
			name = r.PathValue(param)
			if name == "" {
				return 0, badRequest("%s must not be empty", param)
			}
		}
		to := selector(r, kind, name)
		to.Filter = ""
		return http.StatusNoContent, s.publish(r, hub, &pubsub.Envelope{Op: pubsub.OpClose, To: to, Reason: appServerClosed(r)})
	}
}

func (s *Server) exists(param string, has func(*pubsub.Hub, string) bool) restHandler {
	return func(w http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
		if !has(hub, r.PathValue(param)) {
			return absent(w)
		}
		return http.StatusOK, nil
	}
}

// maxPageSize is the largest page of a group listing.
const maxPageSize = 200

func (s *Server) listGroupConnections(w http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	group, err := pathGroup(r)
	if err != nil {
		return 0, err
	}
	q := r.URL.Query()
	pageSize, err := intParam(q, "maxpagesize", maxPageSize, 1, maxPageSize)
	if err != nil {
		return 0, err
	}
	top, err := intParam(q, "top", 0, 1, 1<<31-1)
	if err != nil {
		return 0, err
	}
	after := ""
	if tok := q.Get("continuationToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return 0, badRequest("invalid continuationToken")
		}
		after = string(b)
	}
	members := hub.GroupMembers(group)
	start, _ := slices.BinarySearchFunc(members, after, func(m pubsub.Member, id string) int {
		return strings.Compare(m.ConnectionID, id)
	})
	if after != "" && start < len(members) && members[start].ConnectionID == after {
		start++
	}
	n := pageSize
	if top > 0 && top < n {
		n = top
	}
	page := members[start:min(len(members), start+n)]
	out := struct {
		Value    []pubsub.Member `json:"value"`
		NextLink string          `json:"nextLink,omitempty"`
	}{Value: page}
	more := start+len(page) < len(members) && (top == 0 || top > len(page))
	if more && len(page) > 0 {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("continuationToken", base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ConnectionID)))
		if top > 0 {
			next.Set("top", strconv.Itoa(top-len(page)))
		}
		out.NextLink = requestBase(r) + r.URL.EscapedPath() + "?" + next.Encode()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return 0, json.NewEncoder(w).Encode(out)
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// requestBase is the scheme and host the client used, for absolute links back to this server.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func permissionParams(r *http.Request) (pubsub.Permission, string, error) {
	p, ok := pubsub.ParsePermission(r.PathValue("permission"))
	if !ok {
		return 0, "", badRequest("unknown permission %q: use sendToGroup or joinLeaveGroup", r.PathValue("permission"))
	}
	target := r.URL.Query().Get("targetName")
	if target != "" && !pubsub.ValidGroupName(target) {
		return 0, "", badRequest("invalid targetName %q", target)
	}
	return p, target, nil
}

func (s *Server) changePermission(op pubsub.Op) restHandler {
	return func(_ http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
		p, target, err := permissionParams(r)
		if err != nil {
			return 0, err
		}
		to := pubsub.Selector{Kind: pubsub.ToConnection, Name: r.PathValue("connection")}
		status := http.StatusOK
		if op == pubsub.OpRevoke {
			status = http.StatusNoContent
		} else if !hub.HasConnection(to.Name) {
			return 0, notFound("connection %q does not exist", to.Name)
		}
		return status, s.publish(r, hub, &pubsub.Envelope{Op: op, To: to, Permission: p, PermissionTarget: target})
	}
}

func (s *Server) checkPermission(w http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	p, target, err := permissionParams(r)
	if err != nil {
		return 0, err
	}
	c, ok := hub.Connection(r.PathValue("connection"))
	if !ok || !c.Can(p, target) {
		return absent(w)
	}
	return http.StatusOK, nil
}

// maxTokenMinutes caps generated client tokens at a year, as the service does.
const maxTokenMinutes = 365 * 24 * 60

func (s *Server) generateToken(w http.ResponseWriter, r *http.Request, hub *pubsub.Hub) (int, error) {
	q := r.URL.Query()
	minutes, err := intParam(q, "minutesToExpire", 60, 1, maxTokenMinutes)
	if err != nil {
		return 0, err
	}
	path := "client/hubs/"
	switch strings.ToLower(q.Get("clientType")) {
	case "", "default":
	case "mqtt":
		path = "clients/mqtt/hubs/"
	default:
		return 0, badRequest("clientType must be Default or MQTT")
	}
	for _, g := range q["group"] {
		if !pubsub.ValidGroupName(g) {
			return 0, badRequest("invalid group name %q", g)
		}
	}
	base := requestBase(r)
	if s.publicURL != "" {
		base = s.publicURL
	}
	token, err := s.keys.SignClientToken(base+"/"+path+hub.Name(), accesskey.ClientClaims{
		UserID:  q.Get("userId"),
		Roles:   q["role"],
		Groups:  q["group"],
		Expires: time.Now().Add(time.Duration(minutes) * time.Minute),
	}, time.Now())
	if err != nil {
		return 0, fmt.Errorf("sign client token: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return 0, json.NewEncoder(w).Encode(map[string]string{"token": token})
}
