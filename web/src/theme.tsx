import { useState } from "preact/hooks";

type Theme = "light" | "dark";

export function initialTheme(): Theme {
  const saved = localStorage.getItem("huddle.theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

const themeEvent = "huddle-theme";

export function applyTheme(t: Theme) {
  document.documentElement.dataset.theme = t;
  colors.clear();
  dispatchEvent(new Event(themeEvent));
}

/** colors holds the theme's colour variables read so far: a chart reads several at each draw,
 * and a computed style read at each would cost a style recalculation whenever the page changed
 * since the last (a legend's text does at every push). */
const colors = new Map<string, string>();

/** themeColor is the value of one of the theme's colour variables (set on the document's root),
 * for canvases, which do not resolve CSS variables. */
export function themeColor(name: string): string {
  let c = colors.get(name);
  if (c === undefined) {
    c = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "gray";
    colors.set(name, c);
  }
  return c;
}

/** onThemeChange calls fn after every change of theme, for what CSS does not repaint (canvas
 * charts); it returns the function that stops it. */
export function onThemeChange(fn: () => void): () => void {
  addEventListener(themeEvent, fn);
  return () => removeEventListener(themeEvent, fn);
}

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(initialTheme());
  const flip = () => {
    const t: Theme = theme === "dark" ? "light" : "dark";
    localStorage.setItem("huddle.theme", t);
    applyTheme(t);
    setTheme(t);
  };
  return (
    <button onClick={flip} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`} title="Theme">
      {theme === "dark" ? "☀" : "☾"}
    </button>
  );
}
