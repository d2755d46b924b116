// Sizes as users pay them: a Vite production build of a tiny app that imports the built `dist`
// through the package's own exports map, with the peers (vue, pinia, @vueuse/*, the SDK,
// @vue/devtools-api) left external. What the app's bundler cannot tree-shake out of `dist` shows here.
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync, brotliCompressSync } from 'node:zlib'
import { build } from 'vite'

const ROOT = resolve(import.meta.dirname, '..')
const EXTERNAL = [/^vue($|\/)/, /^pinia($|\/)/, /^@vueuse\//, /^@apps-in-toss\//, /^@vue\/devtools-api/]

/**
 * Gzip budgets in bytes, checked by `npm run check:package`: today's size and a little room, so
 * that growth is a decision. (Measured 2026-11-27 after the size branch: 7,895 B and 12,374 B,
 * from 7,938 B and 12,380 B; the purchase path paid 58 B of that for building the client and the
 * foreground listener with the store, after the first frame, instead of during app.use.)
 * Issue #20 spent 34 B of the purchase path (7,901 → 7,935 B: a host event that cannot be read is
 * reported as a typed IapError; the grant's own check runs before any payment) and 230 B of the
 * whole entry (12,383 → 12,613 B: grantViaEndpoint refuses a payment whose grant URL can never
 * reach the server, with its one console line).
 * 2026-12-02, Toss login (#19): the purchase path pays 37 B for the login gate before payment; the
 * whole entry about 1.4 KB for createTossLogin, its store and useTossLogin. Budgets: MEASURED below.
 */
export const CONSUMER_BUDGETS = {
  'createTossIap + usePurchase': 7.8125 * 1024,
  // Balances (#22): useBalance, its store and balanceViaEndpoint add about 1.25 KiB gzip to the
  // whole entry and nothing to the purchase path (tree-shaken unless imported).
  'whole main entry': 15.25 * 1024,
}

/** What each tiny app imports: the purchase path, then each feature on top of it, then everything. */
export const CONSUMERS = {
  'createTossIap + usePurchase': "import { createTossIap, usePurchase } from 'vue-toss-iap'\nconsole.log(createTossIap, usePurchase)",
  '… + useProducts':
    "import { createTossIap, usePurchase, useProducts } from 'vue-toss-iap'\nconsole.log(createTossIap, usePurchase, useProducts)",
  '… + useProducts + useEntitlement':
    "import { createTossIap, usePurchase, useProducts, useEntitlement } from 'vue-toss-iap'\nconsole.log(createTossIap, usePurchase, useProducts, useEntitlement)",
  '… + useBalance':
    "import { createTossIap, usePurchase, useBalance, balanceViaEndpoint } from 'vue-toss-iap'\nconsole.log(createTossIap, usePurchase, useBalance, balanceViaEndpoint)",
  'whole main entry': "import * as all from 'vue-toss-iap'\nconsole.log(all)",
  'vue-toss-iap/testing': "import * as all from 'vue-toss-iap/testing'\nconsole.log(all)",
  'vue-toss-iap/messages': "import * as all from 'vue-toss-iap/messages'\nconsole.log(all)",
}

/** Builds one tiny app against `dist` and answers its JavaScript's size. Needs `npm run build` first. */
export async function measureConsumer(name, source) {
  // The package is installed into the apps' folder as a link, so it resolves by name through
  // its exports map, as an installed copy would.
  const base = join(ROOT, 'node_modules', '.cache', 'vue-toss-iap-size')
  const link = join(base, 'node_modules', 'vue-toss-iap')
  if (!existsSync(link)) {
    mkdirSync(join(base, 'node_modules'), { recursive: true })
    symlinkSync(ROOT, link, 'dir')
  }
  const dir = join(base, 'apps', name.replace(/[^a-z0-9]+/gi, '-'))
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'main.js'), source)
  const output = await build({
    configFile: false,
    root: dir,
    logLevel: 'silent',
    mode: 'production',
    define: { 'process.env.NODE_ENV': '"production"' },
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      modulePreload: false,
      rolldownOptions: { input: join(dir, 'main.js'), external: EXTERNAL },
    },
  })
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => o.output).filter((c) => c.type === 'chunk')
  const code = Buffer.concat(chunks.map((c) => Buffer.from(c.code)))
  rmSync(dir, { recursive: true, force: true })
  return { name, min: code.length, gzip: gzipSync(code, { level: 9 }).length, brotli: brotliCompressSync(code).length }
}

export async function measureConsumers() {
  const rows = []
  for (const [name, source] of Object.entries(CONSUMERS)) rows.push(await measureConsumer(name, source))
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await measureConsumers()) console.log(`${row.name}: ${row.min} B min, ${row.gzip} B gzip, ${row.brotli} B br`)
}
