// The newcomer's path, end to end (issue #20): a fresh `npm create vite` Vue + TS app in a temp
// folder, the packed package installed with README.ko.md's own install lines, README.ko.md's code
// blocks copied verbatim, then: a strict type-check, `vite dev` (first without the dev-only
// packages: the startup line names the command, the endpoint answers JSON, and installing them
// works without a restart), a purchase in Chromium at 390×844 granted by the dev server's
// endpoints, the README's test, and production builds without VITE_API_URL (must fail, saying what
// to set) and with it (must pass, with the lazy `endpoints` config whose server module would throw
// if a build evaluated it).
//
//   node scripts/fresh-app.mjs            (after `npm run build`; KEEP=1 keeps the folder)
//
// npm runs with --prefer-offline: packages come from the npm cache when it has them.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { CHROMIUM_ARGS } from './chromium-args.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const started = Date.now()
const work = mkdtempSync(join(tmpdir(), 'vue-toss-iap-fresh-'))
const app = join(work, 'app')
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund']
const steps = []

const elapsed = (from) => `${((Date.now() - from) / 1000).toFixed(1)} s`
function step(name) {
  const at = Date.now()
  console.log(`\n--- ${name}`)
  return (note = '') => {
    steps.push(`${name}: ${elapsed(at)}${note ? ` (${note})` : ''}`)
    console.log(`    done in ${elapsed(at)}${note ? `: ${note}` : ''}`)
  }
}
function fail(message) {
  throw new Error(message)
}

/** Runs a command; answers its output; throws with the output when it fails (unless `allowFail`). */
function run(command, args, { cwd = app, env = {}, allowFail = false, quiet = false } = {}) {
  console.log(`    $ ${[command, ...args].join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0 && !allowFail) return reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`))
      if (!quiet && code !== 0) console.log(output.slice(-2000))
      resolve({ code, output })
    })
  })
}

// --- README.ko.md, by section: each block with the line before it (a file name such as `.env.production`:).
function readmeSections(file) {
  const lines = readFileSync(file, 'utf8').split('\n')
  const sections = new Map()
  let current = ''
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.+)$/.exec(lines[i])
    if (heading) {
      current = heading[1].trim()
      sections.set(current, [])
      continue
    }
    const open = /^```(\w*)/.exec(lines[i])
    if (!open) continue
    const body = []
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i])
    let label = ''
    for (let j = i - body.length - 2; j >= 0 && !label; j--) {
      if (lines[j].trim() === '') continue
      label = /^`([^`]+)`:$/.exec(lines[j].trim())?.[1] ?? '-'
    }
    sections.get(current)?.push({ lang: open[1], label, code: `${body.join('\n')}\n` })
  }
  return sections
}

/** The blocks of a section, checked against the shape this script expects (so a README edit that changes it fails here, loudly). */
function blocksOf(sections, heading, shape) {
  const found = sections.get(heading) ?? fail(`README.ko.md has no section "## ${heading}"`)
  const langs = found.map((b) => b.lang).join(',')
  if (langs !== shape.map((s) => s.lang).join(','))
    fail(`README.ko.md "## ${heading}" changed shape: blocks ${langs || '(none)'}, expected ${shape.map((s) => s.lang).join(',')}`)
  shape.forEach((s, n) => {
    for (const needle of s.contains ?? [])
      if (!found[n].code.includes(needle)) fail(`README.ko.md "## ${heading}" block ${n + 1} no longer contains ${JSON.stringify(needle)}`)
    if (s.label && found[n].label !== s.label) fail(`README.ko.md "## ${heading}" block ${n + 1} is no longer labelled \`${s.label}\``)
  })
  return found
}

const portFree = (port) =>
  new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, () => srv.close(() => resolve(true)))
  })

/**
 * `vite dev` in the app, where `.env.development` says the app server is (the README's
 * `VITE_API_URL=http://localhost:5173`: the dev server itself); answers its URL, its output so far
 * (live) and a stop function.
 */
async function startVite(url) {
  const { port, hostname } = new URL(url)
  if (!(await portFree(Number(port))))
    fail(`port ${port} (VITE_API_URL of .env.development) is in use: the fresh app's vite dev must serve there`)
  console.log(`    $ npx vite --port ${port} --strictPort`)
  const child = spawn('npx', ['vite', '--port', String(port), '--strictPort'], {
    cwd: app,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const log = { text: '' }
  child.stdout.on('data', (d) => (log.text += d))
  child.stderr.on('data', (d) => (log.text += d))
  const base = `http://${hostname}:${port}`
  const until = Date.now() + 60_000
  while (!log.text.includes(`:${port}/`)) {
    if (child.exitCode !== null || Date.now() > until) fail(`vite dev did not start:\n${log.text}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    base,
    log,
    stop: () =>
      new Promise((resolve) => {
        child.once('close', resolve)
        process.kill(-child.pid, 'SIGTERM')
      }),
  }
}

const waitFor = async (what, check, ms = 30_000) => {
  const until = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > until) fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function main() {
  const sections = readmeSections(join(ROOT, 'README.ko.md'))
  const install = blocksOf(sections, '설치', [{ lang: 'sh', contains: ['npm install vue-toss-iap', 'npm install -D'] }])[0]
  const [mainTs, envDev, envProd] = blocksOf(sections, '설정 (`main.ts`)', [
    { lang: 'ts', contains: ['createTossIap', 'grantViaEndpoint', 'createTossLogin', 'VITE_API_URL'] },
    { lang: 'ini', label: '.env.development', contains: ['VITE_API_URL='] },
    { lang: 'ini', label: '.env.production', contains: ['VITE_API_URL=https://'] },
  ])
  const [productPage] = blocksOf(sections, '상품 페이지 하나', [{ lang: 'vue', contains: ['usePurchase', "usePurchase('remove-ads')"] }])
  const [serverTs] = blocksOf(sections, '앱 서버', [{ lang: 'ts', contains: ['export const fulfil', 'createFulfilmentHandler'] }])
  const [viteConfig, lazyViteConfig] = blocksOf(sections, '로컬에서 실행하기', [
    { lang: 'ts', contains: ['tossIapDev('] },
    { lang: 'ts', contains: ['endpoints:', "import('./server.js')"] },
  ])
  const [testInstall, buyButton, readmeTest] = blocksOf(sections, '앱 테스트하기: `vue-toss-iap/testing`', [
    { lang: 'sh', contains: ['npm install -D'] },
    { lang: 'vue', label: 'src/BuyButton.vue' },
    { lang: 'ts', label: 'src/BuyButton.test.ts', contains: ['installTossSimulator'] },
  ])
  const commands = (block) =>
    block.code
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean)
      .map((l) => l.split(/\s+/))

  let done = step('pack the package (npm pack of the built dist)')
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) fail('no dist: run `npm run build` first')
  const packed = JSON.parse(
    (await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, quiet: true })).output.replace(/^[^[]*/, ''),
  )
  const tarball = join(work, packed[0].filename)
  done(packed[0].filename)

  done = step('a fresh Vite app: npm create vite@latest (vue-ts)')
  await run('npm', ['create', '--yes', 'vite@latest', 'app', '--', '--template', 'vue-ts', '--no-interactive'], {
    cwd: work,
    env: { npm_config_prefer_offline: 'true' },
  })
  if (!existsSync(join(app, 'tsconfig.app.json'))) fail('npm create vite made no vue-ts app')
  done()

  done = step("install: npm install (the template's own)")
  await run('npm', ['install', ...NPM_FLAGS])
  done()

  // README.ko.md's install lines, the package name pointing at the packed tarball.
  const [mainInstall, devInstall] = commands(install)
  done = step(`install: ${mainInstall.join(' ')} (vue-toss-iap = the tarball)`)
  const [cmd, ...args] = mainInstall.map((a) => (a === 'vue-toss-iap' ? tarball : a))
  await run(cmd, [...args, ...NPM_FLAGS])
  done()

  // The app, verbatim: main.ts, the product page as App.vue, .env files, vite.config.ts.
  writeFileSync(join(app, 'src', 'main.ts'), mainTs.code)
  writeFileSync(join(app, 'src', 'App.vue'), productPage.code)
  writeFileSync(join(app, '.env.development'), envDev.code)
  writeFileSync(join(app, '.env.production'), envProd.code)
  writeFileSync(join(app, 'vite.config.ts'), viteConfig.code)

  done = step('strict type-check of the app as copied: vue-tsc -b (the template: strict, noUnusedLocals)')
  await run('npx', ['vue-tsc', '-b'])
  done()

  done = step('vite dev before the dev-only packages: the startup line names the command; the endpoint answers JSON')
  const vite = await startVite(envDev.code.match(/VITE_API_URL=(\S+)/)[1])
  const expected = devInstall.join(' ')
  try {
    await waitFor('the missing-package line', () => vite.log.text.includes(expected))
    const answer = await fetch(`${vite.base}/api/iap/fulfill`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ orderId: 'o-1', sku: 'gem-100', kind: 'one-time', source: 'purchase' }),
    })
    const body = await answer.json()
    if (answer.status !== 503 || body?.error?.code !== 'DEV_PACKAGES_MISSING')
      fail(`expected a 503 DEV_PACKAGES_MISSING, got ${answer.status} ${JSON.stringify(body)}`)
    done(
      `vite said: ${vite.log.text
        .split('\n')
        .find((l) => l.includes(expected))
        ?.trim()}`,
    )

    done = step(`install while vite dev runs: ${expected}`)
    await run(devInstall[0], [...devInstall.slice(1), ...NPM_FLAGS])
    const owned = await waitFor(
      'the entitlements endpoint',
      async () => {
        const r = await fetch(`${vite.base}/api/iap/entitlements`)
        return r.status === 200 && (await r.json())
      },
      60_000,
    )
    if (JSON.stringify(owned) !== '{"entitlements":[]}') fail(`entitlements answered ${JSON.stringify(owned)}`)
    done('the next request found them, no restart')

    done = step('a purchase in Chromium at 390×844, granted by the dev server')
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 })
      const problems = []
      page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`${m.type()}: ${m.text()}`))
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
      await page.goto(vite.base)
      await page.locator('li').first().waitFor({ timeout: 30_000 }) // the catalogue, from the simulated host
      await page.getByRole('button', { name: '광고 제거' }).click()
      await page.getByText('광고가 제거됐어요').waitFor({ timeout: 30_000 })
      await page.getByRole('button', { name: '보석 100개 구매' }).click()
      await waitFor('the gem order completed at Toss', () =>
        page.evaluate(() => window.__vueTossIapDevHost?.orders.filter((o) => o.completed).length === 2),
      )
      // The first purchase logged in first (Toss login through the simulated host and the dev server):
      // what the session's user owns, as the dev server answers it.
      const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vue-toss-iap:session') ?? 'null')?.token)
      if (typeof token !== 'string') fail('no Toss login session in the page after the purchase')
      const server = await (await fetch(`${vite.base}/api/iap/entitlements`, { headers: { Authorization: `Bearer ${token}` } })).json()
      if (!server.entitlements?.some((e) => e.sku === 'remove-ads' && e.isActive))
        fail(`the dev server did not grant remove-ads to the logged-in user: ${JSON.stringify(server)}`)
      if (await page.locator('vite-error-overlay').count()) fail("Vite's error overlay covers the page")
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      if (width > 390) fail(`the page overflows 390 px (${width})`)
      if (problems.length) fail(`the console was not clean:\n${problems.join('\n')}`)
      await page.screenshot({ path: join(work, 'purchase.png') })
      done(`orders completed at Toss: 2; the dev server's entitlements: ${JSON.stringify(server.entitlements.map((e) => e.sku))}`)
    } finally {
      await browser.close()
    }
  } catch (error) {
    error.message += `\n--- vite dev said:\n${vite.log.text.slice(-3000)}`
    throw error
  } finally {
    await vite.stop()
  }

  done = step("the README's test")
  const [testCmd, ...testArgs] = commands(testInstall)[0]
  await run(testCmd, [...testArgs, ...NPM_FLAGS])
  writeFileSync(join(app, 'src', 'BuyButton.vue'), buyButton.code)
  writeFileSync(join(app, 'src', 'BuyButton.test.ts'), readmeTest.code)
  const tested = await run('npx', ['vitest', 'run'], { env: { CI: 'true' } })
  if (!/1 passed/.test(tested.output)) fail(`vitest did not pass one test:\n${tested.output.slice(-2000)}`)
  done('1 passed')

  // The lazy `endpoints` config, with README's server code as server.ts: it reads certificate files
  // that do not exist here, so a build that evaluated it would fail.
  writeFileSync(join(app, 'vite.config.ts'), lazyViteConfig.code)
  writeFileSync(join(app, 'server.ts'), serverTs.code)

  done = step('strict type-check again, with the test, the lazy vite.config.ts and server.ts (nodenext)')
  await run('npx', ['vue-tsc', '-b'])
  done()

  done = step('vite build without .env.production: must fail, saying what to set')
  renameSync(join(app, '.env.production'), join(work, 'env.production'))
  const refused = await run('npx', ['vite', 'build'], { allowFail: true, quiet: true, env: { NO_COLOR: '1' } })
  renameSync(join(work, 'env.production'), join(app, '.env.production'))
  if (refused.code === 0) fail('vite build passed without VITE_API_URL')
  if (!/VITE_API_URL[\s\S]*\.env\.production[\s\S]*VITE_API_URL=https:\/\//.test(refused.output))
    fail(`vite build failed without naming the fix:\n${refused.output.slice(-2000)}`)
  done(
    refused.output
      .split('\n')
      .find((l) => l.includes('[vue-toss-iap]'))
      ?.trim(),
  )

  done = step('vite build with .env.production and the lazy endpoints config: must pass, server code neither run nor shipped')
  await run('npx', ['vite', 'build'])
  const assets = join(app, 'dist', 'assets')
  const js = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(assets, f), 'utf8'))
    .join('\n')
  const url = envProd.code.match(/VITE_API_URL=(\S+)/)[1]
  if (!js.includes(url)) fail(`the bundle does not post to ${url}`)
  for (const server of ['createTossPartnerClient', 'toss-cert.pem', 'createGrantLedger', 'installTossSimulator needs a window'])
    if (js.includes(server)) fail(`the bundle contains ${server}`)
  done(`the bundle posts to ${url}/api/iap/fulfill`)
}

try {
  await main()
  console.log(`\nfresh app: every step passed in ${elapsed(started)}\n  ${steps.join('\n  ')}`)
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true })
  else console.log(`kept: ${work}`)
} catch (error) {
  console.error(
    `\nfresh app FAILED after ${elapsed(started)}: ${error.message}\n  passed: ${steps.join('\n          ') || 'nothing'}\n  folder kept: ${work}`,
  )
  process.exitCode = 1
}
