// The page's connection to huddle's real-time hub. It is an ordinary Web PubSub client: it
// negotiates a client URL (for one dashboard, or for the alerts alone), speaks the reliable JSON
// subprotocol through the official SDK (which reconnects, rejoins groups and recovers the
// server's pushes missed in a short drop), receives the server's pushes on the dashboard's
// metrics group, the alerts group and (the home page) the presence group, and exchanges presence and cursors with the other viewers
// on its collaboration group. The server treats what viewers send there as ephemeral: such a
// message has no sequence id, is not recovered after a drop, and is the first thing dropped for
// a viewer that lags behind.
import { WebPubSubClient } from "@azure/web-pubsub-client";
import { api } from "./api";
import { parseNegotiated, type Negotiated } from "./messages";

export type { Negotiated };

export type Status = "connecting" | "online" | "offline";

// answerTimeout is how long a connection coming back from a suspended page has to answer before
// it is taken for dead: long enough for a slow mobile network's round trip.
const answerTimeout = 5000;

export interface HubHandlers {
  /** server: a push or change event from the server (metrics group). */
  server?(data: Record<string, unknown>): void;
  /** peer: a message from another viewer (collaboration group). */
  peer?(data: Record<string, unknown>, fromUserId: string): void;
  /** alerts: a message of the server on the alerts group. */
  alerts?(data: Record<string, unknown>): void;
  /** presence: a message of the server on the presence group, which is joined only when this
   * handler is given. */
  presence?(data: Record<string, unknown>): void;
  status(s: Status, reconnected: boolean): void;
}

export class Hub {
  private client?: WebPubSubClient;
  private stopped = false;
  private reconnecting = false;
  // live: the current client has said it is connected and has not said otherwise since.
  private live = false;
  private checking = false;
  me?: Negotiated;

  /** uid is the dashboard whose groups to join, or null for the alerts group alone. */
  constructor(
    private uid: string | null,
    private on: HubHandlers,
  ) {}

  private async negotiate(): Promise<Negotiated> {
    const answer = await api<Record<string, unknown>>("GET", "/api/negotiate" + (this.uid === null ? "" : "?dashboard=" + encodeURIComponent(this.uid)));
    const me = parseNegotiated(answer);
    if (!me) throw new Error("the server's negotiate answer lacks the client URL, the user or the groups");
    return me;
  }

  async start(): Promise<Negotiated> {
    this.me = await this.negotiate();
    // The page may have been left while negotiating.
    if (this.stopped) return this.me;
    addEventListener("offline", this.wentOffline);
    addEventListener("online", this.cameOnline);
    document.addEventListener("visibilitychange", this.shown);
    document.addEventListener("resume", this.check);
    addEventListener("pageshow", this.restored);
    await this.connect(this.me.url, false);
    return this.me;
  }

  /** connect starts a client on url (the next ones negotiate again) and joins the groups. */
  private async connect(url: string, reconnected: boolean) {
    const me = this.me!;
    let next: string | undefined = url;
    const client = new WebPubSubClient({
      // A reconnect after the token expired or the connection could not be recovered asks again.
      getClientAccessUrl: async () => next ?? (await this.negotiate()).url,
    });
    this.client = client;
    // A replaced client may still report on its way out; only the current one speaks.
    const current = () => this.client === client && !this.stopped;
    // Both the server's pushes and the other viewers' messages arrive, as in Web PubSub, as
    // group messages. A push is one on the metrics group without a fromUserId: the hub stamps
    // every client's message with its sender, and no viewer may send to the metrics group.
    client.on("group-message", (e) => {
      const m = e.message;
      if (!current() || typeof m.data !== "object" || m.data === null) return;
      const data = m.data as Record<string, unknown>;
      if (m.group === me.metricsGroup && m.fromUserId == null) {
        if (data.dashboard === this.uid) this.on.server?.(data);
      } else if (m.group === me.alertsGroup && m.fromUserId == null) {
        this.on.alerts?.(data);
      } else if (m.group === me.presenceGroup && m.fromUserId == null) {
        this.on.presence?.(data);
      } else if (m.group === me.collabGroup && m.fromUserId != null && m.fromUserId !== me.userId) {
        this.on.peer?.(data, m.fromUserId);
      }
    });
    // "online" means the groups are joined, so that what is said on arrival (hello) is heard
    // and answered. The SDK announces a later connection of this client after it has rejoined
    // the groups; the first one is announced ahead of the joins below and reported after them.
    let joined = false;
    client.on("connected", () => {
      if (current()) this.live = true;
      if (current() && joined) this.on.status("online", true);
    });
    const down = () => {
      if (!current()) return;
      this.live = false;
      this.on.status("offline", false);
    };
    client.on("disconnected", down);
    client.on("stopped", down);
    this.on.status("connecting", false);
    try {
      await client.start();
      next = undefined;
      const presence = this.on.presence ? me.presenceGroup : undefined;
      for (const g of [me.metricsGroup, me.collabGroup, me.alertsGroup, presence]) if (g) await client.joinGroup(g);
    } catch (e) {
      client.stop();
      throw e;
    }
    joined = true;
    if (current()) this.on.status("online", reconnected);
  }

  // A browser that loses its network may keep a WebSocket that looks open but carries nothing
  // (the SDK only notices after its keep-alive timeout, minutes later), so the browser's own
  // word is taken: offline at once, and once back online a fresh connection, which the page
  // answers with a resync by version.
  private wentOffline = () => this.on.status("offline", false);

  // A phone suspends a page that is hidden or frozen, and its socket with it, without telling
  // the page; coming back, the socket may be dead with nothing said yet. So on coming back the
  // connection is asked for an answer (joining a group it is in is acknowledged and changes
  // nothing): without one soon, it is replaced as after the network's return, with one resync.
  // While the SDK is already recovering, or a replacement is under way, there is nothing to do:
  // that path announces the reconnect (and so the resync) itself.
  private shown = () => {
    if (document.visibilityState === "visible") this.check();
  };

  // pageshow also comes with the first load; only a page restored from the back-forward cache
  // has been away.
  private restored = (e: PageTransitionEvent) => {
    if (e.persisted) this.check();
  };

  private check = async () => {
    const client = this.client;
    const group = this.me?.collabGroup;
    if (this.stopped || this.reconnecting || this.checking || !client || !group) return;
    if (!navigator.onLine) return this.wentOffline();
    if (!this.live) return;
    this.checking = true;
    try {
      await client.joinGroup(group, { abortSignal: AbortSignal.timeout(answerTimeout) });
    } catch {
      // A socket seen closed meanwhile is the SDK's to recover.
      if (this.client === client && !this.stopped && this.live) {
        this.on.status("offline", false);
        await this.cameOnline();
      }
    } finally {
      this.checking = false;
    }
  };

  private cameOnline = async () => {
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.client?.stop();
    try {
      for (let delay = 1000; !this.stopped && navigator.onLine; delay = Math.min(delay * 2, 30_000)) {
        try {
          return await this.connect((await this.negotiate()).url, true);
        } catch {
          this.on.status("offline", false);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      this.reconnecting = false;
    }
  };

  /** send shares an ephemeral message with the other viewers: it is lost while offline, and the
   * server drops it for a viewer that lags behind. */
  send(data: Record<string, unknown>) {
    const c = this.client;
    const me = this.me;
    if (!c || !me?.collabGroup) return;
    c.sendToGroup(me.collabGroup, data, "json", { noEcho: true, fireAndForget: true }).catch(() => {});
  }

  stop() {
    this.stopped = true;
    removeEventListener("offline", this.wentOffline);
    removeEventListener("online", this.cameOnline);
    document.removeEventListener("visibilitychange", this.shown);
    document.removeEventListener("resume", this.check);
    removeEventListener("pageshow", this.restored);
    this.client?.stop();
  }
}
