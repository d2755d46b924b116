import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// In your own app `npm install vue-toss-iap` and drop the alias: here the example uses this
// repository's sources, so that it builds offline from a fresh clone with the root's node_modules.
const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url))

export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: [
      { find: /^vue-toss-iap\/messages$/, replacement: src('messages/index.ts') },
      { find: /^vue-toss-iap$/, replacement: src('index.ts') },
    ],
  },
})
