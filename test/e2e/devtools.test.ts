import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Frame, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { viteCacheDir } from '../vite-cache'

// The real Vue DevTools (vite-plugin-vue-devtools serves its UI inside the playground's page in
// `vite dev`), opened in Chromium as a developer would: Alt+Shift+D, then its Pinia tab, the
// "Toss IAP" inspector and that inspector's timeline.

let server: ViteDevServer
let browser: Browser
let page: Page
const dataDir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-devtools-'))

beforeAll(async () => {
  process.env.PLAYGROUND_DATA_DIR = dataDir
  // The playground's ledger, as a copy of the empty template instead of an initdb in the dev server.
  cpSync(inject('pgliteTemplate'), join(dataDir, 'ledger'), { recursive: true })
  // As `npm run dev` runs it. Vitest sets NODE_ENV=test, which Vite would bake into the page, and
  // Pinia leaves its DevTools panel out under test. This file runs in a process of its own, and its
  // own dependency cache keeps the pre-bundled (development) deps apart from the other e2e file's.
  process.env.NODE_ENV = 'development'
  server = await createServer({
    configFile: 'playground/vite.config.ts',
    cacheDir: viteCacheDir('e2e-devtools'),
    server: { port: 0, host: '127.0.0.1' },
    logLevel: 'error',
  })
  await server.listen()
  browser = await chromium.connect(inject('chromiumEndpoint')) // the run's Chromium (e2e.setup.ts)
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(server.resolvedUrls!.local[0]!)
  await page.locator('[data-testid=ready][data-ready=true]').waitFor()
  await page.locator('input[type=number]').fill('0')
})
const nodeEnv = process.env.NODE_ENV
afterAll(async () => {
  process.env.NODE_ENV = nodeEnv
  await browser?.close()
  await server?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function openDevtools(): Promise<Frame> {
  await page.keyboard.press('Alt+Shift+D') // the DevTools' own shortcut
  await expect.poll(() => page.frames().some((f) => f.url().includes('/__devtools__/'))).toBe(true)
  const frame = page.frames().find((f) => f.url().includes('/__devtools__/'))!
  await frame.locator('a[href="/custom-inspector-tab-view/toss-iap"]').waitFor()
  return frame
}
const orderIds = () =>
  page.evaluate(() => [...document.querySelectorAll('[data-testid^="order-"]')].map((e) => e.getAttribute('data-testid')!.slice(6)))
const text = (frame: Frame) => frame.locator('body').innerText()
/** Expands a tree node by its label (the DevTools trees open on their triangle). */
const expand = (frame: Frame, label: string | RegExp) =>
  frame.locator('div.group', { hasText: label }).locator('i[class*="triangle-right"]').first().click()

describe('the real Vue DevTools', () => {
  it('shows a purchase once on the "Toss IAP" timeline, the order in the "Toss IAP" inspector and in the toss-iap Pinia store', async () => {
    const buy = async () => {
      const before = await orderIds()
      await page.getByTestId('product-gem-100').getByTestId('buy').click()
      await expect.poll(async () => (await orderIds()).length).toBe(before.length + 1)
      await expect.poll(() => page.getByTestId('product-gem-100').getByTestId('status').getAttribute('data-status')).toBe('completed')
      return (await orderIds()).find((id) => !before.includes(id))!
    }
    const first = await buy()
    const devtools = await openDevtools()

    // Pinia's panel: the toss-iap store, with the order under `orders`.
    await devtools.locator('a[href="/pinia"]').click()
    await devtools.getByText('toss-iap', { exact: true }).first().click()
    await expect.poll(() => text(devtools)).toMatch(/orders\n:\n/)
    await devtools
      .locator('div.font-state-field', { has: devtools.locator('span', { hasText: /^orders$/ }) })
      .first()
      .click()
    await expect.poll(() => text(devtools)).toContain(first)

    // The "Toss IAP" inspector: the order and its fields.
    await devtools.locator('a[href="/custom-inspector-tab-view/toss-iap"]').click()
    await expect.poll(() => text(devtools)).toContain('Orders (1)')
    await expand(devtools, 'Orders (1)')
    await devtools.getByText(first, { exact: true }).click()
    await expect.poll(() => text(devtools)).toMatch(/status\n:\ncompleted/)
    expect(await text(devtools)).toMatch(/sku\n:\ngem-100/)

    // Its timeline records once the developer presses record (the DevTools' rule), then shows the next purchase.
    await devtools.getByText('Timeline', { exact: true }).click()
    await devtools.locator('.recording-btn').click()
    const second = await buy()
    // The list re-renders while events arrive: wait for the whole purchase, from start to completion.
    await expect
      .poll(() => text(devtools))
      .toMatch(
        new RegExp(`createOneTimePurchaseOrder\\nstart gem-100[\\s\\S]*completeProductGrant\\nsuccess ${second}[\\s\\S]*order completed`),
      )
    // Each transition once, although the DevTools ran the plugin's setup again when it connected.
    const count = async (title: string) => (await text(devtools)).split(`${title}\n${second}`).length - 1
    await expect.poll(() => count('order completed')).toBe(1)
    expect(await count('order granting')).toBe(1)
    expect(await count('order granted')).toBe(1)
  })
})
