import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes into the Python package so `make run` serves it without Node.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/quantlab/webui/dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // stable, content-hashed names keep the build reproducible and cacheable forever
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
        manualChunks(id: string) {
          if (!id.includes("node_modules")) return undefined;
          if (id.includes("lightweight-charts") || id.includes("fancy-canvas")) return "kline";
          if (id.includes("echarts") || id.includes("zrender")) return "echarts";
          if (id.includes("@codemirror") || id.includes("@lezer") || id.includes("crelt") || id.includes("style-mod") || id.includes("w3c-keyname")) return "codemirror";
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
