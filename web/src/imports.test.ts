/// <reference types="vite/client" />
// The web UI's modules form no import cycle, type-only imports included: a cycle makes the
// order modules are evaluated in matter, and tells of a type kept where it does not belong
// (shared types go to model.ts or the module of their concern).
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>(["./**/*.{ts,tsx}", "!./**/*.test.ts"], { query: "?raw", import: "default", eager: true });

/** imports are the modules of src that a module imports, by path relative to src. */
export function importsOf(path: string, text: string, known: Set<string>): string[] {
  const dir = path.split("/").slice(0, -1);
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gm)) {
    const parts = [...dir];
    for (const seg of m[1].split("/")) {
      if (seg === "..") parts.pop();
      else if (seg !== ".") parts.push(seg);
    }
    const base = parts.join("/");
    const hit = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find((p) => known.has(p));
    if (hit) out.push(hit);
  }
  return out;
}

/** cycle finds one cycle in the graph by depth-first search, or returns null. */
export function cycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "done") return null;
    if (state.get(n) === "open") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "open");
    stack.push(n);
    for (const next of graph.get(n) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    stack.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of graph.keys()) {
    const found = visit(n);
    if (found) return found;
  }
  return null;
}

describe("imports", () => {
  it("reads the modules", () => {
    expect(Object.keys(sources)).toContain("./Dashboard.tsx");
  });

  it("finds a cycle where there is one, type imports included", () => {
    const known = new Set(["./a.ts", "./b.tsx", "./c.ts"]);
    const graph = new Map([
      ["./a.ts", importsOf("./a.ts", 'import { b } from "./b";', known)],
      ["./b.tsx", importsOf("./b.tsx", 'import type { C } from "./c";\nimport {\n  x,\n} from "./c";', known)],
      ["./c.ts", importsOf("./c.ts", 'export { a } from "./a";', known)],
    ]);
    expect(cycle(graph)).toEqual(["./a.ts", "./b.tsx", "./c.ts", "./a.ts"]);
    graph.set("./c.ts", []);
    expect(cycle(graph)).toBeNull();
  });

  it("has no cycle among the UI's modules", () => {
    const known = new Set(Object.keys(sources));
    const graph = new Map(Object.entries(sources).map(([path, text]) => [path, importsOf(path, text, known)]));
    expect(cycle(graph)).toBeNull();
  });
});
