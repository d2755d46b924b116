import { defineConfig } from 'vite'

// The library build: three entries (main, testing, messages), every peer and dependency left external.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', testing: 'src/testing/index.ts', messages: 'src/messages/index.ts' },
      formats: ['es'],
    },
    rolldownOptions: {
      external: [/^vue($|\/)/, /^pinia($|\/)/, /^@vueuse\//, /^@vue\/devtools-api/, /^@apps-in-toss\//],
    },
  },
})
