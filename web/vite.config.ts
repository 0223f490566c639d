import { defineConfig } from "vite";

// The Go binary embeds dist/. dist/.gitkeep is committed so the embed pattern matches before
// the first build; the Makefile removes the previous build's files instead of Vite.
export default defineConfig({
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
