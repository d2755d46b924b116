import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { CHROMIUM_ARGS, chromiumPath } from './test/chromium.ts'
import PlannedSequencer from './test/sequencer.ts'
import { WASM_BASELINE_ONLY } from './test/wasm-flags.ts'

export default defineConfig({
  plugins: [vue()],
  // Pre-bundled up front, so the browser project never reloads mid-run to optimise a late import.
  optimizeDeps: { include: ['@apps-in-toss/web-framework', 'vue', 'pinia', '@vueuse/core'] },
  test: {
    // Files run side by side, one per core (Vitest's default leaves one core free: on a 2-core
    // machine, one file at a time). Many of them mostly wait on other processes (Chromium,
    // PostgreSQL, their own children), and test/sequencer.ts plans which run together.
    maxWorkers: Math.max(2, availableParallelism()),
    sequence: { sequencer: PlannedSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'happy-dom',
          // One worker runs the files one after another on one page, instead of a new process,
          // happy-dom window and Vue per file (most of this project's time); test/fresh-page.ts
          // resets what a file could leave to the next, and has this repository's modules and
          // those with page state (the SDK, @vue/test-utils) evaluated again for each file.
          isolate: false,
          server: { deps: { inline: [/@apps-in-toss\//, '@vue/test-utils'] } },
          setupFiles: ['test/setup.ts', 'test/fresh-page.ts'],
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/e2e/**', 'test/server/**'],
          // The type tests (test/**/*.test-d.ts) are checked by `npm run typecheck` with the whole
          // project; a second type-check here only cost time.
        },
      },
      {
        extends: true,
        test: {
          // The server half on Node: real TLS, PGlite, and PostgreSQL when there is one.
          name: 'server',
          environment: 'node',
          // The mounting examples (examples/server/) import the package by name, as users do.
          alias: [
            { find: /^vue-toss-iap\/server$/, replacement: fileURLToPath(new URL('./src/server/index.ts', import.meta.url)) },
            { find: /^vue-toss-iap\/server\/otel$/, replacement: fileURLToPath(new URL('./src/server/otel.ts', import.meta.url)) },
            { find: /^vue-toss-iap\/testing\/server$/, replacement: fileURLToPath(new URL('./src/testing/server.ts', import.meta.url)) },
          ],
          // A worker runs its files one after another without a new process each (the files share
          // no module state; each opens and closes its own databases, servers and processes).
          isolate: false,
          include: ['test/server/**/*.test.ts'],
          globalSetup: ['test/server/server.setup.ts'],
          execArgv: WASM_BASELINE_ONLY,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // The playground served by Vite, driven in the system Chromium by Playwright.
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/e2e.setup.ts'],
          execArgv: WASM_BASELINE_ONLY,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // A loaded CI machine is slower than a laptop; polls wait for what a person would.
          expect: { poll: { timeout: 15_000, interval: 50 } },
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          setupFiles: ['test/setup.ts'],
          include: ['test/browser/**/*.test.ts'],
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                // A getter, so that a run of the unit project alone does not need a browser.
                get executablePath() {
                  return chromiumPath()
                },
                args: CHROMIUM_ARGS,
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
