// Fails when a bundle outgrows its budget (run by `npm run check:package` and CI): the whole main
// entry, and what an app importing only the plugin and usePurchase ships (tree-shaking must keep
// entitlements, subscriptions and their bridge code out of it).
import { BUDGETS, ENTRIES, measure } from './size.mjs'

let failed = false
for (const [name, budget] of Object.entries(BUDGETS)) {
  const size = await measure(name, ENTRIES[name])
  const ok = size.gzip <= budget
  failed ||= !ok
  console[ok ? 'log' : 'error'](
    `size budget ${ok ? 'ok' : 'EXCEEDED'}: ${name}: ${size.min} B min, ${size.gzip} B gzip (budget ${budget} B gzip)`,
  )
}
if (failed) process.exit(1)
