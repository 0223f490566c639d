// useMedia follows a CSS media query, so that components choose what to render by the same
// breakpoints the stylesheet uses.
import { useEffect, useState } from "preact/hooks";

/** Below this width (phones and tablets held upright) the dashboard stacks its panels instead of
 * drawing the 24-column grid, and its annotations open as a sheet; keep in step with the media
 * queries of styles.css. */
export const stackedQuery = "(max-width: 1023.98px)";

export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const m = matchMedia(query);
    const change = () => setMatches(m.matches);
    change();
    m.addEventListener("change", change);
    return () => m.removeEventListener("change", change);
  }, [query]);
  return matches;
}
