import { defineConfig } from 'vite'

// The library build: two entries, every peer and dependency left external.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
      formats: ['es'],
    },
    rolldownOptions: {
      external: [/^vue($|\/)/, /^pinia($|\/)/, /^@vueuse\//, /^@vue\/devtools-api/, /^@apps-in-toss\//],
      // One file per module, as in src: with `"sideEffects": false` an app's bundler drops whole
      // modules it does not import (a store defined at a module's top level is otherwise kept).
      output: { preserveModules: true, preserveModulesRoot: 'src', entryFileNames: '[name].js' },
    },
  },
})
