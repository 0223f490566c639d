import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type Me } from "./api";
import type { Viewer } from "./collab";
import { initials, personColor } from "./colors";
import { sections, tagsOf, teamNow, withStar, type Whereabouts } from "./homepage";
import type { DashboardSummary, StoredDashboard } from "./model";
import { ThemeToggle } from "./theme";
import { Modal } from "./Modal";
import { usePresence } from "./usePresence";

/** Home shows where the team is right now, then the dashboards (search, tag filter, starred,
 * recently opened, all, each with who is on it), and lets editors create and import them. */
export function Home() {
  const [me, setMe] = useState<Me | null>(null);
  const [list, setList] = useState<DashboardSummary[] | null>(null);
  const [error, setError] = useState("");
  const [importing, setImporting] = useState(false);
  const [search, setSearch] = useState("");
  const [tags, setTags] = useState<ReadonlySet<string>>(new Set());
  const live = usePresence();

  useEffect(() => {
    document.title = "Huddle";
    api<Me>("GET", "/api/me").then(setMe);
    api<DashboardSummary[]>("GET", "/api/dashboards").then(setList).catch((e) => setError(e.message));
  }, []);

  const create = async () => {
    const title = prompt("Title of the new dashboard");
    if (!title) return;
    try {
      const st = await api<StoredDashboard>("POST", "/api/dashboards", {
        title, tags: [], time: { from: "now-1h", to: "now" }, refresh: "10s", variables: [], panels: [],
      });
      location.assign(`/d/${st.dashboard.uid}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const star = async (uid: string, starred: boolean) => {
    setList((l) => l && withStar(l, uid, starred));
    try {
      await api(starred ? "PUT" : "DELETE", `/api/dashboards/${encodeURIComponent(uid)}/star`);
    } catch (e) {
      setList((l) => l && withStar(l, uid, !starred));
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const toggleTag = (t: string) =>
    setTags((cur) => {
      const next = new Set(cur);
      if (!next.delete(t)) next.add(t);
      return next;
    });

  const all = useMemo(() => list ?? [], [list]);
  const shown = useMemo(() => sections(all, search, tags), [all, search, tags]);
  const team = useMemo(() => teamNow(live.presence, all, live.me), [live.presence, all, live.me]);
  const canEdit = me?.role === "editor" || me?.role === "admin";
  const card = (d: DashboardSummary) => (
    <DashboardCard key={d.uid} d={d} viewers={live.presence.get(d.uid) ?? []} onStar={star} />
  );
  return (
    <div class="home-page">
      <header class="top">
        <a class="brand" href="/">Huddle</a>
        <span class="spacer" />
        {me && <span class="muted who">{me.name || me.login} · {me.role}</span>}
        <a href="/alerts">Alerts</a>
        <a href="/settings">{me?.role === "admin" ? "People, keys and apps" : "API keys"}</a>
        <ThemeToggle />
        <button onClick={async () => { await api("POST", "/api/logout"); location.assign("/login"); }}>Sign out</button>
      </header>
      <main class="home">
        <TeamNow team={team} status={live.status} error={live.error} />
        <div class="home-tools">
          <input
            type="search" class="search" placeholder="Search dashboards" aria-label="Search dashboards"
            value={search} onInput={(e) => setSearch(e.currentTarget.value)}
          />
          {canEdit && <button class="primary" onClick={create}>New dashboard</button>}
          {canEdit && <button onClick={() => setImporting(true)}>Import</button>}
        </div>
        {list && list.length > 0 && (
          <div class="chips" role="group" aria-label="Filter by tag">
            {tagsOf(list).map((t) => (
              <button key={t} class="chip" aria-pressed={tags.has(t)} onClick={() => toggleTag(t)}>{t}</button>
            ))}
          </div>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        {list === null && !error && <p class="muted">Loading…</p>}
        {list?.length === 0 && <p class="muted">No dashboards yet.</p>}
        {shown.starred.length > 0 && <DashboardSection name="starred" title="Starred">{shown.starred.map(card)}</DashboardSection>}
        {shown.recent.length > 0 && <DashboardSection name="recent" title="Recent">{shown.recent.map(card)}</DashboardSection>}
        {list && list.length > 0 && (
          <DashboardSection name="all" title="All dashboards">
            {shown.all.length === 0 ? <p class="muted">No dashboard matches.</p> : shown.all.map(card)}
          </DashboardSection>
        )}
      </main>
      {importing && <ImportDialog onClose={() => setImporting(false)} />}
    </div>
  );
}

/** TeamNow lists the other people on dashboards now, each place one tap from joining them. */
function TeamNow({ team, status, error }: { team: Whereabouts[]; status: string; error: string }) {
  return (
    <section class="team-now" aria-label="Team now">
      <h2>Team now {status !== "online" && <span class={`status ${status}`}>{status}</span>}</h2>
      {error && <p class="error">{error}</p>}
      {team.length === 0 ? (
        <p class="muted">Nobody else is on a dashboard right now.</p>
      ) : (
        <ul>
          {team.flatMap((w) =>
            w.dashboards.map((d) => (
              <li key={`${w.userId} ${d.uid}`}>
                <a class="whereabouts" href={`/d/${d.uid}`} data-user={w.userId} data-uid={d.uid}>
                  <span class="avatar" style={{ background: personColor(w.userId) }} aria-hidden="true">{initials(w.name)}</span>
                  <span class="where"><strong>{w.name}</strong> <span class="muted">on</span> {d.title}</span>
                </a>
              </li>
            )),
          )}
        </ul>
      )}
    </section>
  );
}

function DashboardSection({ name, title, children }: { name: string; title: string; children: ComponentChildren }) {
  return (
    <section class="dash-section" data-section={name} aria-label={title}>
      <h2>{title}</h2>
      <div class="cards">{children}</div>
    </section>
  );
}

/** DashboardCard is one dashboard: the whole card opens it; the star and the people on it
 * (who they are, live) sit on top. */
function DashboardCard({ d, viewers, onStar }: { d: DashboardSummary; viewers: Viewer[]; onStar(uid: string, starred: boolean): void }) {
  return (
    <div class="card dash-card" data-uid={d.uid}>
      <a class="card-link" href={`/d/${d.uid}`}><h3>{d.title}</h3></a>
      <button
        class="star" aria-pressed={d.starred} aria-label={d.starred ? `Unstar ${d.title}` : `Star ${d.title}`}
        title={d.starred ? "Unstar" : "Star"} onClick={() => onStar(d.uid, !d.starred)}
      >
        {d.starred ? "★" : "☆"}
      </button>
      <div>{d.tags.map((t) => <span class="tag" key={t}>{t}</span>)}</div>
      {viewers.length > 0 && (
        <div class="here" aria-label={`People on ${d.title}`}>
          {viewers.map((v) => (
            <span key={v.userId} class="avatar" data-user={v.userId} title={v.name} style={{ background: personColor(v.userId) }}>
              {initials(v.name)}
            </span>
          ))}
          <span class="muted">{viewers.map((v) => v.name).join(", ")}</span>
        </div>
      )}
    </div>
  );
}

function ImportDialog({ onClose }: { onClose(): void }) {
  const [text, setText] = useState("");
  const [overwrite, setOverwrite] = useState(false);
  const [error, setError] = useState("");
  const [imported, setImported] = useState<{ uid: string; title: string; skipped: string[] } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setError(`This is not JSON: ${err instanceof Error ? err.message : err}`);
      return;
    }
    try {
      const res = await api<StoredDashboard & { skipped?: string[] }>("POST", "/api/dashboards/import", { dashboard: body, overwrite });
      if (res.skipped && res.skipped.length > 0) {
        // Stay to show what did not come across; the new dashboard is a link away.
        setImported({ uid: res.dashboard.uid, title: res.dashboard.title, skipped: res.skipped });
        setError("");
        return;
      }
      location.assign(`/d/${res.dashboard.uid}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Modal title="Import a dashboard" onClose={onClose}>
      <form onSubmit={submit}>
        <p class="muted">Paste a Huddle export or a Grafana dashboard JSON.</p>
        <textarea style={{ width: "100%", minHeight: 220 }} value={text} onInput={(e) => setText(e.currentTarget.value)} aria-label="Dashboard JSON" />
        <label><input type="checkbox" checked={overwrite} onChange={(e) => setOverwrite(e.currentTarget.checked)} /> Replace a dashboard with the same uid</label>
        {error && <p class="error" role="alert">{error}</p>}
        {imported && (
          <div role="status">
            <p>
              Imported <a href={`/d/${imported.uid}`}>{imported.title}</a>. These parts were not converted:
            </p>
            <ul class="skipped">{imported.skipped.map((r) => <li key={r}>{r}</li>)}</ul>
          </div>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" class="primary">Import</button>
        </div>
      </form>
    </Modal>
  );
}
