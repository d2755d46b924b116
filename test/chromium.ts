import { existsSync } from 'node:fs'

/**
 * The system Chromium the browser and end-to-end tests run in (a test tool's own browser download
 * does not work on our machines). CHROMIUM_PATH picks another binary. Fails loudly, never skips.
 */
export function chromiumPath(
  candidates: Array<string | undefined> = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ],
): string {
  const found = candidates.find((p): p is string => !!p && existsSync(p))
  if (!found) {
    throw new Error(
      'vue-toss-iap: no Chromium found for the browser tests. Install one with `apt-get install -y chromium` ' +
        '(Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    )
  }
  return found
}

export { CHROMIUM_ARGS } from '../scripts/chromium-args.mjs'
