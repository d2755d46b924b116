import { defineConfig } from 'vite'

// The library build: main, testing, messages, and the dev-only Vite plugin (vite: Node; vite-client: the page), every peer and dependency left external.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', testing: 'src/testing/index.ts', messages: 'src/messages/index.ts', vite: 'src/vite/index.ts', 'vite-client': 'src/vite/client.ts' },
      formats: ['es'],
    },
    rolldownOptions: {
      external: [/^node:/, /^vite$/, /^vue($|\/)/, /^pinia($|\/)/, /^@vueuse\//, /^@vue\/devtools-api/, /^@apps-in-toss\//],
    },
  },
})
