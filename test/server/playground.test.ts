// The playground's dev-server half without a browser: the page's mirrored simulator ledger, the
// fake Toss partner API and the fulfilment handler on PGlite, as `npm run dev` wires them.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { fulfilmentHandler } from '../../playground/server/fulfilment.ts'
import type { SimOrder } from '../../src/testing/types.ts'

let server: Server
let base: string
let close: () => Promise<void>
const dataDir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-playground-'))

beforeAll(async () => {
  cpSync(inject('pgliteTemplate'), join(dataDir, 'ledger'), { recursive: true })
  const handler = fulfilmentHandler(dataDir)
  close = handler.close
  server = createServer((req, res) => handler.middleware(req, res, () => ((res.statusCode = 404), res.end())))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.close()
  await close()
  rmSync(dataDir, { recursive: true, force: true })
})

const simOrder = (orderId: string, patch: Partial<SimOrder> = {}): SimOrder => ({
  orderId,
  sku: 'remove-ads',
  kind: 'one-time',
  paid: true,
  paidAt: new Date().toISOString(),
  grantAnswers: [],
  completed: false,
  completedAt: null,
  refunded: false,
  refundedAt: null,
  ...patch,
})
const post = (path: string, body: unknown) =>
  fetch(new URL(path, base), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
const ledger = async () => (await (await fetch(new URL('/api/iap/ledger', base))).json()) as any

describe('the playground server', () => {
  it('verifies a mirrored order with the fake Toss, grants it once, and answers a repeat from the ledger', async () => {
    await post('/api/toss/orders', { orders: [simOrder('sim-a-1')] })
    const first = await post('/api/iap/fulfill', { orderId: 'sim-a-1', sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
    expect(await first.json()).toMatchObject({ granted: true, repeat: false })
    const again = await post('/api/iap/fulfill', { orderId: 'sim-a-1', sku: '', kind: 'one-time', source: 'recovery' })
    expect(await again.json()).toMatchObject({ granted: true, repeat: true })
    const view = await ledger()
    expect(view.grants['sim-a-1']).toMatchObject({ sku: 'remove-ads', tossStatus: 'PAYMENT_COMPLETED', requests: 2, source: 'purchase' })
    expect(view.toss.requests).toBe(1)
  })

  it('grants nothing for an order the simulated Toss never took payment for', async () => {
    await post('/api/toss/orders', { orders: [simOrder('sim-a-2', { paid: false })] })
    const response = await post('/api/iap/fulfill', { orderId: 'sim-a-2', sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ error: { code: 'ORDER_IN_PROGRESS' } })
    expect((await ledger()).grants['sim-a-2']).toBeUndefined()
  })

  it('answers the entitlements endpoint from the same ledger', async () => {
    const response = await fetch(new URL('/api/iap/entitlements', base))
    expect(await response.json()).toEqual({ entitlements: [{ sku: 'remove-ads', isActive: true, orderId: 'sim-a-1', subscription: null }] })
  })
})
