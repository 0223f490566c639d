// useLoad keeps what a page loads over HTTP: the value once loaded, the error if it failed, and a
// reload for after a change. An answer that comes after a newer load began is dropped, so a slow
// first answer never overwrites a fresher one.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useChangeCount, useLatest } from "./latest";

export interface Load<T> {
  value: T | null;
  error: string;
  reload(): void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Load<T> {
  const [state, setState] = useState<{ value: T | null; error: string }>({ value: null, error: "" });
  const seq = useRef(0);
  const latest = useLatest(load);
  const changes = useChangeCount(deps);
  const reload = useCallback(() => {
    const n = ++seq.current;
    latest.current().then(
      (value) => n === seq.current && setState({ value, error: "" }),
      (e) => n === seq.current && setState((s) => ({ value: s.value, error: e instanceof Error ? e.message : String(e) })),
    );
  }, [latest]);
  useEffect(reload, [reload, changes]);
  return { ...state, reload };
}
