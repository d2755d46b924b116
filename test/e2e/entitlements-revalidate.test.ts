import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium, type Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createEntitlementsHandler, createGrantLedger, toNodeListener, type GrantLedger } from '../../src/server/index.ts'
import { openPGlite } from '../server/pglite.ts'

// The page's entitlementsViaEndpoint, unchanged, against the server's ETag in the system Chromium:
// the browser's own HTTP cache revalidates, and the page still gets the whole list each time.
let browser: Browser
let ledger: GrantLedger
let close: () => Promise<void>
let api: Server
let site: Server
let apiUrl = ''
let siteUrl = ''
const seen: Array<{ status: number; ifNoneMatch: string | null }> = []

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  const pgl = await openPGlite()
  close = pgl.close
  ledger = await createGrantLedger(pgl.db)
  await ledger.grant({ orderId: 'o-1', userId: 'alice', sku: 'remove-ads', kind: 'one-time', tossStatus: 'PAYMENT_COMPLETED' })
  const script = await build({
    entryPoints: [fileURLToPath(new URL('../../src/core/entitlementsViaEndpoint.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    write: false,
  })
  site = createServer((req, res) => {
    if (req.url === '/source.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' })
      return res.end(script.outputFiles[0]!.text)
    }
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end(
      '<!doctype html><title>mini-app</title><script type="module">' +
        "import { entitlementsViaEndpoint } from '/source.js';" +
        "window.readEntitlements = (url) => entitlementsViaEndpoint(url, { headers: { Authorization: 'Bearer alice' } })()" +
        '</script>',
    )
  })
  siteUrl = await listen(site)
  const handler = toNodeListener(
    createEntitlementsHandler({
      ledger,
      authenticate: (request) => (request.headers.get('Authorization') === 'Bearer alice' ? { userId: 'alice', userKey: 'tk' } : null),
      products: { 'remove-ads': 'NON_CONSUMABLE', 'dark-theme': 'NON_CONSUMABLE' },
      cors: { origins: [siteUrl] },
    }),
  )
  api = createServer((req, res) => {
    const ifNoneMatch = req.headers['if-none-match'] ?? null
    if (req.method === 'GET') res.on('finish', () => seen.push({ status: res.statusCode, ifNoneMatch }))
    handler(req, res)
  })
  apiUrl = await listen(api)
  browser = await chromium.connect(inject('chromiumEndpoint')) // the run's Chromium (e2e.setup.ts)
})
afterAll(async () => {
  await browser?.close()
  api?.close()
  site?.close()
  await close?.()
})

describe('entitlements in the browser', () => {
  it('revalidates with the ETag (304, no body), hands the page the full list, and sees a change at once', async () => {
    const page = await browser.newPage()
    await page.goto(siteUrl)
    await page.waitForFunction(() => 'readEntitlements' in window)
    type Read = (url: string) => Promise<Array<{ sku: string; isActive: boolean }>>
    const read = () =>
      page.evaluate((url) => (window as unknown as { readEntitlements: Read }).readEntitlements(url), `${apiUrl}/iap/entitlements`)

    const first = await read()
    expect(first).toEqual([{ sku: 'remove-ads', isActive: true, orderId: 'o-1', subscription: null }])
    expect(await read()).toEqual(first)
    expect(await read()).toEqual(first)
    expect(seen.map((s) => s.status)).toEqual([200, 304, 304])
    expect(seen[0]!.ifNoneMatch).toBeNull()
    expect(seen[1]!.ifNoneMatch).toMatch(/^W\/"/)

    await ledger.grant({ orderId: 'o-2', userId: 'alice', sku: 'dark-theme', kind: 'one-time', tossStatus: 'PAYMENT_COMPLETED' })
    const after = await read()
    expect(after.map((e) => e.sku).sort()).toEqual(['dark-theme', 'remove-ads'])
    expect(seen.at(-1)).toMatchObject({ status: 200, ifNoneMatch: seen[1]!.ifNoneMatch })
    await page.close()
  })
})
