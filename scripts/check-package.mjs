// The package check: what users install must resolve and type-check for them.
// Builds, lints the packed package with publint and @arethetypeswrong/cli, and checks the size budget.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'

const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`)
  execFileSync(cmd, args, { stdio: 'inherit' })
}

run('npm', ['run', '--silent', 'build'])

// Nothing from node_modules may be bundled into dist: every dependency and peer stays external.
console.log('\n$ check that dist bundles no dependency')
// dist keeps one file per module, in folders (see vite.config.ts).
const bundled = readdirSync('dist', { recursive: true })
  .filter((f) => f.endsWith('.js.map'))
  .flatMap((f) =>
    JSON.parse(readFileSync(join('dist', f), 'utf8'))
      .sources.filter((s) => s.includes('node_modules'))
      .map((s) => `${f}: ${s}`),
  )
if (bundled.length > 0) {
  console.error(`dist bundles dependency code (make it external in vite.config.ts):\n${bundled.join('\n')}`)
  process.exit(1)
}
console.log('dist bundles no dependency')

// The page entries and every chunk they load (statically or lazily) hold nothing of the server half:
// no source from src/server/ or the Node test helpers, no import of node builtins, pg, PGlite or selfsigned.
console.log('\n$ check that the page entries hold no server code')
const SERVER_SOURCE = /(^|\/)src\/(server\/|testing\/(partnerApi|certificates|server)\.ts)/
const SERVER_IMPORT = /^(node:|pg$|pg\/|@electric-sql\/pglite|selfsigned$)/
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g
const leaks = []
for (const entry of ['index.js', 'testing.js']) {
  const seen = new Set()
  const visit = (file) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = readFileSync(join('dist', file), 'utf8')
    for (const [, specifier] of code.matchAll(IMPORT)) {
      if (specifier.startsWith('.')) visit(posix.join(posix.dirname(file), specifier))
      else if (SERVER_IMPORT.test(specifier)) leaks.push(`${entry} → ${file} imports ${specifier}`)
    }
    // A barrel of re-exports has no code and no map; every module it names is visited above.
    const map = join('dist', `${file}.map`)
    if (existsSync(map))
      for (const source of JSON.parse(readFileSync(map, 'utf8')).sources)
        if (SERVER_SOURCE.test(source)) leaks.push(`${entry} → ${file} contains ${source}`)
  }
  visit(entry)
  console.log(`${entry}: ${seen.size} file(s) checked`)
}
if (leaks.length > 0) {
  console.error(`server code reached a page entry:\n${leaks.join('\n')}`)
  process.exit(1)
}
console.log('the page entries hold no server code')

// `@opentelemetry/api` is an optional peer: only `vue-toss-iap/server/otel` may load it (lazily).
// The page entries and `vue-toss-iap/server`, with every module they reach, never name it.
console.log('\n$ check that only the otel entry loads @opentelemetry/api')
const otelLeaks = []
for (const entry of ['index.js', 'testing.js', 'server.js', 'testing-server.js', 'vite.js']) {
  const seen = new Set()
  const visit = (file) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const [, specifier] of readFileSync(join('dist', file), 'utf8').matchAll(IMPORT)) {
      if (specifier.startsWith('.')) visit(posix.join(posix.dirname(file), specifier))
      else if (specifier.startsWith('@opentelemetry/')) otelLeaks.push(`${entry} → ${file} imports ${specifier}`)
    }
  }
  visit(entry)
}
const otelEntry = readFileSync(join('dist', 'server-otel.js'), 'utf8')
if (/^\s*import\b[^(]*["']@opentelemetry\//m.test(otelEntry)) otelLeaks.push('server-otel.js imports @opentelemetry/api at its top level')
if (otelLeaks.length > 0) {
  console.error(`@opentelemetry/api is loaded where it must not be:\n${otelLeaks.join('\n')}`)
  process.exit(1)
}
console.log('@opentelemetry/api is loaded only, and lazily, by server-otel.js')
run('npx', ['--no-install', 'publint', '--strict'])
// ESM only: node10 and require() from CommonJS are out of scope on purpose.
run('npx', ['--no-install', 'attw', '--pack', '.', '--profile', 'esm-only'])
run('node', ['scripts/check-size.mjs'])
console.log('\npackage check passed')
