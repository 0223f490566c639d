import { useEffect, useState } from "preact/hooks";
import type { Variable } from "./model";
import { variableOptions } from "./variables";

interface Props {
  variables: Variable[];
  canEdit: boolean;
  /** onChange saves the dashboard with new selections, for everyone on it. */
  onChange(variables: Variable[]): void;
}

/** VariableBar shows the dashboard's variables. Their selection is part of the dashboard that
 * everyone on it shares, as the live data is: an editor's change is saved and reaches every
 * viewer; viewers see the selection without changing it. */
export function VariableBar({ variables, canEdit, onChange }: Props) {
  const shown = variables.filter((v) => v.type !== "constant");
  if (shown.length === 0) return null;
  return (
    <div class="variables" role="group" aria-label="Variables">
      {shown.map((v) => (
        <VariablePicker
          key={v.name}
          variable={v}
          canEdit={canEdit}
          onPick={(current) => onChange(variables.map((x) => (x.name === v.name ? { ...x, current } : x)))}
        />
      ))}
    </div>
  );
}

function VariablePicker({ variable: v, canEdit, onPick }: { variable: Variable; canEdit: boolean; onPick(current: string[]): void }) {
  const [options, setOptions] = useState<string[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    variableOptions(v)
      .then((o) => {
        setOptions(o);
        setError("");
      })
      .catch((e) => setError(e instanceof Error ? e.message : String(e)));
  }, [v.type, v.query]);
  const current = v.current ?? [];
  // The saved selection stays selectable even when the options no longer list it.
  const all = [...new Set([...current, ...(options ?? [])])];
  const id = `var-${v.name}`;
  return (
    <label class="variable" for={id}>
      <span>{v.label || v.name}</span>
      <select
        id={id}
        multiple={v.multi}
        size={v.multi ? Math.min(4, Math.max(2, all.length)) : undefined}
        disabled={!canEdit}
        title={canEdit ? undefined : "Editors choose the values everyone on this dashboard sees"}
        onChange={(e) => onPick([...e.currentTarget.selectedOptions].map((o) => o.value))}
      >
        {all.map((o) => (
          <option key={o} value={o} selected={current.includes(o)}>{o}</option>
        ))}
      </select>
      {error && <span class="error" role="alert">{error}</span>}
    </label>
  );
}
