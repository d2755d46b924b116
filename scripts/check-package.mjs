// The package check: what users install must resolve and type-check for them.
// Builds, lints the packed package with publint and @arethetypeswrong/cli, and checks the size budget.
import { execFileSync } from 'node:child_process'

const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`)
  execFileSync(cmd, args, { stdio: 'inherit' })
}

run('npm', ['run', '--silent', 'build'])
run('npx', ['--no-install', 'publint', '--strict'])
// ESM only: node10 and require() from CommonJS are out of scope on purpose.
run('npx', ['--no-install', 'attw', '--pack', '.', '--profile', 'esm-only'])
run('node', ['scripts/check-size.mjs'])
console.log('\npackage check passed')
