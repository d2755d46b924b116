import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
// In your own app: import { tossIapDev } from 'vue-toss-iap/vite'
import { tossIapDev } from '../../src/vite/index.ts'

// In your own app `npm install vue-toss-iap` and drop the alias: here the example uses this
// repository's sources, so that it builds offline from a fresh clone with the root's node_modules.
const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url))

export default defineConfig({
  // tossIapDev: the simulated Toss host and the app server's endpoints in `vite dev`
  // (.env.development points VITE_API_URL at this dev server); in `vite build` / `ait build`, a
  // check that .env.production gives VITE_API_URL as an https URL.
  plugins: [vue(), tossIapDev({ panel: true })],
  resolve: {
    alias: [
      { find: /^vue-toss-iap\/vite\/client$/, replacement: src('vite/client.ts') },
      { find: /^vue-toss-iap\/messages$/, replacement: src('messages/index.ts') },
      { find: /^vue-toss-iap$/, replacement: src('index.ts') },
    ],
  },
})
