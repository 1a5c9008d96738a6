import { fileURLToPath } from 'node:url'

import { quasar, transformAssetUrls } from '@quasar/vite-plugin'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Django (whitenoise) serves frontend/dist under /static/, and serves
// dist/index.html itself for the SPA routes (/login, /devices, ...), so asset
// URLs must be absolute under /static/ while the router history stays at "/".
export default defineConfig({
  base: '/static/',
  plugins: [
    vue({ template: { transformAssetUrls } }),
    // Plain prebuilt Quasar CSS: no Sass toolchain needed.
    quasar({ sassVariables: false }),
  ],
  resolve: {
    alias: {
      src: fileURLToPath(new URL('./src', import.meta.url)),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` against a local Django on :8000 (not used by CI).
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/admin': 'http://127.0.0.1:8000',
    },
  },
})
