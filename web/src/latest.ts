// What a hook keeps across renders beyond its state.
import { useRef } from "preact/hooks";

/** useLatest keeps the latest value of a render in a ref, for callbacks that live longer than
 * one render (a hub's handlers, timers, listeners) and must not be renewed at each. */
export function useLatest<T>(value: T) {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

/** useChangeCount counts the changes of deps, each compared with Object.is as a hook's deps
 * are, so that a hook taking a caller's deps list can key its own effects on one number. */
export function useChangeCount(deps: unknown[]): number {
  const last = useRef({ deps, count: 0 });
  const prev = last.current.deps;
  if (deps.length !== prev.length || deps.some((d, i) => !Object.is(d, prev[i]))) {
    last.current = { deps, count: last.current.count + 1 };
  }
  return last.current.count;
}
