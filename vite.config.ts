import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// The studio: one page, one module worker that owns the GPU and IndexedDB.
// WebGPU needs a secure context, so the dev and preview servers stay on 127.0.0.1.
export default defineConfig({
  plugins: [svelte()],
  worker: {
    format: 'es',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    host: '127.0.0.1',
  },
  preview: {
    host: '127.0.0.1',
  },
});
