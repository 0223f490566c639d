// usePanelEdits keeps the layout editing of a dashboard: whether it is on, the panel open in the
// editor, and the saves of a panel changed, added or removed. A saved change renews the grid.
import { useState } from "preact/hooks";
import type { Dashboard, Panel } from "./model";
import { putPanel } from "./edits";

export function usePanelEdits(dash: Dashboard | undefined, save: (d: Dashboard) => Promise<boolean>, relayout: () => void) {
  const [editing, setEditing] = useState(false);
  const [panelDraft, setPanelDraft] = useState<Panel | null>(null);

  const savePanels = async (d: Dashboard, panels: Panel[]) => {
    const saved = await save({ ...d, panels });
    if (saved) relayout();
    return saved;
  };
  const savePanel = async (p: Panel) => {
    if (dash && (await savePanels(dash, putPanel(dash.panels, p)))) setPanelDraft(null);
  };
  const removePanel = (id: number) => {
    if (dash && confirm("Remove this panel?")) savePanels(dash, dash.panels.filter((p) => p.id !== id));
  };
  return { editing, setEditing, panelDraft, setPanelDraft, savePanel, removePanel };
}
