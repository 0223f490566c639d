package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// apiVersion is the data-plane REST API version every call names.
const apiVersion = "2022-06-01"

// Token lifetimes: a client token only has to last until the client has connected (the client
// negotiates again on every reconnect); a REST token is made for one call.
const (
	clientTokenLifetime = time.Hour
	restTokenLifetime   = 5 * time.Minute
)

// ClientAccess is the answer of the app's negotiate endpoint, which the SignalR client follows
// to the service: {"url","accessToken"}.
type ClientAccess struct {
	URL         string `json:"url"`
	AccessToken string `json:"accessToken"`
}

// ClientAccess makes the URL and token that connect a client to hub as user. The token's
// audience is the URL itself and the user id travels in the nameid claim, which the service
// uses for user-targeted sends.
func (s *Service) ClientAccess(hub, user string, now time.Time) (ClientAccess, error) {
	u := *s.client
	u.Path += "/client/"
	u.RawQuery = url.Values{"hub": {strings.ToLower(hub)}}.Encode()
	claims := jwt.MapClaims{
		"aud": u.String(),
		"iat": now.Unix(),
		"exp": now.Add(clientTokenLifetime).Unix(),
	}
	if user != "" {
		claims["nameid"] = user
	}
	tok, err := s.sign(claims)
	if err != nil {
		return ClientAccess{}, err
	}
	return ClientAccess{URL: u.String(), AccessToken: tok}, nil
}

func (s *Service) sign(claims jwt.MapClaims) (string, error) {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

// Sender calls the service's REST API for one hub.
type Sender struct {
	svc  *Service
	hub  string
	http *http.Client
	now  func() time.Time
}

// NewSender returns a Sender for hub (lower-cased: hub names are case-insensitive and the
// service's SDKs send them lower-case). A nil client means one with a 10-second timeout.
func NewSender(svc *Service, hub string, client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Sender{svc: svc, hub: strings.ToLower(hub), http: client, now: time.Now}
}

// Broadcast invokes target with args on every client of the hub.
func (s *Sender) Broadcast(ctx context.Context, target string, args ...any) error {
	return s.send(ctx, "/api/hubs/"+url.PathEscape(s.hub)+"/:send", target, args)
}

// SendToUser invokes target with args on every connection of user.
func (s *Sender) SendToUser(ctx context.Context, user, target string, args ...any) error {
	return s.send(ctx, "/api/hubs/"+url.PathEscape(s.hub)+"/users/"+url.PathEscape(user)+"/:send", target, args)
}

// send posts {"target","arguments"} to path. The token's audience is the request URL without
// its query, as the data-plane REST reference asks.
func (s *Sender) send(ctx context.Context, path, target string, args []any) error {
	if args == nil {
		args = []any{}
	}
	body, err := json.Marshal(struct {
		Target    string `json:"target"`
		Arguments []any  `json:"arguments"`
	}{target, args})
	if err != nil {
		return fmt.Errorf("send %s: encode arguments: %w", target, err)
	}
	aud := s.svc.server.String() + path

	now := s.now()
	tok, err := s.svc.sign(jwt.MapClaims{"aud": aud, "iat": now.Unix(), "exp": now.Add(restTokenLifetime).Unix()})
	if err != nil {
		return fmt.Errorf("send %s: %w", target, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, aud+"?api-version="+apiVersion, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("send %s: %w", target, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("send %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	return fmt.Errorf("send %s: POST %s: %w", target, path, serviceError(resp))
}

// serviceError reads the service's error form, {"code","message"} with the code also in
// x-ms-error-code, keeping whatever of it is there.
func serviceError(resp *http.Response) error {
	var e struct{ Code, Message string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	if e.Code == "" {
		e.Code = resp.Header.Get("x-ms-error-code")
	}
	msg := resp.Status
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return errors.New(msg)
}
