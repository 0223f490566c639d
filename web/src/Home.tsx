import { useEffect, useState } from "preact/hooks";
import { api, type Me } from "./api";
import type { DashboardSummary, StoredDashboard } from "./model";
import { ThemeToggle } from "./theme";
import { Modal } from "./Modal";

/** Home lists the dashboards and lets editors create and import them. */
export function Home() {
  const [me, setMe] = useState<Me | null>(null);
  const [list, setList] = useState<DashboardSummary[] | null>(null);
  const [error, setError] = useState("");
  const [importing, setImporting] = useState(false);

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

  const canEdit = me?.role === "editor" || me?.role === "admin";
  return (
    <div>
      <header class="top">
        <a class="brand" href="/">Huddle</a>
        <span class="spacer" />
        {me && <span class="muted">{me.name || me.login} · {me.role}</span>}
        <a href="/alerts">Alerts</a>
        <a href="/settings">{me?.role === "admin" ? "People, keys and apps" : "API keys"}</a>
        <ThemeToggle />
        <button onClick={async () => { await api("POST", "/api/logout"); location.assign("/login"); }}>Sign out</button>
      </header>
      <main>
        <div class="actions" style={{ justifyContent: "flex-start", marginTop: 0, marginBottom: 12 }}>
          <h2 style={{ margin: 0, flex: 1, fontSize: 18 }}>Dashboards</h2>
          {canEdit && <button class="primary" onClick={create}>New dashboard</button>}
          {canEdit && <button onClick={() => setImporting(true)}>Import</button>}
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        {list === null && !error && <p class="muted">Loading…</p>}
        {list?.length === 0 && <p class="muted">No dashboards yet.</p>}
        <div class="cards">
          {list?.map((d) => (
            <a class="card" href={`/d/${d.uid}`} key={d.uid}>
              <h3>{d.title}</h3>
              <div>{d.tags.map((t) => <span class="tag" key={t}>{t}</span>)}</div>
              <div class="muted">version {d.version}</div>
            </a>
          ))}
        </div>
      </main>
      {importing && <ImportDialog onClose={() => setImporting(false)} />}
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
