import { defineConfig } from 'vite'

// The library build, every peer and dependency left external. Four page entries (main, testing, messages,
// vite/client) and three Node entries (server, testing/server, the dev-only Vite plugin vite): the Node ones import node builtins, pg, PGlite and
// selfsigned, which stay external too; scripts/check-package.mjs proves none of it reaches a page entry.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: {
        index: 'src/index.ts',
        testing: 'src/testing/index.ts',
        server: 'src/server/index.ts',
        // `vue-toss-iap/server/otel`: the only module that loads the optional @opentelemetry/api.
        'server-otel': 'src/server/otel.ts',
        'testing-server': 'src/testing/server.ts',
        messages: 'src/messages/index.ts',
        vite: 'src/vite/index.ts',
        'vite-client': 'src/vite/client.ts',
        // `npx vue-toss-iap reconcile` (package.json `bin`).
        cli: 'src/server/cli.ts',
      },
      formats: ['es'],
    },
    rolldownOptions: {
      external: [
        /^vue($|\/)/,
        /^pinia($|\/)/,
        /^@vueuse\//,
        /^@vue\/devtools-api/,
        /^@apps-in-toss\//,
        /^node:/,
        /^pg($|\/)/,
        /^@electric-sql\/pglite($|\/)/,
        /^selfsigned$/,
        /^@opentelemetry\//,
        /^vite$/,
      ],
      // One file per module, as in src: with `"sideEffects": false` an app's bundler drops whole
      // modules it does not import (a store defined at a module's top level is otherwise kept).
      output: { preserveModules: true, preserveModulesRoot: 'src', entryFileNames: '[name].js' },
    },
  },
})
