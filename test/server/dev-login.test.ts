import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_PRODUCTS } from '../../src/testing/catalogue.ts'
import { simulatedAuthorizationCode } from '../../src/testing/loginCode.ts'
import type { SimOrder } from '../../src/testing/types.ts'
import { MIRROR_PATH, serverHalfEndpoints } from '../../src/vite/serverHalf.ts'
import { pgliteVersion } from '../pglite-template.ts'
import { openPGlite } from './pglite.ts'

// `vite dev`'s server half (vue-toss-iap/vite) serves Toss login next to fulfilment: the simulated
// host's appLogin() code, exchanged with the fake Toss, opens a session that grants and reads
// entitlements as that user; a request without a session stays the dev user, as before login existed.

const cacheDir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-dev-login-'))
let half: ReturnType<typeof serverHalfEndpoints>
beforeAll(async () => {
  // The dev server's empty database, from the run's template instead of an initdb.
  const template = await openPGlite()
  const dump = Buffer.from(await (await template.db.dumpDataDir('gzip')).arrayBuffer())
  await template.close()
  mkdirSync(join(cacheDir, 'vue-toss-iap'))
  writeFileSync(join(cacheDir, 'vue-toss-iap', `empty-ledger-pglite-${pgliteVersion()}.tar.gz`), dump)
  half = serverHalfEndpoints(DEFAULT_PRODUCTS, () => cacheDir)
})
afterAll(async () => {
  await half?.close()
  rmSync(cacheDir, { recursive: true, force: true })
})

const call = async (path: string, init: RequestInit & { token?: string } = {}) => {
  const { token, ...rest } = init
  const headers = new Headers(rest.headers)
  if (token) headers.set('Authorization', `Bearer ${token}`)
  if (rest.body) headers.set('Content-Type', 'application/json')
  const response = await half.endpoints[path]!(new Request(`http://localhost:5173${path}`, { ...rest, headers }))
  return { status: response.status, body: (await response.json().catch(() => null)) as any }
}
const post = (path: string, body: unknown, token?: string) =>
  call(path, { method: 'POST', body: JSON.stringify(body), ...(token && { token }) })

describe("vite dev's Toss login", () => {
  it(
    'logs in with the simulated host’s code, grants and answers entitlements as that user, and logs out',
    { timeout: 60_000 },
    async () => {
      const order: SimOrder = {
        orderId: 'dev-login-1',
        sku: 'remove-ads',
        kind: 'one-time',
        paid: true,
        paidAt: new Date().toISOString(),
        grantAnswers: [],
        completed: false,
        completedAt: null,
        refunded: false,
        refundedAt: null,
      }
      expect((await post(MIRROR_PATH, { orders: [order] })).status).toBe(204)
      const authorizationCode = simulatedAuthorizationCode({ userKey: 'sim-user', referrer: 'DEFAULT', issuedAt: Date.now() })
      const login = await post('/api/auth/login', { authorizationCode, referrer: 'DEFAULT' })
      expect(login).toMatchObject({ status: 200, body: { user: { userId: 'sim-user' } } })
      expect((await post('/api/auth/login', { authorizationCode, referrer: 'DEFAULT' })).status).toBe(401) // a code works once
      const token = login.body.token as string

      expect(await post('/api/iap/fulfill', { orderId: order.orderId, sku: order.sku, kind: 'one-time' }, token)).toMatchObject({
        status: 200,
        body: { granted: true, orderId: order.orderId },
      })
      const mine = await call('/api/iap/entitlements', { token })
      expect(mine.body.entitlements).toEqual([expect.objectContaining({ sku: 'remove-ads', isActive: true, orderId: order.orderId })])
      expect((await call('/api/iap/entitlements')).body.entitlements).toEqual([]) // no session: the dev user, who owns nothing
      expect((await call('/api/iap/entitlements', { token: `vti_${'C'.repeat(43)}` })).status).toBe(401)

      // A consumable credits the balance on its grant; a spend takes it once per key.
      const gems: SimOrder = { ...order, orderId: 'dev-login-gems', sku: 'gem-100' }
      await post(MIRROR_PATH, { orders: [order, gems] })
      expect((await post('/api/iap/fulfill', { orderId: gems.orderId, sku: 'gem-100', kind: 'one-time' }, token)).status).toBe(200)
      expect((await call('/api/balance', { token })).body).toEqual({ balances: { gems: 100 } })
      const spend = () =>
        call('/api/balance/spend', {
          method: 'POST',
          token,
          body: JSON.stringify({ currency: 'gems', amount: 10, reason: 'a hint' }),
          headers: { 'Idempotency-Key': 'dev-spend-1' },
        })
      expect((await spend()).status).toBe(200)
      expect((await spend()).body).toMatchObject({ repeat: true })
      expect((await call('/api/balance', { token })).body).toEqual({ balances: { gems: 90 } })

      expect(await post('/api/auth/logout', {}, token)).toMatchObject({ status: 200, body: { loggedOut: true } })
      expect((await call('/api/iap/entitlements', { token })).status).toBe(401)
      expect((await post('/api/auth/unlink', { userKey: 'sim-user' })).status).toBe(401) // Toss's credential only
      expect(
        (await call('/api/auth/unlink', { method: 'POST', body: '{"userKey":"sim-user"}', headers: { Authorization: 'Basic dev-unlink' } }))
          .status,
      ).toBe(200)
    },
  )
})
