// usePanelData renders a panel's component again when its data changes in a way it shows.
import { useEffect, useState } from "preact/hooks";
import type { PanelData } from "./data";

/** usePanelData renders the calling component again when key(data) changes after a push, or at
 * every push without key. A chart draws its pushes itself: its panel only renders again when
 * what is around the chart (its errors, "No data") changes. */
export function usePanelData(data: PanelData | undefined, key?: (d: PanelData) => unknown) {
  const [, rendered] = useState(0);
  useEffect(() => {
    if (!data) return;
    let last = key?.(data);
    return data.subscribe(() => {
      if (key) {
        const k = key(data);
        if (Object.is(k, last)) return;
        last = k;
      }
      rendered((n) => n + 1);
    });
  }, [data, key]);
}
