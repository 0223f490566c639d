import type { Variable } from "./model";
import { allValue, type VariableState } from "./variables";

interface Props {
  variables: Variable[];
  /** states are the variables as the server resolved them for the range shown; absent while loading. */
  states: VariableState[] | undefined;
  canEdit: boolean;
  /** onChange saves the dashboard with new selections, for everyone on it. */
  onChange(variables: Variable[]): void;
}

/** VariableBar shows the dashboard's variables with the options the server found for them.
 * Their selection is part of the dashboard that everyone on it shares, as the live data is: an
 * editor's change is saved and reaches every viewer; viewers see the selection without changing
 * it. Constants and variables hidden in their settings (hide 2) are not shown. */
export function VariableBar({ variables, states, canEdit, onChange }: Props) {
  const shown = variables.filter((v) => v.type !== "constant" && v.hide !== 2);
  if (shown.length === 0) return null;
  const byName = new Map((states ?? []).map((s) => [s.name, s]));
  return (
    <div class="variables" role="group" aria-label="Variables">
      {shown.map((v) => (
        <VariablePicker
          key={v.name}
          variable={v}
          state={byName.get(v.name)}
          canEdit={canEdit}
          onPick={(current) => onChange(variables.map((x) => (x.name === v.name ? { ...x, current } : x)))}
        />
      ))}
    </div>
  );
}

interface PickerProps {
  variable: Variable;
  state: VariableState | undefined;
  canEdit: boolean;
  onPick(current: string[]): void;
}

function VariablePicker({ variable: v, state, canEdit, onPick }: PickerProps) {
  const current = state?.current ?? v.current ?? [];
  // While the options load, and when they cannot be found, the selection is still shown.
  const values = [...new Set([...(state?.options ?? []), ...current.filter((c) => c !== allValue)])];
  const options = v.includeAll ? [allValue, ...values] : values;
  const id = `var-${v.name}`;
  const pick = (selected: string[]) => {
    // Choosing All among other values means All alone; another value chosen besides All
    // replaces it, as Grafana's picker does.
    const all = selected.includes(allValue);
    onPick(all && !current.includes(allValue) ? [allValue] : all && selected.length > 1 ? selected.filter((s) => s !== allValue) : selected);
  };
  return (
    <label class="variable" for={id}>
      {v.hide !== 1 && <span>{v.label || v.name}</span>}
      <select
        id={id}
        multiple={v.multi}
        size={v.multi ? Math.min(4, Math.max(2, options.length)) : undefined}
        disabled={!canEdit}
        title={canEdit ? undefined : "Editors choose the values everyone on this dashboard sees"}
        aria-label={v.label || v.name}
        onChange={(e) => pick([...e.currentTarget.selectedOptions].map((o) => o.value))}
      >
        {options.map((o) => (
          <option key={o} value={o} selected={current.includes(o)}>{o === allValue ? "All" : o}</option>
        ))}
      </select>
      {state?.error && <span class="error" role="alert">{state.error}</span>}
    </label>
  );
}
