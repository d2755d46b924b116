import { chromium, type Browser } from 'playwright'
import { createLogger, createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { devPeers } from '../../src/vite/serverHalf'
import { tinyAppConfig } from '../fixtures/vite-app/config'
import { viteCacheDir } from '../vite-cache'

// A user's own app with one line of vite.config (tossIapDev()), in `vite dev`, in Chromium.

let server: ViteDevServer
let browser: Browser
let base = ''

beforeAll(async () => {
  server = await createServer({
    ...tinyAppConfig({ latency: 0 }),
    cacheDir: viteCacheDir('e2e-tiny-app'),
    server: { port: 0, host: '127.0.0.1' },
  })
  await server.listen()
  base = server.resolvedUrls!.local[0]!
  // The server half starts on its first request, opening its in-memory PGlite (an initdb on the
  // first run, a dump load after) with the dev server's event loop held for seconds: on a loaded
  // machine, inside the first purchase, that outlasted the page's wait. Started here, while Chromium
  // starts, the purchase finds it running.
  const serverHalf = fetch(new URL('/api/iap/entitlements', base)).then((r) => r.json())
  browser = await chromium.connect(inject('chromiumEndpoint')) // the run's Chromium (e2e.setup.ts)
  expect(await serverHalf).toEqual({ entitlements: [] })
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe('vue-toss-iap/vite in vite dev', () => {
  it('an app that knows nothing of a simulator buys, and the server half grants the order after Toss confirms it', async () => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(m.text()))
    await page.goto(base)
    await page.getByRole('button', { name: 'buy' }).click()
    await expect.poll(() => page.locator('output').textContent()).toBe('completed')
    // vue-toss-iap/server granted it on PGlite after asking the fake Toss, which knows the host's orders.
    const body = (await (await fetch(new URL('/api/iap/entitlements', base))).json()) as {
      entitlements: Array<{ sku: string; isActive: boolean }>
    }
    expect(body.entitlements).toEqual([expect.objectContaining({ sku: 'remove-ads', isActive: true })])
    expect(await page.evaluate(() => window.__vueTossIapDevHost!.orders.map((o) => o.completed))).toEqual([true])
    // The small panel scripts the next purchase, in Korean by default.
    await expect.poll(() => page.locator('[data-vue-toss-iap-panel] summary').textContent()).toBe('토스 호스트 (시뮬레이터)')
    await page.locator('[data-vue-toss-iap-panel] summary').click()
    await page.locator('[data-vue-toss-iap-panel] select').selectOption('cancel')
    await page.locator('[data-vue-toss-iap-panel] button', { hasText: '다음 구매에 적용' }).click()
    await page.getByRole('button', { name: 'buy' }).click()
    await expect.poll(() => page.locator('output').textContent()).toBe('canceled')
    expect(problems).toEqual([])
    await page.close()
  })

  it('refuses to fake the host where a real Toss bridge is already in the page', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    // What the granite dev sandbox app's WebView provides before any page script runs.
    await page.addInitScript(() => {
      ;(window as any).ReactNativeWebView = { postMessage() {} }
    })
    await page.goto(base)
    await expect.poll(() => errors.join('\n')).toContain('refused to install its simulated Toss host')
    expect(await page.evaluate(() => window.__vueTossIapDevHost)).toBeUndefined()
    expect(await page.locator('[data-vue-toss-iap-panel]').count()).toBe(0)
    await page.close()
  })
})

describe('vue-toss-iap/vite in vite dev, with a package of the server half missing', () => {
  it('a paid order waits for recovery (no error overlay over the page); installed, the next start grants it without a restart', async () => {
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
    const dev = await createServer({
      ...tinyAppConfig({ latency: 0 }),
      customLogger: logger,
      cacheDir: viteCacheDir('e2e-tiny-app-missing'),
      server: { port: 0, host: '127.0.0.1' },
    })
    const page = await browser.newPage()
    try {
      await dev.listen()
      const url = dev.resolvedUrls!.local[0]!
      expect(lines.join('\n')).toContain('npm install -D selfsigned')
      await page.goto(url)
      await page.getByRole('button', { name: 'buy' }).click()
      // Toss took payment; the dev server could not grant: the order waits for recovery.
      await expect.poll(() => page.locator('output').textContent()).toBe('pending')
      expect(await page.locator('vite-error-overlay').count()).toBe(0)
      expect(await page.evaluate(() => window.__vueTossIapDevHost!.orders.map((o) => [o.paid, o.completed]))).toEqual([[true, false]])

      devPeers.selfsigned = saved // as if `npm install -D selfsigned` ran; vite dev keeps running
      await page.reload() // the app starts again: recovery grants the paid order
      await expect
        .poll(() => page.evaluate(() => window.__vueTossIapDevHost!.orders.map((o) => o.completed)), { timeout: 30_000 })
        .toEqual([true])
      const owned = (await (await fetch(new URL('/api/iap/entitlements', url))).json()) as { entitlements: Array<{ sku: string }> }
      expect(owned.entitlements.map((e) => e.sku)).toEqual(['remove-ads'])
    } finally {
      devPeers.selfsigned = saved
      await page.close()
      await dev.close()
    }
  }, 120_000)
})
