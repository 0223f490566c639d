import type { ComponentChildren } from "preact";

/** Banner is a line across the page about the page itself: an alert or a status. */
export function Banner({ role, children, action, onAction }: {
  role: "alert" | "status";
  children: ComponentChildren;
  action?: string;
  onAction?(): void;
}) {
  return (
    <div class="banner" role={role}>
      <span>{children}</span>
      {action && <button onClick={onAction}>{action}</button>}
    </div>
  );
}

/** LoadFailed is the whole page when the dashboard cannot be shown. */
export function LoadFailed({ error }: { error: string }) {
  return (
    <div>
      <header class="top">
        <a class="brand" href="/">Huddle</a>
      </header>
      <main>
        <p class="error" role="alert">{error}</p>
        <a href="/">All dashboards</a>
      </main>
    </div>
  );
}
