package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/accesskey"
)

func TestTokenSignalR(t *testing.T) {
	env := map[string]string{"HUDDLE_ACCESS_KEY": "k-0123456789abcdef"}
	out, err := runCLI(t, env, "token", "--hub", "Chat", "--user", "u1", "--signalr", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		URL         string `json:"url"`
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if info.URL != "http://127.0.0.1:9999/client/?hub=chat" {
		t.Errorf("url %q", info.URL)
	}
	// The aud leaves out the port, as the server SDK signs it; the user is nameid.
	claims, err := accesskey.Keys{Primary: env["HUDDLE_ACCESS_KEY"]}.Verify(info.AccessToken,
		func(aud string) bool { return aud == "http://127.0.0.1/client/?hub=chat" }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := claims.Strings("nameid"); len(got) != 1 || got[0] != "u1" {
		t.Errorf("nameid %q", got)
	}
	if _, err := runCLI(t, env, "token", "--signalr"); err == nil {
		t.Error("token without --hub succeeded")
	}
}
