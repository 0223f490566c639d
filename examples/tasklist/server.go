package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The page and its script; web/signalr.min.js is copied there from the npm package by
// `make web`, so that the page needs nothing from another origin than this one and the service.
//
//go:embed web/*.html web/*.js web/*.css
var webFiles embed.FS

// userCookie holds the name the person picked. It is not authentication: anyone can claim any
// name. A real app would take the user id from its identity provider instead.
const userCookie = "tasklist_user"

// validName keeps user names to what is safe in a URL path segment and a cookie as it is.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

const maxTitleLength = 200

// Notifier pushes to the clients of the SignalR hub; *Sender is the real one.
type Notifier interface {
	Broadcast(ctx context.Context, target string, args ...any) error
	SendToUser(ctx context.Context, user, target string, args ...any) error
}

// Server is the app's HTTP API and page.
type Server struct {
	store  *Store
	svc    *Service
	hub    string
	notify Notifier
	log    *slog.Logger
	now    func() time.Time
}

// Notification is the argument of the "notify" push a task's owner gets when someone else
// completes the task.
type Notification struct {
	Text string `json:"text"`
	Task Task   `json:"task"`
}

// Handler returns the routes of the API and the page.
func (s *Server) Handler() http.Handler {
	page, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	mux.Handle("POST /api/signin", handler(s.signIn, s.log))
	mux.Handle("POST /api/signout", handler(s.signOut, s.log))
	mux.Handle("GET /api/me", handler(s.me, s.log))
	mux.Handle("POST /api/negotiate", handler(s.negotiate, s.log))
	mux.Handle("GET /api/tasks", handler(s.listTasks, s.log))
	mux.Handle("POST /api/tasks", handler(s.addTask, s.log))
	mux.Handle("POST /api/tasks/{id}/complete", handler(s.completeTask, s.log))
	return mux
}

// httpError is an error the client caused, answered with its status and message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// handler adapts a handler returning an error: a client's error is answered as it is, anything
// else is logged and answered 500 without its text.
func handler(h func(http.ResponseWriter, *http.Request) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var he *httpError
		if !errors.As(err, &he) {
			log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			he = &httpError{http.StatusInternalServerError, "internal error"}
		}
		writeJSON(w, he.status, map[string]string{"error": he.msg})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &httpError{http.StatusBadRequest, "invalid JSON body: " + err.Error()}
	}
	return nil
}

// user returns the signed-in name, or a 401.
func user(r *http.Request) (string, error) {
	c, err := r.Cookie(userCookie)
	if err != nil || !validName.MatchString(c.Value) {
		return "", &httpError{http.StatusUnauthorized, "sign in first"}
	}
	return c.Value, nil
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if !validName.MatchString(in.Name) {
		return &httpError{http.StatusBadRequest, "a name is 1 to 32 letters, digits, '.', '_' or '-'"}
	}
	http.SetCookie(w, &http.Cookie{Name: userCookie, Value: in.Name, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return writeJSON(w, http.StatusOK, map[string]string{"name": in.Name})
}

func (s *Server) signOut(w http.ResponseWriter, _ *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: userCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	name, err := user(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"name": name})
}

// negotiate sends the SignalR client on to the service with a token naming its user. The client
// reconnects through here too, then with the previous service token as a Bearer header, which
// is not this app's to check: the cookie decides.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request) error {
	name, err := user(r)
	if err != nil {
		return err
	}
	access, err := s.svc.ClientAccess(s.hub, name, s.now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, access)
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	if _, err := user(r); err != nil {
		return err
	}
	tasks, err := s.store.List(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tasks)
}

func (s *Server) addTask(w http.ResponseWriter, r *http.Request) error {
	name, err := user(r)
	if err != nil {
		return err
	}
	var in struct {
		Title string `json:"title"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	title := strings.TrimSpace(in.Title)
	if title == "" || utf8.RuneCountInString(title) > maxTitleLength || !utf8.ValidString(title) {
		return &httpError{http.StatusBadRequest, fmt.Sprintf("a title is 1 to %d characters", maxTitleLength)}
	}
	t, err := s.store.Add(r.Context(), title, name, s.now())
	if err != nil {
		return err
	}
	s.push(r.Context(), func(ctx context.Context) error { return s.notify.Broadcast(ctx, "taskUpdate", t) })
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	name, err := user(r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return &httpError{http.StatusNotFound, "no such task"}
	}
	t, changed, err := s.store.Complete(r.Context(), id, name)
	if errors.Is(err, ErrNotFound) {
		return &httpError{http.StatusNotFound, "no such task"}
	}
	if err != nil {
		return err
	}
	if changed {
		// The owner is told before the list changes, so that a page showing the task done has
		// had its notification already.
		if t.Owner != name {
			n := Notification{Text: fmt.Sprintf("%s completed your task %q", name, t.Title), Task: t}
			s.push(r.Context(), func(ctx context.Context) error { return s.notify.SendToUser(ctx, t.Owner, "notify", n) })
		}
		s.push(r.Context(), func(ctx context.Context) error { return s.notify.Broadcast(ctx, "taskUpdate", t) })
	}
	return writeJSON(w, http.StatusOK, t)
}

// push runs one call to the service after a change is committed. Its failure does not fail the
// request: the change is stored, and pages load the list again when they reconnect.
func (s *Server) push(ctx context.Context, send func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := send(ctx); err != nil {
		s.log.Warn("push to SignalR failed; pages catch up when they reconnect", "err", err)
	}
}
