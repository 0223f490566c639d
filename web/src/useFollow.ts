// useFollow is follow mode: this viewer takes the followed one's range and scroll, and any own
// interaction but a pointer's move leaves it.
import { useEffect, useState } from "preact/hooks";
import type { PeerState } from "./collab";
import type { TimeRange } from "./model";
import { useLatest } from "./latest";

export function useFollow(peers: Map<string, PeerState>, timeRange: TimeRange | null, setTimeRange: (r: TimeRange) => void) {
  const [following, setFollowing] = useState<string | null>(null);
  const followed = following ? peers.get(following) : undefined;
  const timeRef = useLatest(timeRange);
  const from = followed?.range?.from;
  const to = followed?.range?.to;
  const scroll = followed?.scroll;

  useEffect(() => {
    const cur = timeRef.current;
    if (from !== undefined && to !== undefined && (from !== cur?.from || to !== cur?.to)) setTimeRange({ from, to });
    if (scroll !== undefined) {
      const scrollable = document.documentElement.scrollHeight - innerHeight;
      scrollTo({ top: scroll * scrollable, behavior: "smooth" });
    }
  }, [from, to, scroll, timeRef, setTimeRange]);

  useEffect(() => {
    if (!following) return;
    const leave = (e: Event) => {
      if (e.isTrusted) setFollowing(null);
    };
    const events = ["mousedown", "keydown", "wheel", "touchstart"];
    events.forEach((e) => addEventListener(e, leave, { passive: true }));
    return () => events.forEach((e) => removeEventListener(e, leave));
  }, [following]);

  return { following, followed, setFollowing };
}
