import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';
import { contentSecurityPolicyPlugin } from './scripts/content-security-policy.ts';
import { offlineModels } from './scripts/offline-models.ts';

// The studio: one page, one module worker that owns the GPU and IndexedDB.
// WebGPU needs a secure context, so the dev and preview servers stay on 127.0.0.1.
// TUNELAB_MODELS=DIR (set by `npm start -- --models DIR`) serves DIR's model repos as an offline Hub.
// The build gets a Content-Security-Policy (scripts/content-security-policy.ts); TUNELAB_CONNECT_SRC adds origins to it.
export default defineConfig({
  plugins: [svelte(), offlineModels(process.env.TUNELAB_MODELS), contentSecurityPolicyPlugin()],
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
