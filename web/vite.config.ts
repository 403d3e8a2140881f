import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// The editor is a static bundle served by server/; `npm run dev:web` proxies the API to a running server.
export default defineConfig({
  root,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: true,
    rollupOptions: {
      // litegraph evaluates arithmetic typed into number widgets; known and harmless here.
      onwarn(warning, warn) {
        if (warning.code === 'EVAL' && warning.id?.includes('litegraph')) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8188', ws: true },
      '/ws': { target: 'ws://127.0.0.1:8188', ws: true },
    },
  },
});
