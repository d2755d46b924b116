import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import vueDevTools from 'vite-plugin-vue-devtools'
import { fulfilmentEndpoint } from './server/fulfilment.ts'

const src = (path: string) => fileURLToPath(new URL(`../src/${path}`, import.meta.url))

// The playground uses the package through its public entries, resolved to the sources so that
// edits show up at once. The fulfilment endpoint runs inside the dev (and preview) server.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // vueDevTools() serves the real Vue DevTools inside the page in `vite dev` only (it applies to 'serve').
  // Its component inspector is off: under Vite 8 its loader script 404s on every page load.
  plugins: [
    vue(),
    vueDevTools({ componentInspector: false }),
    fulfilmentEndpoint({ dataDir: process.env.PLAYGROUND_DATA_DIR ?? fileURLToPath(new URL('.data', import.meta.url)) }),
  ],
  resolve: {
    alias: [
      { find: /^vue-toss-iap\/testing$/, replacement: src('testing/index.ts') },
      { find: /^vue-toss-iap\/messages$/, replacement: src('messages/index.ts') },
      { find: /^vue-toss-iap$/, replacement: src('index.ts') },
    ],
  },
  server: { host: '127.0.0.1', port: 5173 },
  build: { outDir: 'dist', emptyOutDir: true },
})
