import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, chromiumPath } from '../chromium'

// The playground as a user runs it (`npm run dev`): Vite's dev server with the fulfilment
// endpoint, the simulated Toss host in the page, in the system Chromium at a phone's size.

let server: ViteDevServer
let browser: Browser
let context: BrowserContext
let page: Page
let base = ''
const dataDir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-e2e-'))

beforeAll(async () => {
  process.env.PLAYGROUND_DATA_DIR = dataDir
  server = await createServer({ configFile: 'playground/vite.config.ts', server: { port: 0, host: '127.0.0.1' }, logLevel: 'error' })
  await server.listen()
  base = server.resolvedUrls!.local[0]!
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS })
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

beforeEach(async () => {
  await fetch(new URL('/api/iap/reset', base), { method: 'POST' })
  context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true })
  page = await context.newPage()
  await open()
})
afterEach(() => context?.close())

async function open(query = '') {
  await page.goto(new URL(`/${query}`, base).href)
  await page.getByTestId('ready').filter({ hasText: 'ready' }).waitFor()
  // Fast host answers for the tests; the playground's default latency is for people watching.
  await page.locator('input[type=number]').fill('0')
}

const product = (sku: string) => page.getByTestId(`product-${sku}`)
const statusOf = (sku: string) => product(sku).getByTestId('status')
const serverLedger = async () =>
  (await (await fetch(new URL('/api/iap/ledger', base))).json()) as {
    grants: Record<string, { sku: string; requests: number; source: string }>
    failing: boolean
  }
const tossLedger = () =>
  page.evaluate(() =>
    (window as any).__sim.orders.map((o: any) => ({ orderId: o.orderId, sku: o.sku, completed: o.completed, refunded: o.refunded })),
  )
async function queue(script: string) {
  await page.getByTestId('script').selectOption(script)
  await page.getByTestId('queue').click()
}

describe('the playground', () => {
  it('a purchase ends completed with one server grant', async () => {
    await product('gem-100').getByTestId('buy').click()
    await expect.poll(() => statusOf('gem-100').getAttribute('data-status')).toBe('completed')
    const grants = Object.values((await serverLedger()).grants)
    expect(grants).toEqual([expect.objectContaining({ sku: 'gem-100', requests: 1, source: 'purchase' })])
    expect(await tossLedger()).toEqual([expect.objectContaining({ sku: 'gem-100', completed: true })])
    await page.waitForTimeout(600) // let the ledgers panel poll once
    // The README's picture: `UPDATE_SCREENSHOTS=1 npx vitest run --project e2e` refreshes it.
    const shot = process.env.UPDATE_SCREENSHOTS ? 'docs/playground.png' : join(dataDir, 'playground.png')
    await page.screenshot({ path: shot, fullPage: true })
    expect(statSync(shot).size).toBeGreaterThan(10_000)
  })

  it('a cancel ends canceled with no grant', async () => {
    await queue('cancel')
    await product('gem-100').getByTestId('buy').click()
    await expect.poll(() => statusOf('gem-100').getAttribute('data-status')).toBe('canceled')
    await expect.poll(() => product('gem-100').getByTestId('error').textContent()).toContain('Nothing was charged')
    expect((await serverLedger()).grants).toEqual({})
  })

  it('a failed grant ends pending, and after a reload recovery grants it exactly once', async () => {
    await page.getByTestId('server-failing').check()
    await product('gem-100').getByTestId('buy').click()
    await expect.poll(() => statusOf('gem-100').getAttribute('data-status')).toBe('pending')
    expect((await serverLedger()).grants).toEqual({})
    await page.getByTestId('server-failing').uncheck()
    await expect.poll(async () => (await serverLedger()).failing).toBe(false)
    await page.reload()
    await page.getByTestId('ready').filter({ hasText: 'ready' }).waitFor()
    await expect.poll(async () => (await tossLedger()).every((o: any) => o.completed)).toBe(true)
    const grants = Object.values((await serverLedger()).grants)
    expect(grants).toEqual([expect.objectContaining({ sku: 'gem-100', requests: 1, source: 'recovery' })])
    await expect.poll(() => page.getByTestId('log').textContent()).toContain('recovered gem-100')
  })

  it('"close the app after paying", then the reload, recovers the order with one grant', async () => {
    await queue('close-after-pay')
    const reloaded = page.waitForEvent('load')
    await product('remove-ads').getByTestId('buy').click()
    await reloaded
    await page.getByTestId('ready').filter({ hasText: 'ready' }).waitFor()
    await expect.poll(async () => (await tossLedger()).map((o: any) => o.completed)).toEqual([true])
    expect(Object.values((await serverLedger()).grants)).toEqual([
      expect.objectContaining({ sku: 'remove-ads', requests: 1, source: 'recovery' }),
    ])
    await expect.poll(() => page.getByTestId('entitlement-remove-ads').getAttribute('data-active')).toBe('true')
  })

  it('a refund removes the entitlement', async () => {
    await product('remove-ads').getByTestId('buy').click()
    await expect.poll(() => page.getByTestId('entitlement-remove-ads').getAttribute('data-active')).toBe('true')
    await page.getByTestId('history-refresh').click()
    await page.getByTestId('refund').first().click()
    await expect.poll(() => page.getByTestId('entitlement-remove-ads').getAttribute('data-active')).toBe('false')
    await expect.poll(() => page.getByTestId('log').textContent()).toContain('revoked remove-ads (refunded)')
  })

  it('a subscription purchase shows an active entitlement', async () => {
    await product('premium-monthly').getByTestId('buy').click()
    await expect.poll(() => statusOf('premium-monthly').getAttribute('data-status')).toBe('completed')
    await expect.poll(() => page.getByTestId('entitlement-premium-monthly').getAttribute('data-active')).toBe('true')
    await expect.poll(() => page.getByTestId('entitlement-premium-monthly').textContent()).toContain('ACTIVE')
  })

  it('renders product names as text, never as HTML', async () => {
    await open('?catalogue=hostile')
    await expect.poll(() => product('gem-100').getByTestId('name').textContent()).toBe('<img src=x onerror="window.__xss=1">Gems')
    expect(await product('gem-100').locator('img').count()).toBe(0)
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined()
  })

  it('fits a phone: nothing overflows the 390 px viewport', async () => {
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(width).toBeLessThanOrEqual(390)
  })
})
