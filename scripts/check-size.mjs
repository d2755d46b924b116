// Fails when the main entry outgrows its budget (run by `npm run check:package` and CI).
import { ENTRIES, MAIN_ENTRY_BUDGET, measure } from './size.mjs'

const [name, contents] = Object.entries(ENTRIES)[0]
const size = await measure(name, contents)
const line = `${name}: ${size.min} B min, ${size.gzip} B gzip (budget ${MAIN_ENTRY_BUDGET} B gzip)`
if (size.gzip > MAIN_ENTRY_BUDGET) {
  console.error(`size budget exceeded: ${line}`)
  process.exit(1)
}
console.log(`size budget ok: ${line}`)
