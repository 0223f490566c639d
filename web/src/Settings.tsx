import { useEffect, useState } from "preact/hooks";
import { api, type Me } from "./api";
import { ThemeToggle } from "./theme";

interface Key {
  id: string;
  name: string;
  prefix: string;
  owner: string;
  role: Me["role"];
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  key?: string;
}

interface User {
  id: string;
  login: string;
  name: string;
  role: Me["role"];
  disabled: boolean;
  provider: "local" | "oidc";
}

const roles: Me["role"][] = ["viewer", "editor", "admin"];
const scopes = ["metrics:read", "metrics:write", "dashboards:read", "dashboards:write", "alerts:read", "alerts:write", "admin"];

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function day(iso: string | null): string {
  return iso ? new Date(iso).toLocaleDateString() : "never";
}

/** Settings is where people make API keys for scripts and Grafana, and where administrators
 * manage people and find the connection string. */
export function Settings() {
  const [me, setMe] = useState<Me | null>(null);
  const [conn, setConn] = useState("");
  useEffect(() => {
    document.title = "Settings · Huddle";
    api<Me>("GET", "/api/me").then((m) => {
      setMe(m);
      if (m.role === "admin") api<{ connectionString: string }>("GET", "/api/connection-string").then((c) => setConn(c.connectionString));
    });
  }, []);
  return (
    <div>
      <header class="top">
        <a class="brand" href="/">Huddle</a>
        <h1>Settings</h1>
        <span class="spacer" />
        {me && <span class="muted">{me.name || me.login} · {me.role}</span>}
        <ThemeToggle />
      </header>
      <main class="settings">
        {me && <Keys me={me} />}
        {me?.role === "admin" && <People me={me} />}
        {conn && (
          <section>
            <h2>Connect an app</h2>
            <p class="muted">The Azure Web PubSub SDKs accept this connection string unchanged.</p>
            <code class="block">{conn}</code>
          </section>
        )}
      </main>
    </div>
  );
}

function Keys({ me }: { me: Me }) {
  const [keys, setKeys] = useState<Key[]>([]);
  const [error, setError] = useState("");
  const [created, setCreated] = useState<Key | null>(null);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Me["role"]>("viewer");
  const [chosen, setChosen] = useState<string[]>(["metrics:read"]);
  const [days, setDays] = useState(90);
  const load = () => api<Key[]>("GET", "/api/keys").then(setKeys).catch((e) => setError(message(e)));
  useEffect(() => {
    load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      setCreated(await api<Key>("POST", "/api/keys", { name, role, scopes: chosen, expiresInDays: days }));
      setName("");
      setError("");
      load();
    } catch (err) {
      setError(message(err));
    }
  };
  const revoke = async (k: Key) => {
    if (!confirm(`Revoke the key "${k.name}"? Whatever uses it stops working.`)) return;
    try {
      await api("DELETE", `/api/keys/${encodeURIComponent(k.id)}`);
      load();
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p class="muted">
        For scripts and Grafana's Prometheus data source: send a key as <code>Authorization: Bearer …</code> or as the
        password of basic auth. A key can do at most what its role and scopes allow, and never more than you.
      </p>
      {created?.key && (
        <div class="banner" role="status">
          <span>
            Copy the key now, it is shown only once: <code data-key>{created.key}</code>
          </span>
          <button onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <form class="inline-form" onSubmit={create}>
        <input aria-label="Key name" placeholder="Name, e.g. grafana" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        <select aria-label="Key role" value={role} onChange={(e) => setRole(e.currentTarget.value as Me["role"])}>
          {roles.slice(0, roles.indexOf(me.role) + 1).map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
        <fieldset class="scopes">
          <legend class="muted">Scopes</legend>
          {scopes.map((s) => (
            <label key={s}>
              <input type="checkbox" checked={chosen.includes(s)}
                onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, s] : chosen.filter((x) => x !== s))} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Expires in <input type="number" min={0} max={3650} value={days} aria-label="Days until the key expires (0: never)"
            onInput={(e) => setDays(Number(e.currentTarget.value))} /> days
        </label>
        <button class="primary" type="submit">Create key</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="data">
        <thead>
          <tr><th>name</th><th>prefix</th><th>role</th><th>scopes</th><th>expires</th><th>last used</th><th /></tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td><code>{k.prefix}</code></td>
              <td>{k.role}</td>
              <td>{k.scopes.join(" ")}</td>
              <td>{k.revokedAt ? "revoked" : day(k.expiresAt)}</td>
              <td>{k.lastUsedAt ? day(k.lastUsedAt) : "never"}</td>
              <td>{!k.revokedAt && <button class="danger" onClick={() => revoke(k)}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function People({ me }: { me: Me }) {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState("");
  const [form, setForm] = useState({ login: "", name: "", role: "viewer" as Me["role"], password: "" });
  const load = () => api<User[]>("GET", "/api/users").then(setUsers).catch((e) => setError(message(e)));
  useEffect(() => {
    load();
  }, []);
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      setError("");
      load();
    } catch (err) {
      setError(message(err));
    }
  };
  const add = (e: Event) => {
    e.preventDefault();
    act(async () => {
      await api("POST", "/api/users", form);
      setForm({ login: "", name: "", role: "viewer", password: "" });
    });
  };
  return (
    <section aria-labelledby="people-title">
      <h2 id="people-title">People</h2>
      <form class="inline-form" onSubmit={add}>
        <input aria-label="Login" placeholder="Login" required value={form.login} onInput={(e) => setForm({ ...form, login: e.currentTarget.value })} />
        <input aria-label="Name" placeholder="Name" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        <select aria-label="Role" value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value as Me["role"] })}>
          {roles.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
        <input aria-label="Password" type="password" placeholder="Password (12+ characters)" required autoComplete="new-password"
          value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} />
        <button class="primary" type="submit">Add person</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="data">
        <thead>
          <tr><th>login</th><th>name</th><th>sign-in</th><th>role</th><th /></tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-login={u.login}>
              <td>{u.login}</td>
              <td>{u.name}</td>
              <td>{u.provider === "oidc" ? "single sign-on" : "password"}{u.disabled ? " (disabled)" : ""}</td>
              <td>
                <select aria-label={`Role of ${u.login}`} value={u.role} disabled={u.login === me.login}
                  onChange={(e) => act(() => api("PATCH", `/api/users/${encodeURIComponent(u.id)}`, { role: e.currentTarget.value }))}>
                  {roles.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </td>
              <td>
                {u.login !== me.login && (
                  <>
                    <button onClick={() => act(() => api("PATCH", `/api/users/${encodeURIComponent(u.id)}`, { disabled: !u.disabled }))}>
                      {u.disabled ? "Enable" : "Disable"}
                    </button>{" "}
                    <button class="danger" onClick={() => confirm(`Remove ${u.login}?`) && act(() => api("DELETE", `/api/users/${encodeURIComponent(u.id)}`))}>
                      Remove
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
