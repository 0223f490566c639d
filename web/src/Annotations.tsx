import { useState } from "preact/hooks";
import type { Annotation, AnnotationDraft } from "./model";
import { formatTime } from "./time";
import { Modal } from "./Modal";

interface ListProps {
  annotations: Annotation[];
  canEdit: boolean;
  onSelect(a: Annotation): void;
  onJump(a: Annotation): void;
  /** onMarkNow opens a new annotation at the present moment on every panel. */
  onMarkNow(): void;
  onClose(): void;
}

/** AnnotationList is the side panel of everything marked on this dashboard, newest first; on a
 * phone it is a sheet over the bottom of the screen. Text is rendered as text, never as HTML. */
export function AnnotationList({ annotations, canEdit, onSelect, onJump, onMarkNow, onClose }: ListProps) {
  return (
    <aside class="side" aria-label="Annotations">
      <div class="side-head">
        <h2>Annotations</h2>
        <button class="close" onClick={onClose} aria-label="Close annotations">✕</button>
      </div>
      {canEdit && (
        <>
          <button onClick={onMarkNow}>Mark now</button>
          <p class="muted">Or Ctrl/⌘ + click a chart to mark a moment, Ctrl/⌘ + drag to mark a range; on a touch screen, press and hold.</p>
        </>
      )}
      {annotations.length === 0 && <p class="muted">None in view yet.</p>}
      <ul>
        {annotations.map((a) => (
          <li key={a.id} data-annotation={a.id}>
            <div class="annotation-text">{a.text}</div>
            <div>
              {a.tags.map((t) => (
                <span class="tag" key={t}>{t}</span>
              ))}
            </div>
            <div class="muted">
              {a.login} · {formatTime(a.time)}
              {a.timeEnd > a.time ? ` – ${formatTime(a.timeEnd)}` : ""}
            </div>
            <button onClick={() => onJump(a)}>Show</button> <button onClick={() => onSelect(a)}>Open</button>
          </li>
        ))}
      </ul>
    </aside>
  );
}

interface EditorProps {
  draft: AnnotationDraft;
  canEdit: boolean;
  onSave(d: AnnotationDraft): Promise<string>;
  onDelete(id: number): Promise<string>;
  onClose(): void;
}

export function AnnotationEditor({ draft, canEdit, onSave, onDelete, onClose }: EditorProps) {
  const [text, setText] = useState(draft.text);
  const [tags, setTags] = useState(draft.tags.join(", "));
  const [error, setError] = useState("");
  // Editors may change any annotation of a dashboard they edit; viewers only read them.
  const editable = canEdit;
  const submit = async (e: Event) => {
    e.preventDefault();
    const err = await onSave({ ...draft, text, tags: tags.split(",").map((t) => t.trim()).filter(Boolean) });
    setError(err);
  };
  return (
    <Modal title={draft.id ? "Annotation" : "New annotation"} onClose={onClose}>
      <form onSubmit={submit}>
        <p class="muted">
          {formatTime(draft.time)}
          {draft.timeEnd > draft.time ? ` – ${formatTime(draft.timeEnd)}` : ""}
          {draft.login ? ` · by ${draft.login}` : ""}
        </p>
        <div class="form">
          <label for="ann-text">Text</label>
          <textarea id="ann-text" value={text} readOnly={!editable} onInput={(e) => setText(e.currentTarget.value)} autoFocus />
          <label for="ann-tags">Tags</label>
          <input id="ann-tags" value={tags} readOnly={!editable} placeholder="deploy, incident" onInput={(e) => setTags(e.currentTarget.value)} />
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          {draft.id && editable && (
            <button type="button" class="danger" onClick={async () => setError(await onDelete(draft.id!))}>Delete</button>
          )}
          <button type="button" onClick={onClose}>Close</button>
          {editable && <button type="submit" class="primary">Save</button>}
        </div>
      </form>
    </Modal>
  );
}
