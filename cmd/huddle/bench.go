package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/huddle-dev/huddle/internal/accesskey"
	"github.com/huddle-dev/huddle/internal/loadgen"
)

func newBenchCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		cfg      loadgen.Config
		connStr  string
		reliable bool
		signalR  string
		cfugo    bool
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a running server: fan-out throughput, latency, loss and memory per connection",
		Long: `bench opens --subscribers WebSocket connections to --hub, spread over --groups, publishes
--size-byte messages to the groups at --rate for --duration, and reports deliveries per second
(after a drain, with loss and duplicates beside it), end-to-end latency percentiles and the
server's memory per connection read from its /metrics. With --idle it only opens the
connections and holds them, to measure memory. With --signalr json|messagepack the subscribers
are SignalR clients (negotiate, WebSocket, handshake) put in their groups, and published to,
through the SignalR REST API. With --centrifugo the server at --url is Centrifugo: the
subscribers speak its JSON client protocol, each subscribed to its group's channel, and the
publishers its HTTP API, so that both servers are measured by the same generator.
BENCHMARKS.md describes how the published figures were taken.`,
		Example: `  huddle bench --connection-string "$(huddle connection-string)" --subscribers 10000 --rate 60 --duration 20s
  huddle bench --url http://127.0.0.1:8080 --access-key KEY --subscribers 10000 --idle --duration 1m --json
  huddle bench --connection-string "$(huddle connection-string)" --signalr messagepack --subscribers 10000 --rate 60 --duration 20s
  huddle bench --centrifugo --url http://127.0.0.1:8000 --centrifugo-api-key KEY --centrifugo-secret SECRET --subscribers 5000 --duration 20s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if connStr != "" {
				endpoint, key, err := accesskey.ParseConnectionString(connStr)
				if err != nil {
					return err
				}
				if cfg.URL == "" {
					cfg.URL = endpoint
				}
				if cfg.AccessKey == "" {
					cfg.AccessKey = key
				}
			}
			if cfg.URL == "" {
				return errors.New("--url or --connection-string is required")
			}
			switch {
			case cfugo && (reliable || signalR != ""):
				return errors.New("--centrifugo speaks Centrifugo's own protocol: it does not go with --reliable or --signalr")
			case cfugo:
				cfg.Protocol = loadgen.ProtocolCentrifugo
			case reliable && signalR != "":
				return errors.New("--reliable is a Web PubSub subprotocol: it does not go with --signalr")
			case reliable:
				cfg.Protocol = loadgen.ProtocolReliableJSON
			case signalR == "json":
				cfg.Protocol = loadgen.ProtocolSignalRJSON
			case signalR == "messagepack":
				cfg.Protocol = loadgen.ProtocolSignalRMessagePack
			case signalR != "":
				return fmt.Errorf("--signalr %q: use json or messagepack", signalR)
			}
			cfg.Progress = stderr
			rep, err := loadgen.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.WriteTable(stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "", "server base URL, e.g. http://127.0.0.1:8080 (default: the connection string's endpoint)")
	f.StringVar(&connStr, "connection-string", "", `connection string "Endpoint=…;AccessKey=…;Version=1.0;"`)
	f.StringVar(&cfg.AccessKey, "access-key", "", "access key that signs tokens (default: the connection string's)")
	f.StringVar(&cfg.Hub, "hub", "bench", "hub name")
	f.IntVar(&cfg.Subscribers, "subscribers", 100, "subscriber connections")
	f.IntVar(&cfg.Groups, "groups", 1, "groups the subscribers are spread over (subscriber i joins group i mod groups)")
	f.StringVar(&cfg.Join, "join", "token", "how subscribers join: token (webpubsub.group claim) or message (joinGroup)")
	f.StringVar(&cfg.Publisher, "publisher", "rest", "rest (POST …/groups/{group}/:send) or client (sendToGroup on a WebSocket)")
	f.IntVar(&cfg.Publishers, "publishers", 16, "concurrent publishers, each waiting for its previous message to be accepted")
	f.Float64Var(&cfg.Rate, "rate", 0, "messages per second over all publishers; 0 = as fast as the server accepts them")
	f.IntVar(&cfg.Size, "size", 1024, "message payload bytes")
	f.DurationVar(&cfg.Duration, "duration", 0, "how long to publish, or to hold idle connections (default 10s)")
	f.IntVar(&cfg.Messages, "messages", 0, "stop after this many messages, even before --duration (0 = no limit)")
	f.BoolVar(&cfg.Idle, "idle", false, "only open the connections and hold them for --duration, to measure memory")
	f.BoolVar(&reliable, "reliable", false, "use the reliable subprotocol "+loadgen.ProtocolReliableJSON)
	f.StringVar(&signalR, "signalr", "", "SignalR clients in this hub protocol (json or messagepack) instead of Web PubSub clients")
	f.BoolVar(&cfugo, "centrifugo", false, "measure a Centrifugo server at --url instead: its JSON client protocol and HTTP API")
	f.StringVar(&cfg.Centrifugo.APIKey, "centrifugo-api-key", "", "Centrifugo's HTTP API key (http_api.key)")
	f.StringVar(&cfg.Centrifugo.Secret, "centrifugo-secret", "", "Centrifugo's connection token HMAC secret (client.token.hmac_secret_key)")
	f.Float64Var(&cfg.ConnectRate, "connect-rate", 2000, "new connections per second")
	f.StringSliceVar(&cfg.SourceAddrs, "source-addrs", nil, "local IPs to dial from in turn (default for a loopback server: 127.0.0.2, .3, … one per 10,000 connections)")
	f.DurationVar(&cfg.Drain, "drain", 0, "longest wait for deliveries after the last publish (default 30s)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd
}
