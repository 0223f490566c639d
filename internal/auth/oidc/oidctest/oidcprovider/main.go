// Command oidcprovider runs the oidctest OpenID Connect provider as a process of its own, for
// test suites outside Go (the SDK compatibility tests) and for trying identity-based access by
// hand. It is a development tool, not part of the huddle binary: it holds everything in memory,
// and its authorization endpoint signs in the -user given, without asking anyone.
//
// Usage:
//
//	go run ./internal/auth/oidc/oidctest/oidcprovider -clients '[{"id":"app","secret":"s","roles":["WebPubSubServiceOwner"]}]'
//
// Each client is an oidctest.Client: id, secret, redirectURIs, roles, issuer and tokenTTL (a Go
// duration such as "1h" or "-1m"). -user is an oidctest.Claims as JSON ({"sub":"ada",
// "email":…, "name":…, "preferred_username":…, "groups":[…]}); without it every authorization
// ends with login_required. Once serving, it prints "issuer: <URL>" on a line of its own,
// and it runs until it is interrupted or terminated.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/huddle-dev/huddle/internal/auth/oidc/oidctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oidcprovider:", err)
		os.Exit(1)
	}
}

// client is an oidctest.Client as written on the command line.
type client struct {
	ID           string   `json:"id"`
	Secret       string   `json:"secret"`
	RedirectURIs []string `json:"redirectURIs"`
	Roles        []string `json:"roles"`
	Issuer       string   `json:"issuer"`
	TokenTTL     string   `json:"tokenTTL"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("oidcprovider", flag.ContinueOnError)
	clientsJSON := fs.String("clients", "[]", "the registered clients, as a JSON array")
	user := fs.String("user", "", "the user the authorization endpoint signs in, as JSON claims")
	tokenTTL := fs.Duration("token-ttl", time.Hour, "lifetime of ID tokens and of access tokens of clients without their own")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var clients []client
	if err := json.Unmarshal([]byte(*clientsJSON), &clients); err != nil {
		return fmt.Errorf("-clients: %w", err)
	}
	p, err := oidctest.New(oidctest.Options{IDTokenTTL: *tokenTTL})
	if err != nil {
		return err
	}
	defer p.Close()
	if *user != "" {
		var c oidctest.Claims
		if err := json.Unmarshal([]byte(*user), &c); err != nil {
			return fmt.Errorf("-user: %w", err)
		}
		p.SetNextUser(c)
	}
	for i, c := range clients {
		var ttl time.Duration
		if c.TokenTTL != "" {
			if ttl, err = time.ParseDuration(c.TokenTTL); err != nil {
				return fmt.Errorf("-clients[%d].tokenTTL: %w", i, err)
			}
		}
		p.AddClient(oidctest.Client{ID: c.ID, Secret: c.Secret, RedirectURIs: c.RedirectURIs,
			Roles: c.Roles, Issuer: c.Issuer, TokenTTL: ttl})
	}
	if _, err := fmt.Fprintf(stdout, "issuer: %s\n", p.URL); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
