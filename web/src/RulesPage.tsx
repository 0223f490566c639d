import { useState } from "preact/hooks";
import { checkGroup, deleteGroup, problems, ruleFile, saveGroup, since, type Group, type Rule } from "./alerts";
import { SeverityBadge, useNow } from "./AlertBar";
import { AlertsLayout, useAlertsHub, useMe } from "./AlertsPage";
import { mayEdit } from "./api";
import { rulesRefreshEvery, useRules } from "./useAlerts";

/** A new group's starting text: one alerting rule to change. */
const example = `interval: 1m
rules:
  - alert: HighErrorRate
    expr: sum(rate(http_requests_total{code=~"5.."}[5m])) > 10
    for: 5m
    severity: 2
    annotations:
      summary: "{{ $value }} errors a second"
`;

/** RulesPage lists the rule groups with each rule's state and health; editors and admins
 * write groups as Prometheus rule-group YAML. Groups from rule files are read-only. */
export function RulesPage() {
  const me = useMe();
  const now = useNow();
  const hubState = useAlertsHub((m) => rules.apply(m));
  const rules = useRules(hubState.epoch, rulesRefreshEvery);
  const [editing, setEditing] = useState<{ name: string; text: string; isNew: boolean } | null>(null);
  const [error, setError] = useState("");
  const canEdit = mayEdit(me);

  const edit = async (g: Group) => {
    const { stringify } = await import("yaml");
    const { name: _, ...spec } = ruleFile(g);
    setEditing({ name: g.name, text: stringify(spec), isNew: false });
  };
  const remove = async (g: Group) => {
    if (!confirm(`Delete the rule group ${g.name} and its ${g.rules.length} rules?`)) return;
    try {
      await deleteGroup(g.name);
      setError("");
      rules.reload();
    } catch (e) {
      setError(problems(e).join(" "));
    }
  };

  return (
    <AlertsLayout title="Alert rules" status={hubState.status} error={hubState.error}>
      {canEdit && !editing && (
        <div class="actions" style={{ justifyContent: "flex-start", marginTop: 0, marginBottom: 12 }}>
          <button class="primary" onClick={() => setEditing({ name: "", text: example, isNew: true })}>New group</button>
        </div>
      )}
      {editing && (
        <GroupEditor
          {...editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            rules.reload();
          }}
        />
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {rules.error && <p class="error" role="alert">{rules.error}</p>}
      {rules.value === null && !rules.error && <p class="muted">Loading…</p>}
      {rules.value?.length === 0 && <p class="muted">No rules yet.</p>}
      {rules.value?.map((g) => (
        <section class="rule-group" key={g.name} data-group={g.name}>
          <div class="group-head">
            <h2>{g.name}</h2>
            <span class="muted">
              every {g.interval || "default interval"} · {g.source === "file" ? `file ${g.file ?? ""}` : g.source}
              {g.lastEvaluation && ` · evaluated ${since(g.lastEvaluation, now)} ago in ${formatSeconds(g.evaluationTime)}`}
            </span>
            <span class="spacer" />
            {canEdit && g.editable && <button onClick={() => edit(g)}>Edit</button>}
            {canEdit && g.editable && <button class="danger" onClick={() => remove(g)}>Delete</button>}
            {!g.editable && <span class="tag" title="Change the rule file to change this group">read-only</span>}
          </div>
          <table class="data rules">
            <thead>
              <tr><th>Rule</th><th>State</th><th>Health</th><th>Expression</th><th>Last evaluation</th></tr>
            </thead>
            <tbody>
              {g.rules.map((r) => <RuleRow key={r.name} rule={r} now={now} />)}
            </tbody>
          </table>
        </section>
      ))}
    </AlertsLayout>
  );
}

function RuleRow({ rule: r, now }: { rule: Rule; now: number }) {
  return (
    <tr data-rule={r.name}>
      <td class="rule-name">
        {r.kind === "alerting" && r.severity !== undefined && <SeverityBadge severity={r.severity} />} {r.name}
        {r.kind === "recording" && <span class="tag">recording</span>}
      </td>
      <td>{r.kind === "alerting" ? <span class={`rule-state ${r.state}`}>{r.state}{r.alerts?.length ? ` (${r.alerts.length})` : ""}</span> : "—"}</td>
      <td>
        <span class={`health ${r.health}`}>{r.health}</span>
        {r.lastError && <div class="error">{r.lastError}</div>}
      </td>
      <td><code>{r.expr}</code>{r.for && r.for !== "0s" && <span class="muted"> for {r.for}</span>}</td>
      <td>{r.lastEvaluation ? `${since(r.lastEvaluation, now)} ago` : "never"}</td>
    </tr>
  );
}

function formatSeconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`;
}

interface EditorProps {
  name: string;
  text: string;
  isNew: boolean;
  onClose(): void;
  onSaved(): void;
}

/** GroupEditor edits one group's YAML; Check asks the server whether it would be taken, and
 * the same checks run again on saving. */
function GroupEditor(p: EditorProps) {
  const [name, setName] = useState(p.name);
  const [text, setText] = useState(p.text);
  const [result, setResult] = useState<{ ok: boolean; lines: string[] } | null>(null);
  const [busy, setBusy] = useState(false);

  // The name is the group's address; the YAML's own `name:`, if any, must agree with it.
  const withName = () => `name: ${JSON.stringify(name)}\n${text.replace(/^name:.*\n?/m, "")}`;

  const run = async (what: "check" | "save") => {
    if (!name.trim()) {
      setResult({ ok: false, lines: ["The group needs a name."] });
      return;
    }
    setBusy(true);
    try {
      if (what === "check") {
        await checkGroup(withName());
        setResult({ ok: true, lines: ["The group is valid."] });
      } else {
        await saveGroup(name, withName());
        p.onSaved();
      }
    } catch (e) {
      setResult({ ok: false, lines: problems(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="rule-editor" aria-label="Rule group editor">
      <label class="variable">
        <span>Group</span>
        <input value={name} readOnly={!p.isNew} onInput={(e) => setName(e.currentTarget.value)} aria-label="Group name" />
      </label>
      <textarea
        class="yaml"
        spellcheck={false}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setResult(null);
        }}
        aria-label="Rule group YAML"
      />
      {result && (
        <ul class={result.ok ? "check ok" : "check error"} role={result.ok ? "status" : "alert"}>
          {result.lines.map((l, i) => <li key={i}>{l}</li>)}
        </ul>
      )}
      <div class="actions">
        <button onClick={p.onClose}>Cancel</button>
        <button disabled={busy} onClick={() => run("check")}>Check</button>
        <button class="primary" disabled={busy} onClick={() => run("save")}>Save</button>
      </div>
    </section>
  );
}
