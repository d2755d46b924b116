import { existsSync } from 'node:fs'
import vue from '@vitejs/plugin-vue'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'

// Browser tests run in the system Chromium (a test tool's own browser download does not work on
// our machines). Set CHROMIUM_PATH to use another binary.
function chromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
  const found = candidates.find((p): p is string => !!p && existsSync(p))
  if (!found) {
    throw new Error(
      'vue-toss-iap: no Chromium found for the browser tests. Install one with `apt-get install -y chromium` ' +
        '(Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    )
  }
  return found
}

export default defineConfig({
  plugins: [vue()],
  // Pre-bundled up front, so the browser project never reloads mid-run to optimise a late import.
  optimizeDeps: { include: ['@apps-in-toss/web-framework', 'vue', 'pinia', '@vueuse/core'] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'happy-dom',
          setupFiles: ['test/setup.ts'],
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**'],
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
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
                  return chromium()
                },
                args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
