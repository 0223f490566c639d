// The dashboard's connection to huddle's real-time hub. It is an ordinary Web PubSub client: it
// negotiates a client URL for one dashboard, speaks the reliable JSON subprotocol through the
// official SDK (which reconnects, rejoins groups and recovers missed messages), receives the
// server's pushes on the dashboard's metrics group, and exchanges presence and cursors with the
// other viewers on its collaboration group.
import { WebPubSubClient } from "@azure/web-pubsub-client";
import { api } from "./api";

export interface Negotiated {
  url: string;
  userId: string;
  name: string;
  role: "viewer" | "editor" | "admin";
  metricsGroup: string;
  collabGroup: string;
}

export type Status = "connecting" | "online" | "offline";

export interface HubHandlers {
  /** server: a push or change event from the server (metrics group). */
  server(data: Record<string, unknown>): void;
  /** peer: a message from another viewer (collaboration group). */
  peer(data: Record<string, unknown>, fromUserId: string): void;
  status(s: Status, reconnected: boolean): void;
}

export class DashboardHub {
  private client?: WebPubSubClient;
  private everOnline = false;
  me?: Negotiated;

  constructor(
    private uid: string,
    private on: HubHandlers,
  ) {}

  private negotiate(): Promise<Negotiated> {
    return api<Negotiated>("GET", "/api/negotiate?dashboard=" + encodeURIComponent(this.uid));
  }

  async start(): Promise<Negotiated> {
    this.me = await this.negotiate();
    const me = this.me;
    let first = true;
    const client = new WebPubSubClient({
      getClientAccessUrl: async () => {
        // The first URL is the one just negotiated; a reconnect after the token expired or the
        // connection could not be recovered asks again.
        if (first) {
          first = false;
          return me.url;
        }
        return (await this.negotiate()).url;
      },
    });
    this.client = client;
    // What the server sends to the dashboard's metrics group arrives, as in Web PubSub, as a
    // server message; what other viewers send to the collaboration group as a group message.
    client.on("server-message", (e) => {
      const data = e.message.data;
      if (typeof data === "object" && data !== null && (data as { dashboard?: string }).dashboard === this.uid) {
        this.on.server(data as Record<string, unknown>);
      }
    });
    client.on("group-message", (e) => {
      const m = e.message;
      if (typeof m.data !== "object" || m.data === null) return;
      if (m.group === me.collabGroup && m.fromUserId !== me.userId) this.on.peer(m.data as Record<string, unknown>, m.fromUserId);
    });
    client.on("connected", () => {
      this.on.status("online", this.everOnline);
      this.everOnline = true;
    });
    client.on("disconnected", () => this.on.status("offline", false));
    client.on("stopped", () => this.on.status("offline", false));
    this.on.status("connecting", false);
    await client.start();
    await client.joinGroup(me.metricsGroup);
    await client.joinGroup(me.collabGroup);
    return me;
  }

  /** send shares an ephemeral message with the other viewers; it is dropped while offline. */
  send(data: Record<string, unknown>) {
    const c = this.client;
    const me = this.me;
    if (!c || !me) return;
    c.sendToGroup(me.collabGroup, data, "json", { noEcho: true, fireAndForget: true }).catch(() => {});
  }

  stop() {
    this.client?.stop();
  }
}
