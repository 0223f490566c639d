// useAnnotations keeps the dashboard's annotations: loaded whole at first, caught up by sequence
// number after a reconnect, and changed by the hub's annotation events and one's own edits.
import { useCallback, useRef, useState } from "preact/hooks";
import { api } from "./api";
import type { ChangeEvent } from "./messages";
import type { Annotation, AnnotationDraft } from "./model";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function useAnnotations(uid: string) {
  const [annotations, setAnnotations] = useState<Map<number, Annotation>>(new Map());
  /** seq is the highest sequence number seen, where a catch-up starts from. */
  const seq = useRef(0);
  const base = `/api/dashboards/${encodeURIComponent(uid)}/annotations`;

  /** load loads them all, or with since only those changed after that sequence number. */
  const load = useCallback(async (since?: number) => {
    if (since === undefined) seq.current = 0;
    const list = await api<Annotation[]>("GET", base + (since !== undefined ? `?since=${since}` : `?limit=1000`));
    setAnnotations((prev) => {
      const next = since !== undefined ? new Map(prev) : new Map<number, Annotation>();
      for (const a of list) {
        if (a.deleted) next.delete(a.id);
        else next.set(a.id, a);
        seq.current = Math.max(seq.current, a.seq);
      }
      return next;
    });
  }, [base]);

  const catchUp = useCallback(() => load(seq.current), [load]);

  /** onEvent applies an annotation event of the hub. */
  const onEvent = useCallback((ev: ChangeEvent) => {
    const a = ev.annotation;
    if (!a) return;
    seq.current = Math.max(seq.current, a.seq);
    setAnnotations((prev) => {
      const next = new Map(prev);
      if (ev.type === "annotation.deleted" || a.deleted) next.delete(a.id);
      else next.set(a.id, a);
      return next;
    });
  }, []);

  /** save creates or changes one, and answers why it could not, or "". */
  const save = useCallback(async (d: AnnotationDraft): Promise<string> => {
    const body = { panelId: d.panelId, time: d.time, timeEnd: d.timeEnd, text: d.text, tags: d.tags };
    try {
      const a = d.id ? await api<Annotation>("PUT", `${base}/${d.id}`, body) : await api<Annotation>("POST", base, body);
      setAnnotations((prev) => new Map(prev).set(a.id, a));
      return "";
    } catch (e) {
      return message(e);
    }
  }, [base]);

  const remove = useCallback(async (id: number): Promise<string> => {
    try {
      await api("DELETE", `${base}/${id}`);
      setAnnotations((prev) => {
        const next = new Map(prev);
        next.delete(id);
        return next;
      });
      return "";
    } catch (e) {
      return message(e);
    }
  }, [base]);

  return { annotations, load, catchUp, onEvent, save, remove };
}
