/// <reference types="node" />
// (The config runs in Node: its plugin reads a file and hashes it.)
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";

// serviceWorker writes dist/sw.js from sw.js with this build's assets and a version drawn from
// their names (which change with their content) and the worker's own source, so each build that
// changes anything the worker keeps gets a new worker and cache. A plugin (vite-plugin-pwa) would
// bring Workbox and its build tooling for a worker of a few rules; this is the whole of it.
function serviceWorker(): Plugin {
  return {
    name: "huddle-service-worker",
    apply: "build",
    generateBundle(_, bundle) {
      const source = readFileSync(new URL("sw.js", import.meta.url), "utf8");
      const assets = Object.keys(bundle)
        .filter((f) => f.startsWith("assets/"))
        .sort()
        .map((f) => "/" + f);
      const version = createHash("sha256").update(source).update(assets.join("\n")).digest("hex").slice(0, 16);
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: source.replace("self.__HUDDLE_VERSION__", JSON.stringify(version)).replace("self.__HUDDLE_ASSETS__", JSON.stringify(assets)),
      });
    },
  };
}

// The Go binary embeds dist/. dist/.gitkeep is committed so the embed pattern matches before
// the first build; the Makefile removes the previous build's files instead of Vite. public/
// (the manifest and icons) is copied to dist/ as is.
export default defineConfig({
  plugins: [serviceWorker()],
  build: {
    outDir: "dist",
    emptyOutDir: false,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/login": "http://127.0.0.1:8080",
      "/client": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
