package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/app"
	"github.com/huddle-dev/huddle/internal/config"
	"github.com/huddle-dev/huddle/internal/signalr"
)

// newTokenCommand prints what an app server's negotiate endpoint returns to a client: for
// SignalR, {url, accessToken} as Azure Functions' SignalRConnectionInfo; for Web PubSub,
// {baseUrl, token, url} as @azure/web-pubsub's getClientAccessToken.
func newTokenCommand(getenv func(string) string, stdout io.Writer, addFlags func(*cobra.Command), flags *config.Flags) *cobra.Command {
	var hub, user string
	var sr bool
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a client URL and access token for a hub",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if hub == "" {
				return errors.New("--hub is required")
			}
			cfg, err := config.Load(*flags, getenv)
			if err != nil {
				return err
			}
			keys, _, err := accesskey.LoadOrCreate(cfg.DataDir, cfg.AccessKey)
			if err != nil {
				return err
			}
			publicURL, now := app.PublicURL(cfg, cfg.Addr), time.Now()
			var out any
			if sr {
				clientURL, token, err := signalr.ClientConnectionInfo(keys, publicURL, hub, user, now.Add(lifetime), now)
				if err != nil {
					return err
				}
				out = struct {
					URL         string `json:"url"`
					AccessToken string `json:"accessToken"`
				}{clientURL, token}
			} else {
				endpoint := strings.TrimRight(publicURL, "/") + "/client/hubs/" + hub
				token, err := keys.SignClientToken(endpoint, accesskey.ClientClaims{UserID: user, Expires: now.Add(lifetime)}, now)
				if err != nil {
					return err
				}
				base := "ws" + strings.TrimPrefix(endpoint, "http")
				out = struct {
					BaseURL string `json:"baseUrl"`
					Token   string `json:"token"`
					URL     string `json:"url"`
				}{base, token, base + "?access_token=" + token}
			}
			b, err := json.Marshal(out)
			if err != nil {
				return fmt.Errorf("encode token: %w", err)
			}
			_, err = fmt.Fprintln(stdout, string(b))
			return err
		},
	}
	addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&hub, "hub", "", "hub the client connects to")
	f.StringVar(&user, "user", "", "user id of the connection (default: anonymous)")
	f.BoolVar(&sr, "signalr", false, "print a SignalR client's {url, accessToken} instead of a Web PubSub client's {baseUrl, token, url}")
	f.DurationVar(&lifetime, "lifetime", accesskey.DefaultClientTokenLifetime, "how long the token is valid")
	return cmd
}
