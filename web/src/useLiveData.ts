// useLiveData keeps every panel's data: the history of the range over HTTP, extended by the
// live pushes of the same expansion of the dashboard's queries.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { queryRange } from "./api";
import { PanelData, type Answer } from "./data";
import type { Push } from "./messages";
import type { Dashboard, TimeRange } from "./model";
import { isRelative, resolveTime, type Range } from "./time";
import { loadExpansion, type Expansion } from "./variables";
import { useLatest } from "./latest";

export function resolveRange(r: TimeRange): Range {
  const now = Date.now();
  return { from: resolveTime(r.from, now) ?? now - 3_600_000, to: resolveTime(r.to, now) ?? now };
}

interface Options {
  uid: string;
  dash: Dashboard | undefined;
  timeRange: TimeRange | null;
  /** version is the dashboard version shown, and reload loads a newer one. */
  version(): number;
  reload(): void;
  notice(text: string): void;
}

export function useLiveData({ uid, dash, timeRange, version, reload, notice }: Options) {
  /** range is the span the charts show. It moves with every push, and only the charts whose data
   * changed are drawn again, so it is read when they draw rather than rendered. */
  const range = useRef<Range>({ from: 0, to: 0 });
  // Each panel's history as it comes in is a new PanelData object, which the page renders again
  // for (a count of them is the state that does it). A push changes data in place and tells each
  // panel's views alone.
  const [, setRevision] = useState(0);
  const [expansion, setExpansion] = useState<Expansion | null>(null);
  const data = useRef(new Map<number, PanelData>());
  const expansionRef = useLatest(expansion);
  const timeRef = useLatest(timeRange);
  const noticeRef = useLatest(notice);
  /** loads counts history loads, so that only the latest one's answers are kept. */
  const loads = useRef(0);
  const lastLoad = useRef(0);

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
      if (seq === loads.current) noticeRef.current(`The panels' queries could not be loaded: ${e instanceof Error ? e.message : e}`);
      return;
    }
    if (seq !== loads.current) return;
    range.current = r;
    setExpansion(x);
    // Until its new history is in, a panel keeps showing what it had; removed panels go.
    data.current = new Map(x.panels.flatMap((p) => (data.current.has(p.id) ? [[p.id, data.current.get(p.id)!]] : [])));
    await Promise.all(
      x.panels.map(async (p) => {
        const answers = new Map<string, Answer>();
        await Promise.all(
          p.targets.map(async (t) => {
            const q = new URLSearchParams({ query: t.expr, start: String(x.start / 1000), end: String(x.end / 1000), step: String(x.step / 1000) });
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
  }, [uid, noticeRef]);

  // History whenever the dashboard's queries or the time range change.
  const queriesKey = dash ? JSON.stringify([dash.panels.map((p) => [p.id, p.targets]), dash.variables, dash.refresh, dash.time]) : "";
  const from = timeRange?.from;
  const to = timeRange?.to;
  useEffect(() => {
    if (queriesKey && from !== undefined && to !== undefined) loadHistory({ from, to });
  }, [queriesKey, from, to, loadHistory]);

  const onPush = useCallback((push: Push) => {
    const tr = timeRef.current;
    if (!tr || !isRelative(tr)) return; // a zoomed-in past range does not move
    if (push.version > version()) reload();
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
    range.current = r;
    for (const [panel, answers] of byPanel) {
      const pd = data.current.get(panel);
      if (!pd) continue;
      pd.add(push.time / 1000, answers, x.step / 1000);
      pd.trim(r.from / 1000);
      pd.changed();
    }
  }, [timeRef, expansionRef, version, reload, loadHistory]);

  return { data, range, expansion, loadHistory, onPush };
}
