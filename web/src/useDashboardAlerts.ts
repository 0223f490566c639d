// useDashboardAlerts keeps what the dashboard shows of alerting: the open incidents (the alert
// bar) and the rules (thresholds on the charts). Both load again on each hub connection, since
// the messages of a fresh one start from then.
import { useCallback, useMemo, useState } from "preact/hooks";
import { parseAlertMessage, type Group, type IncidentQuery } from "./alerts";
import type { WatchingRule } from "./thresholds";
import { useIncidents, useRules } from "./useAlerts";

const openIncidents: IncidentQuery = { state: "open", severities: [], q: "" };

export function useDashboardAlerts() {
  const [epoch, setEpoch] = useState(0);
  const incidents = useIncidents(openIncidents, epoch);
  const rules = useRules(epoch);
  const { apply: applyIncident } = incidents;
  const { apply: applyRule } = rules;
  const onMessage = useCallback((m: Record<string, unknown>) => {
    const msg = parseAlertMessage(m);
    if (msg) {
      applyIncident(msg);
      applyRule(msg);
    }
  }, [applyIncident, applyRule]);
  const connected = useCallback(() => setEpoch((n) => n + 1), []);
  // The same list until the rules change: the panels' thresholds are matched against it again
  // (a PromQL parse per rule and query) only then, not at every render of the page.
  const watching = useMemo(() => alertingRules(rules.value), [rules.value]);
  return { incidents: incidents.value, rules: watching, onMessage, connected };
}

/** alertingRules are the alerting rules of the groups, as thresholds need them. */
function alertingRules(groups: Group[] | null): WatchingRule[] {
  return (groups ?? []).flatMap((g) =>
    g.rules.filter((r) => r.kind === "alerting").map((r) => ({ name: r.name, expr: r.expr, severity: r.severity, state: r.state })),
  );
}
