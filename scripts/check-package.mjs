// The package check: what users install must resolve and type-check for them.
// Builds, lints the packed package with publint and @arethetypeswrong/cli, and checks the size budget.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`)
  execFileSync(cmd, args, { stdio: 'inherit' })
}

run('npm', ['run', '--silent', 'build'])

// Nothing from node_modules may be bundled into dist: every dependency and peer stays external.
console.log('\n$ check that dist bundles no dependency')
const bundled = readdirSync('dist')
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
run('npx', ['--no-install', 'publint', '--strict'])
// ESM only: node10 and require() from CommonJS are out of scope on purpose.
run('npx', ['--no-install', 'attw', '--pack', '.', '--profile', 'esm-only'])
run('node', ['scripts/check-size.mjs'])
console.log('\npackage check passed')
