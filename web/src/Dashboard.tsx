// The dashboard page: it puts together the hooks that each keep one concern (the model, live
// data, annotations, the other viewers, follow mode, alerting state) and the components that
// show them.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { AnnotationDraft, TimeRange } from "./model";
import { routeServerMessage } from "./messages";
import { movedPanels, newPanel } from "./edits";
import { usePanelEdits } from "./usePanelEdits";
import { useDashboardAlerts } from "./useDashboardAlerts";
import { useDashboardModel } from "./useDashboardModel";
import { useLiveData } from "./useLiveData";
import { useAnnotations } from "./useAnnotations";
import { useHub } from "./useHub";
import { usePeers } from "./usePeers";
import { useFollow } from "./useFollow";
import { useSharedPointer } from "./useSharedPointer";
import { useLatest } from "./latest";
import { stackedQuery, useMedia } from "./useMedia";
import { AlertBar } from "./AlertBar";
import { AnnotationEditor, AnnotationList } from "./Annotations";
import { DashboardBanners, LoadFailed } from "./Banners";
import { DashboardBoard } from "./DashboardBoard";
import { DashboardHeader } from "./DashboardHeader";
import { PanelEditor } from "./PanelEditor";
import { VariableBar } from "./VariableBar";

export function DashboardPage({ uid }: { uid: string }) {
  const model = useDashboardModel(uid);
  const alerts = useDashboardAlerts();
  const { stored, timeRange, setTimeRange, setNotice, save, relayout, load: loadDashboard } = model;
  const dash = stored?.dashboard;
  const canEdit = stored?.meta.canEdit ?? false;
  const timeRef = useLatest(timeRange);
  const live = useLiveData({ uid, dash, timeRange, version: model.version, reload: loadDashboard, notice: setNotice });
  const notes = useAnnotations(uid);
  const loadAnnotations = notes.load;
  // First load.
  useEffect(() => {
    (async () => {
      if (await loadDashboard()) await loadAnnotations();
    })();
  }, [loadDashboard, loadAnnotations]);

  /** resync catches up after a new connection: the layout, missed annotations and the data. */
  const resync = async () => {
    const st = await loadDashboard();
    await notes.catchUp();
    if (st && timeRef.current) await live.loadHistory(timeRef.current);
  };
  // The handlers run later, when the hub speaks: by then viewers below is set.
  const { hub, status, me } = useHub(uid, {
    server: (m) => routeServerMessage(m, { points: live.onPush, annotation: notes.onEvent, dashboard: model.onEvent }),
    peer: (m, from) => viewers.onPeer(m, from),
    alerts: alerts.onMessage,
    online: (reconnected) => {
      alerts.connected();
      hub.current?.send({ type: "hello" });
      viewers.sendPresence();
      if (reconnected) resync();
    },
    failed: model.setLoadError,
  });
  const viewers = usePeers(uid, hub, timeRange);
  const { following, followed, setFollowing } = useFollow(viewers.peers, timeRange, setTimeRange);
  const { editing, setEditing, panelDraft, setPanelDraft, savePanel, removePanel } = usePanelEdits(dash, save, relayout);
  const [draft, setDraft] = useState<AnnotationDraft | null>(null);
  const stacked = useMedia(stackedQuery);
  // On a small screen the annotations are a sheet over the panels, so they wait to be asked for.
  const [showSide, setShowSide] = useState(() => !matchMedia(stackedQuery).matches);
  const board = useRef<HTMLDivElement>(null);
  const hoverTime = useSharedPointer(board, stored !== null, viewers.sendCursor);
  // The same list until an annotation changes, so that the panels do not render again for it.
  const annotationList = useMemo(() => [...notes.annotations.values()].sort((a, b) => b.time - a.time), [notes.annotations]);

  if (model.loadError) return <LoadFailed error={model.loadError} />;
  if (!dash || !timeRange) return <main class="muted">Loading…</main>;

  /** closeUnlessFailed closes the annotation editor once its change is done, or keeps it open
   * with the reason it could not be. */
  const closeUnlessFailed = async (change: Promise<string>) => {
    const err = await change;
    if (!err) setDraft(null);
    return err;
  };
  const pickRange = (r: TimeRange) => {
    setFollowing(null);
    setTimeRange(r);
  };
  return (
    <div>
      <DashboardHeader
        uid={uid}
        dash={dash}
        canEdit={canEdit}
        peers={viewers.peers}
        me={me}
        following={following}
        onFollow={(id) => setFollowing(id === following ? null : id)}
        timeRange={timeRange}
        onTimeRange={pickRange}
        status={status}
        editing={editing}
        stacked={stacked}
        onEditing={setEditing}
        onAddPanel={() => setPanelDraft(newPanel(dash))}
        showSide={showSide}
        onShowSide={setShowSide}
      />
      <DashboardBanners
        conflict={model.conflict}
        onLoadLatest={() => { model.setConflict(""); loadDashboard(); }}
        notice={model.notice}
        onDismiss={() => setNotice("")}
        followed={following ? followed : undefined}
      />
      {alerts.incidents && me && <AlertBar incidents={alerts.incidents} me={me.userId} />}
      <VariableBar variables={dash.variables} states={live.expansion?.variables} canEdit={canEdit} onChange={(variables) => save({ ...dash, variables })} />
      <main class="layout">
        <DashboardBoard
          board={board}
          layoutKey={model.layoutKey}
          panels={dash.panels}
          stacked={stacked}
          // The layout is edited on the grid only: a stacked one is not the dashboard's.
          editing={editing && !stacked}
          canEdit={canEdit}
          data={live.data.current}
          range={live.range}
          annotations={annotationList}
          expansion={live.expansion}
          rules={alerts.rules}
          pointers={viewers.pointers}
          hoverTime={hoverTime}
          onLayout={(layout) => {
            const panels = movedPanels(dash.panels, layout);
            if (panels) save({ ...dash, panels });
          }}
          onZoom={(from, to) => pickRange({ from: String(from), to: String(to) })}
          onDraft={setDraft}
          onEditPanel={setPanelDraft}
          onRemovePanel={removePanel}
        />
        {showSide && (
          <AnnotationList
            annotations={annotationList}
            canEdit={canEdit}
            onSelect={(a) => setDraft({ ...a })}
            onJump={(a) => setTimeRange({ from: String(a.time - 15 * 60_000), to: String(a.timeEnd + 15 * 60_000) })}
            onMarkNow={() => {
              const now = Date.now();
              setDraft({ panelId: 0, time: now, timeEnd: now, text: "", tags: [] });
            }}
            onClose={() => setShowSide(false)}
          />
        )}
      </main>
      {draft && (
        <AnnotationEditor
          draft={draft}
          canEdit={canEdit}
          onSave={(d) => closeUnlessFailed(notes.save(d))}
          onDelete={(id) => closeUnlessFailed(notes.remove(id))}
          onClose={() => setDraft(null)}
        />
      )}
      {panelDraft && <PanelEditor panel={panelDraft} onSave={savePanel} onClose={() => setPanelDraft(null)} />}
    </div>
  );
}
