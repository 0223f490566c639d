package main

import (
	"strings"
	"testing"
)

// The connection string's form: Endpoint, AccessKey, Version 1.x, optional Port, ClientEndpoint
// and ServerEndpoint, names case-insensitive (Azure/azure-signalr
// src/Microsoft.Azure.SignalR.Common/Utilities/ConnectionStringParser.cs).
func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		name, in       string
		server, client string
		err            string
	}{
		{name: "azure", in: "Endpoint=https://x.service.signalr.net;AccessKey=k;Version=1.0;",
			server: "https://x.service.signalr.net", client: "https://x.service.signalr.net"},
		{name: "huddle", in: "Endpoint=http://127.0.0.1:8080;AccessKey=k;Version=1.0;",
			server: "http://127.0.0.1:8080", client: "http://127.0.0.1:8080"},
		{name: "names in any case, spaces, trailing slash", in: " endpoint = http://localhost/ ; ACCESSKEY=k ; version=1.0",
			server: "http://localhost", client: "http://localhost"},
		{name: "port replaces the endpoint's", in: "Endpoint=http://localhost:1;Port=8888;AccessKey=k;Version=1.0;",
			server: "http://localhost:8888", client: "http://localhost:8888"},
		{name: "no version", in: "Endpoint=http://h;AccessKey=k",
			server: "http://h", client: "http://h"},
		{name: "key with =", in: "Endpoint=http://h;AccessKey=abc=;Version=1.0;",
			server: "http://h", client: "http://h"},
		{name: "client and server endpoints", in: "Endpoint=http://h;ClientEndpoint=https://public.example;ServerEndpoint=http://internal:81/;AccessKey=k;Version=1.0;",
			server: "http://internal:81", client: "https://public.example"},
		{name: "unknown fields ignored", in: "Endpoint=http://h;AccessKey=k;Version=1.0;Future=x",
			server: "http://h", client: "http://h"},
		{name: "version 2", in: "Endpoint=http://h;AccessKey=k;Version=2.0;", err: "Version"},
		{name: "no key", in: "Endpoint=http://h;Version=1.0;", err: "AccessKey is required"},
		{name: "no endpoint", in: "AccessKey=k;Version=1.0;", err: "Endpoint is required"},
		{name: "endpoint without scheme", in: "Endpoint=h.service.signalr.net;AccessKey=k", err: "not an http(s) URL"},
		{name: "bad port", in: "Endpoint=http://h;Port=x;AccessKey=k", err: "Port"},
		{name: "field without = ignored", in: "Endpoint=http://h;AccessKey=k;;junk",
			server: "http://h", client: "http://h"},
		{name: "version 1.1-preview", in: "Endpoint=http://h;AccessKey=k;Version=1.1-preview",
			server: "http://h", client: "http://h"},
		{name: "repeated field", in: "Endpoint=http://h;AccessKey=secret-key;accesskey=k2", err: "accesskey is given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := ParseConnectionString(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret-key") {
					t.Errorf("the error shows the field's text: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := svc.server.String(); got != tc.server {
				t.Errorf("server = %s, want %s", got, tc.server)
			}
			if got := svc.client.String(); got != tc.client {
				t.Errorf("client = %s, want %s", got, tc.client)
			}
		})
	}
}

func TestParseConnectionStringKeyIsUTF8(t *testing.T) {
	svc, err := ParseConnectionString("Endpoint=http://h;AccessKey=abc=;Version=1.0;")
	if err != nil {
		t.Fatal(err)
	}
	if string(svc.key) != "abc=" {
		t.Errorf("key = %q, want the AccessKey string as it is", svc.key)
	}
}
