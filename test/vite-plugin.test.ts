// @vitest-environment node
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, createLogger, createServer, type Rolldown } from 'vite'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { devFulfilment } from '../src/vite'
import { devPeers } from '../src/vite/serverHalf'
import { tinyAppConfig } from './fixtures/vite-app/config'
import { viteCacheDir } from './vite-cache'

// vue-toss-iap/vite: the simulated host in `vite dev`, nothing of it in `vite build`.

describe('vue-toss-iap/vite', () => {
  it('vite dev puts the host into the page before the app; vite build of the same app contains none of it', async () => {
    const server = await createServer({ ...tinyAppConfig(), cacheDir: viteCacheDir('unit-tiny-app'), server: { middlewareMode: true } })
    const html = await server.transformIndexHtml(
      '/index.html',
      '<html><head></head><body><script type="module" src="/main.ts"></script></body></html>',
    )
    await server.close()
    expect(html.indexOf('virtual:vue-toss-iap/dev-host')).toBeGreaterThan(-1)
    expect(html.indexOf('virtual:vue-toss-iap/dev-host')).toBeLessThan(html.indexOf('/main.ts'))

    const saved = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    const result = (await build({ ...tinyAppConfig(), build: { write: false } }).finally(
      () => (process.env.NODE_ENV = saved),
    )) as Rolldown.RolldownOutput
    const shipped = result.output.map((o) => (o.type === 'chunk' ? o.code : String(o.source))).join('\n')
    expect(shipped).toContain('/api/iap/fulfill') // the app is there
    expect(shipped).not.toMatch(
      /dev-host|installDevHost|Toss host \(simulated\)|토스 호스트|installTossSimulator needs a window|__GRANITE_NATIVE_EMITTER = /,
    )
  }, 60_000)

  it('the default endpoints grant once per orderId and list the grants as entitlements', async () => {
    const endpoints = devFulfilment()
    const post = (body: unknown) =>
      endpoints['/api/iap/fulfill']!(new Request('http://x/api/iap/fulfill', { method: 'POST', body: JSON.stringify(body) }))
    expect((await post({ orderId: 'o1', sku: 'remove-ads' })).status).toBe(200)
    expect(await (await post({ orderId: 'o1', sku: 'remove-ads' })).json()).toEqual({ ok: true, granted: true })
    expect((await post({ sku: 'remove-ads' })).status).toBe(400)
    const owned = await (await endpoints['/api/iap/entitlements']!(new Request('http://x/api/iap/entitlements'))).json()
    expect(owned).toEqual([{ sku: 'remove-ads', isActive: true, orderId: 'o1' }])
  })
})

/** Builds in memory as `vite build` does (NODE_ENV production), and answers the bundle's code. */
async function buildCode(config: Parameters<typeof build>[0]): Promise<string> {
  const saved = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  const result = (await build({ ...config, logLevel: 'silent', build: { write: false } }).finally(
    () => (process.env.NODE_ENV = saved),
  )) as Rolldown.RolldownOutput
  return result.output.map((o) => (o.type === 'chunk' ? o.code : String(o.source))).join('\n')
}

// The README's vite.config.ts: tossIapDev with your own fulfilment imported lazily, and an app
// that reads VITE_API_URL.
const envApp = fileURLToPath(new URL('./fixtures/vite-env-app/', import.meta.url))

describe('vite build of an app that reads VITE_API_URL', () => {
  const dirs: string[] = []
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))
  /** A folder with `.env.production` holding `line` (none when undefined), as the build's envDir. */
  function envDir(line?: string) {
    const dir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-env-'))
    dirs.push(dir)
    if (line !== undefined) writeFileSync(join(dir, '.env.production'), `${line}\n`)
    return dir
  }
  const buildApp = (line?: string) => buildCode({ configFile: join(envApp, 'vite.config.ts'), envDir: envDir(line) })

  it('fails without it, saying what to set and where', async () => {
    await expect(buildApp()).rejects.toThrow(
      /VITE_API_URL 값이 비어 있어요[\s\S]*"undefined\/api\/iap\/fulfill"[\s\S]*\.env\.production에 앱 서버의 https 주소를 적으세요: VITE_API_URL=https:\/\/api\.example\.com/,
    )
  }, 60_000)

  it.each([
    ['relative', 'VITE_API_URL=/api', /"\/api"예요[\s\S]*상대 URL/],
    ['http:', 'VITE_API_URL=http://api.example.com', /"http:\/\/api\.example\.com"예요[\s\S]*http: 주소/],
  ])(
    'fails with a %s URL',
    async (_what, line, message) => {
      await expect(buildApp(line)).rejects.toThrow(message)
    },
    60_000,
  )

  it('passes with an https URL in .env.production; the lazy server module is never evaluated and not in the bundle', async () => {
    const runs = globalThis.__vueTossIapLazyServerRuns
    const code = await buildApp('VITE_API_URL=https://api.example.com')
    expect(code).toContain('https://api.example.com')
    expect(code).toContain('/api/iap/fulfill')
    expect(code).not.toMatch(/lazy-server-module|__vueTossIapLazyServerRuns|answeredBy/)
    expect(globalThis.__vueTossIapLazyServerRuns).toBe(runs)
  }, 60_000)

  it('and `vite dev` serves the lazily imported handler', async () => {
    const runs = globalThis.__vueTossIapLazyServerRuns ?? 0
    const server = await createServer({
      configFile: join(envApp, 'vite.config.ts'),
      cacheDir: viteCacheDir('unit-env-app'),
      server: { port: 0, host: '127.0.0.1' },
    })
    try {
      await server.listen()
      const base = server.resolvedUrls!.local[0]!
      const answer = await fetch(new URL('/api/iap/fulfill', base), { method: 'POST', body: '{}' })
      expect(await answer.json()).toEqual({ ok: true, granted: true, answeredBy: 'lazy-server-module', method: 'POST' })
      expect(globalThis.__vueTossIapLazyServerRuns).toBe(runs + 1)
    } finally {
      await server.close()
    }
  }, 60_000)
})

describe('the dev server half when a package it needs is missing', () => {
  it('says so at startup with the exact command, answers JSON (never the overlay), and picks the package up without a restart', async () => {
    const saved = devPeers.selfsigned
    // What Node throws for a package that is not installed.
    devPeers.selfsigned = () =>
      Promise.reject(
        Object.assign(new Error("Cannot find package 'selfsigned' imported from /app/node_modules/vue-toss-iap/dist/x.js"), {
          code: 'ERR_MODULE_NOT_FOUND',
        }),
      )
    const lines: string[] = []
    const logger = createLogger('silent')
    logger.warn = (msg) => void lines.push(msg)
    logger.error = (msg) => void lines.push(msg)
    const server = await createServer({
      ...tinyAppConfig(),
      customLogger: logger,
      cacheDir: viteCacheDir('unit-tiny-app'),
      server: { port: 0, host: '127.0.0.1' },
    })
    const overlay = vi.spyOn(server.environments.client.hot, 'send')
    try {
      await server.listen()
      const base = server.resolvedUrls!.local[0]!
      await expect.poll(() => lines.join('\n')).toContain('설치하세요: npm install -D selfsigned')
      const post = () =>
        fetch(new URL('/api/iap/fulfill', base), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ orderId: 'o-1', sku: 'remove-ads', kind: 'one-time', source: 'purchase' }),
        })
      const refused = await post()
      expect(refused.status).toBe(503)
      expect(await refused.json()).toEqual({
        error: { code: 'DEV_PACKAGES_MISSING', message: expect.stringContaining('Run `npm install -D selfsigned`') },
      })
      expect(lines.filter((l) => l.includes('npm install -D selfsigned'))).toHaveLength(2) // startup, then the first refusal
      expect(overlay.mock.calls.filter(([payload]) => (payload as { type?: string })?.type === 'error')).toEqual([])

      devPeers.selfsigned = saved // as if `npm install -D selfsigned` ran: no restart
      const owned = await fetch(new URL('/api/iap/entitlements', base))
      expect(owned.status).toBe(200)
      expect(await owned.json()).toEqual({ entitlements: [] })
    } finally {
      devPeers.selfsigned = saved
      await server.close()
    }
  }, 90_000)
})
