import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, queryRange } from "./api";
import { PanelData, type Answer } from "./data";
import { Hub, type Negotiated, type Status } from "./hub";
import type { Annotation, Dashboard, Panel, StoredDashboard, TimeRange } from "./model";
import { isRelative, resolveTime, type Range } from "./time";
import { loadExpansion, type Expansion } from "./variables";
import {
  applyPeer,
  namePeers,
  parsePeer,
  PeerNames,
  cursorInterval,
  expirePeers,
  idleAfter,
  presenceEvery,
  throttle,
  type PeerMessage,
  type PeerState,
  type Viewer,
} from "./collab";
import { Grid, type Layout } from "./Grid";
import { PanelView } from "./PanelView";
import { Presence, Cursors } from "./Presence";
import { AnnotationEditor, AnnotationList } from "./Annotations";
import { PanelEditor } from "./PanelEditor";
import { TimePicker } from "./TimePicker";
import { VariableBar } from "./VariableBar";
import { ThemeToggle } from "./theme";
import { AlertBar } from "./AlertBar";
import { parseAlertMessage, type AlertMessage, type Group, type IncidentQuery } from "./alerts";
import { useIncidents, useRules } from "./useAlerts";
import { thresholdsFor, type Threshold, type WatchingRule } from "./thresholds";

interface Push {
  type: "points";
  dashboard: string;
  version: number;
  /** key is the key of the expansion whose queries the points are of. */
  key: string;
  time: number;
  results: ({ panel: number; refId: string } & Answer)[];
}

interface ChangeEvent {
  type: string;
  dashboard: string;
  version: number;
  by?: string;
  annotation?: Annotation;
}

export interface AnnotationDraft {
  id?: number;
  panelId: number;
  time: number;
  timeEnd: number;
  text: string;
  tags: string[];
  login?: string;
}

function resolveRange(r: TimeRange): Range {
  const now = Date.now();
  return { from: resolveTime(r.from, now) ?? now - 3_600_000, to: resolveTime(r.to, now) ?? now };
}

export function DashboardPage({ uid }: { uid: string }) {
  const [stored, setStored] = useState<StoredDashboard | null>(null);
  const [loadError, setLoadError] = useState("");
  const [timeRange, setTimeRange] = useState<TimeRange | null>(null);
  const [range, setRange] = useState<Range>({ from: 0, to: 0 });
  const [revision, setRevision] = useState(0);
  const [annotations, setAnnotations] = useState<Map<number, Annotation>>(new Map());
  const [peers, setPeers] = useState<Map<string, PeerState>>(new Map());
  const [status, setStatus] = useState<Status>("connecting");
  const [me, setMe] = useState<Negotiated | null>(null);
  const [following, setFollowing] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [layoutKey, setLayoutKey] = useState(0);
  const [conflict, setConflict] = useState("");
  const [notice, setNotice] = useState("");
  const [draft, setDraft] = useState<AnnotationDraft | null>(null);
  const [panelDraft, setPanelDraft] = useState<Panel | null>(null);
  const [showSide, setShowSide] = useState(true);
  const [expansion, setExpansion] = useState<Expansion | null>(null);
  /** alertsEpoch counts the hub connections: alerting state loads again on each. */
  const [alertsEpoch, setAlertsEpoch] = useState(0);
  const incidents = useIncidents(openIncidents, alertsEpoch);
  const rules = useRules(alertsEpoch);
  const applyAlert = useRef<(m: AlertMessage) => void>(() => {});
  applyAlert.current = (m) => {
    incidents.apply(m);
    rules.apply(m);
  };

  const data = useRef(new Map<number, PanelData>());
  const hub = useRef<Hub | null>(null);
  const annotationSeq = useRef(0);
  const storedRef = useRef(stored);
  storedRef.current = stored;
  const timeRef = useRef(timeRange);
  timeRef.current = timeRange;
  const lastActivity = useRef(Date.now());
  const boardRef = useRef<HTMLDivElement>(null);
  const saving = useRef<{ seen: number } | null>(null);
  const expansionRef = useRef(expansion);
  expansionRef.current = expansion;
  /** loads counts history loads, so that only the latest one's answers are kept. */
  const loads = useRef(0);
  const lastLoad = useRef(0);

  const dash = stored?.dashboard;
  const canEdit = stored?.meta.canEdit ?? false;

  const loadDashboard = useCallback(async () => {
    try {
      const st = await api<StoredDashboard>("GET", `/api/dashboards/${encodeURIComponent(uid)}`);
      setStored(st);
      setLayoutKey((k) => k + 1);
      setTimeRange((cur) => cur ?? st.dashboard.time);
      document.title = `${st.dashboard.title} · Huddle`;
      return st;
    } catch (e) {
      setLoadError(e instanceof Error ? e.message : String(e));
      return null;
    }
  }, [uid]);

  /** loadHistory asks the server for the dashboard's queries expanded for the range, then
   * fetches every panel's range over HTTP; live pushes of the same expansion then extend it.
   * Each panel shows its history as soon as its own queries are answered, so a slow, failing or
   * empty panel holds back none of the others. */
  const loadHistory = useCallback(async (tr: TimeRange) => {
    const r = resolveRange(tr);
    // A newer load (another range, a saved layout) supersedes this one, whichever answers last.
    const seq = ++loads.current;
    lastLoad.current = Date.now();
    let x: Expansion;
    try {
      x = await loadExpansion(uid, r);
    } catch (e) {
      if (seq === loads.current) setNotice(`The panels' queries could not be loaded: ${e instanceof Error ? e.message : e}`);
      return;
    }
    if (seq !== loads.current) return;
    setRange(r);
    setExpansion(x);
    // Until its new history is in, a panel keeps showing what it had; removed panels go.
    const kept = new Map<number, PanelData>();
    for (const p of x.panels) {
      const pd = data.current.get(p.id);
      if (pd) kept.set(p.id, pd);
    }
    data.current = kept;
    await Promise.all(
      x.panels.map(async (p) => {
        const answers = new Map<string, Answer>();
        await Promise.all(
          p.targets.map(async (t) => {
            const q = new URLSearchParams({
              query: t.expr,
              start: String(x.start / 1000),
              end: String(x.end / 1000),
              step: String(x.step / 1000),
            });
            try {
              answers.set(t.refId, { result: await queryRange(q) });
            } catch (e) {
              answers.set(t.refId, { error: e instanceof Error ? e.message : String(e) });
            }
          }),
        );
        if (seq !== loads.current) return;
        const pd = new PanelData(Object.fromEntries(p.targets.map((t) => [t.refId, t.legendFormat])));
        pd.reset(answers);
        data.current.set(p.id, pd);
        setRevision((v) => v + 1);
      }),
    );
  }, [uid]);

  const loadAnnotations = useCallback(async (since?: number) => {
    const q = since !== undefined ? `?since=${since}` : `?limit=1000`;
    const list = await api<Annotation[]>("GET", `/api/dashboards/${encodeURIComponent(uid)}/annotations${q}`);
    setAnnotations((prev) => {
      const next = since !== undefined ? new Map(prev) : new Map<number, Annotation>();
      for (const a of list) {
        if (a.deleted) next.delete(a.id);
        else next.set(a.id, a);
        annotationSeq.current = Math.max(annotationSeq.current, a.seq);
      }
      return next;
    });
  }, [uid]);

  // First load.
  useEffect(() => {
    (async () => {
      const st = await loadDashboard();
      if (!st) return;
      annotationSeq.current = 0;
      await loadAnnotations();
    })();
  }, [loadDashboard, loadAnnotations]);

  // History whenever the dashboard's queries or the time range change.
  const queriesKey = dash ? JSON.stringify([dash.panels.map((p) => [p.id, p.targets]), dash.variables, dash.refresh, dash.time]) : "";
  useEffect(() => {
    if (dash && timeRange) loadHistory(timeRange);
  }, [queriesKey, timeRange?.from, timeRange?.to]);

  const onPush = useCallback((push: Push) => {
    const tr = timeRef.current;
    if (!tr || !isRelative(tr)) return; // a zoomed-in past range does not move
    if (push.version > (storedRef.current?.dashboard.version ?? 0)) loadDashboard();
    const x = expansionRef.current;
    if (!x) return; // the history being loaded will hold these points
    if (push.key !== x.key) {
      // The points are of other queries than the history shown (another range, hence another
      // $__interval, or variables resolved otherwise since): the history is loaded again
      // instead, at most once per step, when a new point of its own is due.
      if (Date.now() - lastLoad.current >= x.step) loadHistory(tr);
      return;
    }
    const byPanel = new Map<number, Map<string, Answer>>();
    for (const r of push.results) {
      let m = byPanel.get(r.panel);
      if (!m) byPanel.set(r.panel, (m = new Map()));
      m.set(r.refId, r);
    }
    const r = resolveRange(tr);
    for (const [panel, answers] of byPanel) {
      const pd = data.current.get(panel);
      if (!pd) continue;
      pd.add(push.time / 1000, answers);
      pd.trim(r.from / 1000);
    }
    setRange(r);
    setRevision((v) => v + 1);
  }, [loadDashboard, loadHistory]);

  const onChange = useCallback((ev: ChangeEvent) => {
    if (ev.type.startsWith("annotation.") && ev.annotation) {
      const a = ev.annotation;
      annotationSeq.current = Math.max(annotationSeq.current, a.seq);
      setAnnotations((prev) => {
        const next = new Map(prev);
        if (ev.type === "annotation.deleted" || a.deleted) next.delete(a.id);
        else next.set(a.id, a);
        return next;
      });
    } else if (ev.type === "dashboard.updated") {
      // The event of one's own save may come before the save's answer: while a save is in
      // flight, the version is only noted and looked at again once the answer is in.
      if (saving.current) {
        saving.current.seen = Math.max(saving.current.seen, ev.version);
        return;
      }
      if (ev.version > (storedRef.current?.dashboard.version ?? 0)) {
        loadDashboard();
        if (ev.by) setNotice(`${ev.by} saved version ${ev.version}`);
      }
    } else if (ev.type === "dashboard.deleted") {
      setLoadError(`This dashboard was deleted${ev.by ? " by " + ev.by : ""}.`);
    }
  }, [loadDashboard]);

  // The hub: pushes, changes and the other viewers.
  useEffect(() => {
    const names = new PeerNames(
      () => api<Viewer[]>("GET", `/api/dashboards/${encodeURIComponent(uid)}/viewers`),
      (n) => setPeers((p) => namePeers(p, n)),
    );
    const h = new Hub(uid, {
      server: (m) => {
        if (m.type === "points") onPush(m as unknown as Push);
        else onChange(m as unknown as ChangeEvent);
      },
      peer: (m, from) => {
        const msg = parsePeer(m);
        if (!msg) return;
        if (msg.type === "hello") sendPresence();
        setPeers((p) => namePeers(applyPeer(p, from, msg, Date.now()), names.names));
        names.need(from);
      },
      alerts: (m) => {
        const msg = parseAlertMessage(m);
        if (msg) applyAlert.current(msg);
      },
      status: (s, reconnected) => {
        setStatus(s);
        if (s === "online") {
          setAlertsEpoch((n) => n + 1);
          h.send({ type: "hello" });
          sendPresence();
          if (reconnected) resync();
        }
      },
    });
    hub.current = h;
    h.start()
      .then(setMe)
      .catch((e) => setLoadError(e instanceof ApiError ? e.message : `Could not connect: ${e}`));
    const bye = () => h.send({ type: "bye" });
    addEventListener("pagehide", bye);
    return () => {
      removeEventListener("pagehide", bye);
      bye();
      h.stop();
    };
  }, [uid]);

  /** resync catches up after a new connection: the layout, missed annotations and the data. */
  const resync = useCallback(async () => {
    const st = await loadDashboard();
    await loadAnnotations(annotationSeq.current);
    if (st && timeRef.current) await loadHistory(timeRef.current);
  }, [loadDashboard, loadAnnotations, loadHistory]);

  const sendPresence = () => {
    const h = hub.current;
    const tr = timeRef.current;
    if (!h || !h.me || !tr) return;
    const scrollable = document.documentElement.scrollHeight - innerHeight;
    h.send({
      type: "presence",
      active: Date.now() - lastActivity.current < idleAfter,
      range: tr,
      scroll: scrollable > 0 ? scrollY / scrollable : 0,
    });
  };

  // Presence heartbeat, expiry of silent viewers, and follow.
  useEffect(() => {
    const t = setInterval(() => {
      sendPresence();
      setPeers((p) => expirePeers(p, Date.now()));
    }, presenceEvery);
    const fast = setInterval(() => setPeers((p) => expirePeers(p, Date.now())), 1000);
    return () => {
      clearInterval(t);
      clearInterval(fast);
    };
  }, []);
  useEffect(() => {
    sendPresence();
  }, [timeRange?.from, timeRange?.to]);

  // Follow mode: take the followed viewer's range and scroll; any own interaction leaves it.
  const followed = following ? peers.get(following) : undefined;
  useEffect(() => {
    if (!followed) return;
    if (followed.range && (followed.range.from !== timeRange?.from || followed.range.to !== timeRange?.to)) {
      setTimeRange(followed.range);
    }
    if (followed.scroll !== undefined) {
      const scrollable = document.documentElement.scrollHeight - innerHeight;
      scrollTo({ top: followed.scroll * scrollable, behavior: "smooth" });
    }
  }, [followed?.range?.from, followed?.range?.to, followed?.scroll]);
  useEffect(() => {
    const active = (e: Event) => {
      lastActivity.current = Date.now();
      if (following && e.isTrusted && e.type !== "mousemove") setFollowing(null);
    };
    const scrolled = throttle(() => sendPresence(), 500);
    const events = ["mousedown", "keydown", "wheel", "touchstart", "mousemove"];
    events.forEach((e) => addEventListener(e, active, { passive: true }));
    addEventListener("scroll", scrolled, { passive: true });
    return () => {
      events.forEach((e) => removeEventListener(e, active));
      removeEventListener("scroll", scrolled);
    };
  }, [following]);

  // Shared pointer: position within a panel, and the time under it on a chart.
  const sendCursor = useMemo(
    () =>
      throttle((msg: PeerMessage) => hub.current?.send(msg as unknown as Record<string, unknown>), cursorInterval),
    [],
  );
  const hoverTime = useRef<number | null>(null);
  useEffect(() => {
    const board = boardRef.current;
    if (!board) return;
    const move = (e: MouseEvent) => {
      const el = (e.target as HTMLElement).closest<HTMLElement>("[data-panel-id]");
      if (!el) {
        sendCursor({ type: "cursor-out" });
        return;
      }
      const rect = el.getBoundingClientRect();
      sendCursor({
        type: "cursor",
        panel: Number(el.dataset.panelId),
        fx: (e.clientX - rect.left) / rect.width,
        fy: (e.clientY - rect.top) / rect.height,
        ...(hoverTime.current !== null ? { time: Math.round(hoverTime.current) } : {}),
      });
    };
    const leave = () => sendCursor({ type: "cursor-out" });
    board.addEventListener("mousemove", move);
    board.addEventListener("mouseleave", leave);
    return () => {
      board.removeEventListener("mousemove", move);
      board.removeEventListener("mouseleave", leave);
    };
  }, [stored !== null]);

  const save = async (next: Dashboard): Promise<boolean> => {
    const flight = { seen: 0 };
    saving.current = flight;
    try {
      const st = await api<StoredDashboard>("PUT", `/api/dashboards/${encodeURIComponent(uid)}`, next);
      setStored(st);
      setConflict("");
      // Someone else saved after this save while its answer was on the way.
      if (flight.seen > st.dashboard.version) loadDashboard();
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setConflict(e.message);
      } else {
        setNotice(`Not saved: ${e instanceof Error ? e.message : e}`);
      }
      return false;
    } finally {
      if (saving.current === flight) saving.current = null;
    }
  };

  const onLayout = (layout: Layout[]) => {
    if (!dash) return;
    const pos = new Map(layout.map((l) => [l.id, l]));
    const panels = dash.panels.map((p) => {
      const l = pos.get(p.id);
      return l ? { ...p, gridPos: { x: l.x, y: l.y, w: l.w, h: l.h } } : p;
    });
    const changed = panels.some((p, i) => JSON.stringify(p.gridPos) !== JSON.stringify(dash.panels[i].gridPos));
    if (changed) save({ ...dash, panels });
  };

  const savePanel = async (p: Panel) => {
    if (!dash) return;
    const exists = dash.panels.some((x) => x.id === p.id && p.id !== 0);
    const panels = exists ? dash.panels.map((x) => (x.id === p.id ? p : x)) : [...dash.panels, p];
    if (await save({ ...dash, panels })) {
      setPanelDraft(null);
      setLayoutKey((k) => k + 1);
    }
  };

  const removePanel = async (id: number) => {
    if (!dash || !confirm("Remove this panel?")) return;
    if (await save({ ...dash, panels: dash.panels.filter((p) => p.id !== id) })) setLayoutKey((k) => k + 1);
  };

  const saveAnnotation = async (d: AnnotationDraft): Promise<string> => {
    const body = { panelId: d.panelId, time: d.time, timeEnd: d.timeEnd, text: d.text, tags: d.tags };
    try {
      const base = `/api/dashboards/${encodeURIComponent(uid)}/annotations`;
      const a = d.id
        ? await api<Annotation>("PUT", `${base}/${d.id}`, body)
        : await api<Annotation>("POST", base, body);
      setAnnotations((prev) => new Map(prev).set(a.id, a));
      setDraft(null);
      return "";
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };

  const deleteAnnotation = async (id: number): Promise<string> => {
    try {
      await api("DELETE", `/api/dashboards/${encodeURIComponent(uid)}/annotations/${id}`);
      setAnnotations((prev) => {
        const next = new Map(prev);
        next.delete(id);
        return next;
      });
      setDraft(null);
      return "";
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };

  if (loadError) {
    return (
      <div>
        <header class="top">
          <a class="brand" href="/">Huddle</a>
        </header>
        <main>
          <p class="error" role="alert">{loadError}</p>
          <a href="/">All dashboards</a>
        </main>
      </div>
    );
  }
  if (!dash || !timeRange) return <main class="muted">Loading…</main>;

  const annotationList = [...annotations.values()].sort((a, b) => b.time - a.time);
  const watching = alertingRules(rules.value);
  const crosshairs = [...peers.values()]
    .filter((p) => p.crosshair)
    .map((p) => ({ time: p.crosshair!.time, color: p.color }));

  return (
    <div>
      <header class="top">
        <a class="brand" href="/" title="All dashboards">Huddle</a>
        <h1>{dash.title}</h1>
        <a href="/alerts">Alerts</a>
        <span class="spacer" />
        <Presence peers={peers} me={me} following={following} onFollow={(id) => setFollowing(id === following ? null : id)} />
        <TimePicker value={timeRange} onChange={(r) => { setFollowing(null); setTimeRange(r); }} refresh={dash.refresh} />
        <span class={`status ${status}`} role="status" aria-live="polite">
          {status === "online" ? "live" : status === "offline" ? "offline, reconnecting…" : "connecting…"}
        </span>
        {canEdit && (
          <button onClick={() => setEditing(!editing)} aria-pressed={editing}>
            {editing ? "Done" : "Edit layout"}
          </button>
        )}
        {canEdit && editing && (
          <button onClick={() => setPanelDraft(newPanel(dash))}>Add panel</button>
        )}
        <button onClick={() => setShowSide(!showSide)} aria-pressed={showSide}>Annotations</button>
        <a href={`/api/dashboards/${encodeURIComponent(uid)}/export`} download={`${uid}.json`}>Export</a>
        <ThemeToggle />
      </header>
      {conflict && (
        <div class="banner" role="alert">
          <span>
            <strong>Your change was not saved.</strong> {conflict}
          </span>
          <button onClick={() => { setConflict(""); loadDashboard(); }}>Load the latest version</button>
        </div>
      )}
      {notice && (
        <div class="banner" role="status">
          <span>{notice}</span>
          <button onClick={() => setNotice("")}>Dismiss</button>
        </div>
      )}
      {following && followed && (
        <div class="banner" role="status">
          <span>Following {followed.name}. Scroll, click or press a key to stop.</span>
        </div>
      )}
      {incidents.value && me && <AlertBar incidents={incidents.value} me={me.userId} />}
      <VariableBar variables={dash.variables} states={expansion?.variables} canEdit={canEdit} onChange={(variables) => save({ ...dash, variables })} />
      <main class="layout">
        <div class={`board ${editing ? "editing" : ""}`} ref={boardRef}>
          <Grid
            key={layoutKey}
            panels={dash.panels}
            editing={editing}
            onLayout={onLayout}
            render={(p) => (
              <PanelView
                panel={p}
                data={data.current.get(p.id)}
                revision={revision}
                range={range}
                // An annotation marks a moment of the whole system, so every chart shows it, not
                // only the one it was made on (panelId keeps where that was).
                annotations={annotationList}
                thresholds={panelThresholds(expansion, p.id, watching)}
                crosshairs={crosshairs}
                editing={editing}
                onHover={(t) => (hoverTime.current = t)}
                onZoom={(from, to) => { setFollowing(null); setTimeRange({ from: String(from), to: String(to) }); }}
                onAnnotate={canEdit ? (time, timeEnd) => setDraft({ panelId: p.id, time, timeEnd, text: "", tags: [] }) : undefined}
                onAnnotationClick={(a) => setDraft({ ...a })}
                onEdit={() => setPanelDraft(p)}
                onRemove={() => removePanel(p.id)}
              />
            )}
          />
          <Cursors peers={peers} board={boardRef} />
        </div>
        {showSide && (
          <AnnotationList
            annotations={annotationList}
            canEdit={canEdit}
            onSelect={(a) => setDraft({ ...a })}
            onJump={(a) => setTimeRange({ from: String(a.time - 15 * 60_000), to: String(a.timeEnd + 15 * 60_000) })}
            onMarkNow={() => {
              const now = Date.now();
              setDraft({ panelId: 0, time: now, timeEnd: now, text: "", tags: [] });
            }}
          />
        )}
      </main>
      {draft && (
        <AnnotationEditor
          draft={draft}
          canEdit={canEdit}
          onSave={saveAnnotation}
          onDelete={deleteAnnotation}
          onClose={() => setDraft(null)}
        />
      )}
      {panelDraft && <PanelEditor panel={panelDraft} onSave={savePanel} onClose={() => setPanelDraft(null)} />}
    </div>
  );
}

const openIncidents: IncidentQuery = { state: "open", severities: [], q: "" };

/** alertingRules are the alerting rules of the groups, as thresholds need them. */
function alertingRules(groups: Group[] | null): WatchingRule[] {
  return (groups ?? []).flatMap((g) =>
    g.rules.filter((r) => r.kind === "alerting").map((r) => ({ name: r.name, expr: r.expr, severity: r.severity, state: r.state })),
  );
}

/** panelThresholds are the thresholds of the rules watching one of the panel's queries, as the
 * server expanded them. */
function panelThresholds(x: Expansion | null, panel: number, rules: WatchingRule[]): Threshold[] {
  const targets = x?.panels.find((p) => p.id === panel)?.targets ?? [];
  return rules.length === 0 ? [] : thresholdsFor(targets.map((t) => t.expr), rules);
}

function newPanel(d: Dashboard): Panel {
  const bottom = d.panels.reduce((m, p) => Math.max(m, p.gridPos.y + p.gridPos.h), 0);
  return { id: 0, type: "timeseries", title: "New panel", gridPos: { x: 0, y: bottom, w: 12, h: 8 }, targets: [{ refId: "A", expr: "" }] };
}
