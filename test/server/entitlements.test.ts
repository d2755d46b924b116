import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entitlementsViaEndpoint } from '../../src/core/entitlementsViaEndpoint.ts'
import { IapError } from '../../src/core/errors.ts'
import { createEntitlementsHandler, createGrantLedger, toNodeListener, type GrantLedger } from '../../src/server/index.ts'
import { openPGlite } from './pglite.ts'

const APP = 'https://mini-app.example'
let ledger: GrantLedger
let close: () => Promise<void>
let server: Server
let url: string

beforeAll(async () => {
  const pgl = await openPGlite()
  close = pgl.close
  ledger = await createGrantLedger(pgl.db)
  const handler = createEntitlementsHandler({
    ledger,
    authenticate: (request) => (request.headers.get('Authorization') === 'Bearer alice' ? { userId: 'alice', userKey: 'tk-alice' } : null),
    products: {
      'remove-ads': 'NON_CONSUMABLE',
      'dark-theme': 'NON_CONSUMABLE',
      'premium-monthly': 'SUBSCRIPTION',
      'gem-100': 'CONSUMABLE',
    },
    cors: { origins: [APP] },
  })
  server = createServer(toNodeListener(handler))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/iap/entitlements`
  const grant = (orderId: string, sku: string, kind: 'one-time' | 'subscription' = 'one-time', userId = 'alice') =>
    ledger.grant({ orderId, userId, sku, kind, tossStatus: 'PAYMENT_COMPLETED' })
  await grant('o-ads', 'remove-ads')
  await grant('o-gems', 'gem-100')
  await grant('o-theme', 'dark-theme')
  await grant('o-unknown', 'not-in-catalogue')
  await grant('o-sub-old', 'premium-monthly', 'subscription')
  await grant('o-bob', 'remove-ads', 'one-time', 'bob')
  // What the refund reconciliation and the subscription webhook (#10) will write.
  await ledger.transaction(async (tx) => {
    await tx.query(`UPDATE toss_iap_grants SET state = 'refunded', refunded_at = now() WHERE order_id = 'o-theme'`)
    await tx.query(`UPDATE toss_iap_grants SET granted_at = now() - interval '40 days' WHERE order_id = 'o-sub-old'`)
  })
  await grant('o-sub-new', 'premium-monthly', 'subscription')
  await ledger.transaction((tx) =>
    tx.query(
      `UPDATE toss_iap_grants SET subscription_status = 'IN_GRACE_PERIOD', subscription_expires_at = now() + interval '3 days', access_active = true WHERE order_id = 'o-sub-new'`,
    ),
  )
})
afterAll(async () => {
  server.close()
  await close()
})

describe('the entitlements endpoint and entitlementsViaEndpoint', () => {
  it('answers non-consumables granted and not refunded, and subscriptions as last known', async () => {
    const source = entitlementsViaEndpoint(url, { headers: async () => ({ Authorization: 'Bearer alice' }) })
    const list = await source()
    expect(list.sort((a, b) => a.sku.localeCompare(b.sku))).toEqual([
      { sku: 'dark-theme', isActive: false, orderId: 'o-theme', subscription: null },
      {
        sku: 'premium-monthly',
        isActive: true,
        orderId: 'o-sub-new',
        subscription: expect.objectContaining({ status: 'IN_GRACE_PERIOD', isAccessible: true, expiresAt: expect.any(String) }),
      },
      { sku: 'remove-ads', isActive: true, orderId: 'o-ads', subscription: null },
    ])
  })

  it('reflects access taken back at once', async () => {
    await ledger.transaction((tx) =>
      tx.query(`UPDATE toss_iap_grants SET access_active = false, subscription_status = 'REVOKED' WHERE order_id = 'o-sub-new'`),
    )
    const list = await entitlementsViaEndpoint(url, { headers: { Authorization: 'Bearer alice' } })()
    expect(list.find((e) => e.sku === 'premium-monthly')).toMatchObject({
      isActive: false,
      subscription: { status: 'REVOKED', isAccessible: false },
    })
  })

  it('throws an IapError without a session, so the page keeps what it had', async () => {
    const error = await entitlementsViaEndpoint(url)().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IapError)
    expect((error as IapError).message).toMatch(/401/)
  })

  it('answers CORS preflight for the mini-app only, and GET only', async () => {
    const ok = await fetch(url, { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'GET' } })
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP)
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET, OPTIONS')
    const evil = await fetch(url, { headers: { Origin: 'https://evil.example', Authorization: 'Bearer alice' } })
    expect(evil.status).toBe(403)
    expect(evil.headers.get('access-control-allow-origin')).toBeNull()
    const post = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer alice' } })
    expect(post.status).toBe(405)
    expect(await post.json()).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } })
  })
})

describe('revalidation: ETag and 304', () => {
  const get = (user: string, headers: Record<string, string> = {}) =>
    fetch(url, { headers: { Authorization: `Bearer ${user}`, Origin: APP, ...headers } })

  it('answers 304 with no body to the ETag it gave, private and revalidated every time, CORS headers kept', async () => {
    const first = await get('alice')
    expect(first.status).toBe(200)
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^W\/"[\w-]{20,}"$/)
    expect(first.headers.get('cache-control')).toBe('private, no-cache')
    const body = await first.text()
    for (const ifNoneMatch of [etag, etag.slice(2), `"other", ${etag}`, '*']) {
      const again = await get('alice', { 'If-None-Match': ifNoneMatch })
      expect(again.status).toBe(304)
      expect(await again.text()).toBe('')
      expect(again.headers.get('etag')).toBe(etag)
      expect(again.headers.get('cache-control')).toBe('private, no-cache')
      expect(again.headers.get('access-control-allow-origin')).toBe(APP)
    }
    const other = await get('alice', { 'If-None-Match': 'W/"something-else"' })
    expect(other.status).toBe(200)
    expect(await other.text()).toBe(body)
  })

  it('gives a new ETag when the ledger changes, and a full answer to the old one', async () => {
    const before = await get('alice')
    const etag = before.headers.get('etag')!
    await ledger.grant({ orderId: 'o-etag', userId: 'alice', sku: 'dark-theme', kind: 'one-time', tossStatus: 'PAYMENT_COMPLETED' })
    const after = await get('alice', { 'If-None-Match': etag })
    expect(after.status).toBe(200)
    expect(after.headers.get('etag')).not.toBe(etag)
    expect((await after.json()).entitlements).toContainEqual({ sku: 'dark-theme', isActive: true, orderId: 'o-etag', subscription: null })
    expect((await get('alice', { 'If-None-Match': after.headers.get('etag')! })).status).toBe(304)
  })

  it('never matches across users, even when both own nothing', async () => {
    const perUser = createEntitlementsHandler({
      ledger,
      authenticate: (request) => {
        const userId = request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? ''
        return userId ? { userId, userKey: `tk-${userId}` } : null
      },
      products: { 'remove-ads': 'NON_CONSUMABLE' },
    })
    const ask = (user: string, ifNoneMatch?: string) =>
      perUser(
        new Request('https://api.example/iap/entitlements', {
          headers: { Authorization: `Bearer ${user}`, ...(ifNoneMatch && { 'If-None-Match': ifNoneMatch }) },
        }),
      )
    const carol = await ask('carol')
    const dave = await ask('dave')
    expect(await carol.text()).toBe(await dave.text()) // both {"entitlements":[]}
    expect(carol.headers.get('etag')).not.toBe(dave.headers.get('etag'))
    expect((await ask('dave', carol.headers.get('etag')!)).status).toBe(200)
    expect((await ask('carol', carol.headers.get('etag')!)).status).toBe(304)
  })

  it('keeps errors out of any cache', async () => {
    const anonymous = await fetch(url, { headers: { 'If-None-Match': '*' } })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('cache-control')).toBe('no-store')
    expect(anonymous.headers.get('etag')).toBeNull()
  })
})
