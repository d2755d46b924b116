// Fails when a bundle outgrows its budget (run by `npm run check:package` after the build, and so
// by CI): sizes as users pay them, a Vite production build of a tiny app against `dist` (see
// consumer-size.mjs). The purchase-only app must stay free of entitlements, history and
// subscriptions: tree-shaking from `dist` is what this guards.
import { CONSUMER_BUDGETS, CONSUMERS, measureConsumer } from './consumer-size.mjs'

let failed = false
for (const [name, budget] of Object.entries(CONSUMER_BUDGETS)) {
  const size = await measureConsumer(name, CONSUMERS[name])
  const ok = size.gzip <= budget
  failed ||= !ok
  console[ok ? 'log' : 'error'](
    `size budget ${ok ? 'ok' : 'EXCEEDED'}: ${name}: ${size.min} B min, ${size.gzip} B gzip (budget ${budget} B gzip)`,
  )
}
if (failed) process.exit(1)
