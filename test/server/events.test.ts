// What operators watch: every handler, the partner client and reconcile() report each outcome as a
// typed ServerEvent, after the answer, with nothing secret or personal in it; a listener that
// throws, rejects or never finishes changes no answer and no transaction.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createEntitlementsHandler,
  createFulfilmentHandler,
  createGrantLedger,
  createSubscriptionWebhookHandler,
  createTossPartnerClient,
  reconcile,
  type GrantLedger,
  type PgPoolLike,
  type PGliteLike,
  type ServerEvent,
  type ServerEventListener,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, subscriptionStatusChanged, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const APP = 'https://mini-app.example'
const CREDENTIAL = 'ZXZlbnRzOndlYmhvb2stc2VjcmV0LXZhbHVl'
const sessions: Record<string, { userId: string; userKey: string }> = {
  'token-alice': { userId: 'alice-user-id', userKey: 'tk-alice-secret-key' },
  'token-bob': { userId: 'bob-user-id', userKey: 'tk-bob-secret-key' },
}
const authenticate = (request: Request) => sessions[request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? ''] ?? null

/** Lets the listeners' tasks (setImmediate) run. */
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)))

type Open = () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>

let api: FakeTossPartnerApi
beforeAll(async () => {
  api = await startFakeTossPartnerApi()
})
afterAll(async () => {
  await api?.close()
})

function suite(name: string, open: Open) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let close: () => Promise<void>
    let ledger: GrantLedger
    let toss: TossPartnerClient
    const events: ServerEvent[] = []
    const record: ServerEventListener = (event) => void events.push(event)
    let n = 0
    const order = (status: 'PAYMENT_COMPLETED' | 'FAILED' = 'PAYMENT_COMPLETED', userKey = 'tk-alice-secret-key') => {
      const orderId = `ev-${name.slice(0, 2)}-${++n}`
      api.setOrder({ orderId, sku: 'remove-ads', status, userKey })
      return orderId
    }
    const post = (fulfil: (r: Request) => Promise<Response>, body: string, token = 'token-alice') =>
      fulfil(
        new Request('https://api.example/iap/fulfil', {
          method: 'POST',
          headers: { Origin: APP, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body,
        }),
      )
    const of = (orderId: string) => events.filter((e) => 'orderId' in e && e.orderId === orderId)

    beforeAll(async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
      toss = createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 50 }, onEvent: record })
    })
    afterAll(async () => {
      toss?.close()
      await close?.()
    })

    it('fulfilment: granted, repeat and refused with its code; the partner client: attempts, a retry, the call', async () => {
      const fulfil = createFulfilmentHandler({ toss, ledger, authenticate, cors: { origins: [APP] }, onEvent: record, onError: () => {} })
      const paid = order()
      api.failNext({ http: 503 }, 1, paid)
      const body = JSON.stringify({ orderId: paid, sku: 'remove-ads' })
      expect((await post(fulfil, body)).status).toBe(200)
      // After the fact: nothing was reported before the answer was handed back.
      expect(of(paid).filter((e) => e.type.startsWith('fulfilment.'))).toEqual([])
      expect((await post(fulfil, body)).status).toBe(200)
      const failed = order('FAILED')
      expect((await post(fulfil, JSON.stringify({ orderId: failed }))).status).toBe(402)
      expect((await post(fulfil, JSON.stringify({ orderId: paid }), 'token-bob')).status).toBe(409)
      expect((await post(fulfil, '{')).status).toBe(400)
      await settle()

      expect(of(paid).map((e) => e.type)).toEqual([
        'toss.attempt',
        'toss.retry',
        'toss.attempt',
        'toss.call',
        'fulfilment.granted',
        'fulfilment.repeat',
        'fulfilment.refused',
      ])
      const [first, retry, second, call, granted, repeat, owned] = of(paid)
      expect(first).toMatchObject({ attempt: 1, httpStatus: 503, code: 'SERVER_ERROR', tossStatus: null })
      expect(retry).toMatchObject({ attempt: 1, code: 'SERVER_ERROR' })
      expect(second).toMatchObject({ attempt: 2, httpStatus: 200, code: null, tossStatus: 'PAYMENT_COMPLETED' })
      expect(call).toMatchObject({ attempts: 2, tossStatus: 'PAYMENT_COMPLETED', code: null })
      expect((call as { durationMs: number }).durationMs).toBeGreaterThan(0)
      expect(granted).toMatchObject({ sku: 'remove-ads', tossStatus: 'PAYMENT_COMPLETED' })
      expect(repeat).toMatchObject({ sku: 'remove-ads' })
      expect(owned).toMatchObject({ httpStatus: 409, code: 'ORDER_OWNED_BY_ANOTHER_USER', retryable: false })
      expect(of(failed).at(-1)).toMatchObject({ type: 'fulfilment.refused', httpStatus: 402, code: 'PAYMENT_FAILED' })
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'fulfilment.refused', orderId: null, httpStatus: 400, code: 'INVALID_JSON' }),
      )
    })

    it('entitlements: read with counts, refused with its code', async () => {
      const entitlements = createEntitlementsHandler({
        ledger,
        authenticate,
        products: { 'remove-ads': 'NON_CONSUMABLE' },
        onEvent: record,
      })
      const read = (token?: string) =>
        entitlements(new Request('https://api.example/iap/entitlements', { headers: token ? { Authorization: `Bearer ${token}` } : {} }))
      expect((await read('token-alice')).status).toBe(200)
      expect((await read()).status).toBe(401)
      await settle()
      const mine = events.filter((e) => e.type.startsWith('entitlements.'))
      expect(mine).toEqual([
        { type: 'entitlements.read', entitlements: 1, active: 1, durationMs: expect.any(Number) },
        { type: 'entitlements.refused', httpStatus: 401, code: 'UNAUTHENTICATED', durationMs: expect.any(Number) },
      ])
    })

    it('webhook: verification, stored, applied, duplicate, lost, refused, ignored', async () => {
      const webhook = createSubscriptionWebhookHandler({ ledger, credential: CREDENTIAL, onEvent: record })
      await webhook.ready
      const orderId = order()
      await ledger.grant({ orderId, userId: 'alice-user-id', sku: 'premium', kind: 'subscription', tossStatus: 'PURCHASED' })
      const send = (body: unknown, credential = CREDENTIAL) =>
        webhook(
          new Request('https://api.example/toss/subscriptions', {
            method: 'POST',
            headers: { Authorization: `Basic ${credential}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          }),
        )
      const at = (day: number) => new Date(Date.UTC(2030, 7, day))
      const active = subscriptionStatusChanged({
        orderId,
        at: at(1),
        changeReason: 'PURCHASED',
        current: { status: 'ACTIVE', accessGranted: true },
      })
      // Its `previous` says ON_HOLD, but the event before said ACTIVE: one was lost.
      const expired = subscriptionStatusChanged({
        orderId,
        at: at(9),
        changeReason: 'EXPIRED',
        previous: { status: 'ON_HOLD', accessGranted: false },
        current: { status: 'EXPIRED', accessGranted: false },
      })
      expect((await send({ eventType: 'callback.registration_verification', occurredAt: '2030-08-01T00:00:00' })).status).toBe(204)
      expect((await send(active)).status).toBe(200)
      expect((await send(active)).status).toBe(200)
      expect((await send(expired)).status).toBe(200)
      expect((await send(active, 'wrong')).status).toBe(401)
      expect((await send({ eventType: 'something.else' })).status).toBe(202)
      await settle()
      const mine = events.filter((e) => e.type.startsWith('webhook.'))
      expect(mine).toEqual([
        { type: 'webhook.verification' },
        { type: 'webhook.stored', orderId, status: 'ACTIVE', changeReason: 'PURCHASED' },
        { type: 'webhook.applied', orderId, status: 'ACTIVE', accessActive: true, lostEvent: false },
        { type: 'webhook.duplicate', orderId },
        { type: 'webhook.stored', orderId, status: 'EXPIRED', changeReason: 'EXPIRED' },
        { type: 'webhook.applied', orderId, status: 'EXPIRED', accessActive: false, lostEvent: true },
        { type: 'webhook.lost', orderId },
        { type: 'webhook.refused', httpStatus: 401, code: 'UNAUTHENTICATED' },
        { type: 'webhook.ignored', eventType: 'something.else' },
      ])
    })

    it('webhook: an apply that fails is reported, and applyPending() reports what it applied later', async () => {
      let broken = true
      const webhook = createSubscriptionWebhookHandler({
        ledger,
        credential: CREDENTIAL,
        onEvent: record,
        onError: () => {},
        onSubscriptionChange: () => {
          if (broken) throw new Error('product service down')
        },
      })
      await webhook.ready
      const orderId = order()
      await ledger.grant({ orderId, userId: 'alice-user-id', sku: 'premium', kind: 'subscription', tossStatus: 'PURCHASED' })
      const event = subscriptionStatusChanged({
        orderId,
        at: new Date(),
        changeReason: 'RENEWED',
        current: { status: 'ACTIVE', accessGranted: true },
      })
      const response = await webhook(
        new Request('https://api.example/toss/subscriptions', {
          method: 'POST',
          headers: { Authorization: `Basic ${CREDENTIAL}` },
          body: JSON.stringify(event),
        }),
      )
      expect(response.status).toBe(200)
      broken = false
      expect(await webhook.applyPending()).toEqual({ applied: 1, failed: 0 })
      await settle()
      expect(of(orderId).filter((e) => e.type.startsWith('webhook.'))).toEqual([
        { type: 'webhook.stored', orderId, status: 'ACTIVE', changeReason: 'RENEWED' },
        { type: 'webhook.failed', orderId, stage: 'apply' },
      ])
      expect(events.at(-1)).toEqual({ type: 'webhook.pending-applied', applied: 1, failed: 0 })
    })

    it('the partner client reports a move to the next certificate pair', async () => {
      const certs = api.certificates
      const rotating = createTossPartnerClient({
        credentials: [certs.wrongClient, certs.client],
        ca: certs.ca.cert,
        baseUrl: api.url,
        onEvent: record,
      })
      try {
        const orderId = order()
        expect((await rotating.getOrderStatus(orderId, { userKey: 'tk-alice-secret-key' })).status).toBe('PAYMENT_COMPLETED')
      } finally {
        rotating.close()
      }
      await settle()
      expect(events.filter((e) => e.type === 'toss.rotate')).toEqual([{ type: 'toss.rotate', from: 0, to: 1 }])
    })

    it('reconcile: checked, revoked, rate-limited, and the run summary', async () => {
      const refunded = order()
      const kept = order()
      for (const orderId of [refunded, kept])
        await ledger.grant({
          orderId,
          userId: 'alice-user-id',
          sku: 'remove-ads',
          kind: 'one-time',
          tossStatus: 'PURCHASED',
          userKey: 'tk-alice-secret-key',
        })
      api.refund(refunded)
      api.failNext({ http: 429, retryAfter: 0 }, 1, kept)
      const client = createTossPartnerClient({ ...api.clientOptions(), retry: false, onEvent: record })
      const clock = { now: () => Date.now(), sleep: () => Promise.resolve() }
      try {
        const summary = await reconcile({ ledger, toss: client, clock, name: `events-${name}`, onEvent: record })
        expect(summary.refunded).toContain(refunded)
      } finally {
        client.close()
      }
      await settle()
      const mine = events.filter((e) => e.type.startsWith('reconcile.'))
      expect(mine).toContainEqual({ type: 'reconcile.checked', orderId: refunded, tossStatus: 'REFUNDED' })
      expect(mine).toContainEqual({ type: 'reconcile.revoked', orderId: refunded })
      expect(mine).toContainEqual({ type: 'reconcile.rate-limited', orderId: kept, attempt: 1, waitMs: 0 })
      expect(mine).toContainEqual({ type: 'reconcile.checked', orderId: kept, tossStatus: 'PAYMENT_COMPLETED' })
      expect(mine.at(-1)).toMatchObject({ type: 'reconcile.finished', finished: true, refunded: 1, rateLimited: 1 })
    })

    it('no event holds a certificate, key, credential, token, Toss user key or user id', async () => {
      expect(events.length).toBeGreaterThan(20)
      const text = JSON.stringify(events)
      const certs = api.certificates
      for (const secret of [
        'tk-alice-secret-key',
        'tk-bob-secret-key',
        'alice-user-id',
        'bob-user-id',
        'token-alice',
        CREDENTIAL,
        'BEGIN',
        certs.client.key.split('\n')[1]!,
        certs.client.cert.split('\n')[1]!,
      ])
        expect(text).not.toContain(secret)
    })

    it('a listener that throws, rejects or never finishes changes no answer and no grant, and is reported once', async () => {
      const report = vi.spyOn(console, 'error').mockImplementation(() => {})
      try {
        const throwing: ServerEventListener = () => {
          throw new Error('listener bug')
        }
        const rejecting: ServerEventListener = () => Promise.reject(new Error('exporter down'))
        const never: ServerEventListener = () => new Promise<void>(() => {})
        for (const listener of [throwing, rejecting, never]) {
          const fulfil = createFulfilmentHandler({ toss, ledger, authenticate, onEvent: listener })
          const paid = order()
          const body = JSON.stringify({ orderId: paid, sku: 'remove-ads' })
          const first = await post(fulfil, body)
          expect(await first.json()).toEqual({ granted: true, orderId: paid, sku: 'remove-ads', repeat: false })
          const again = await post(fulfil, body)
          expect(await again.json()).toEqual({ granted: true, orderId: paid, sku: 'remove-ads', repeat: true })
          await settle()
          expect(await ledger.find(paid)).toMatchObject({ orderId: paid, state: 'granted', userId: 'alice-user-id' })
        }
        const lines = report.mock.calls.map((c) => String(c[0]))
        expect(lines.filter((l) => l.includes('listener bug'))).toHaveLength(1)
        expect(lines.filter((l) => l.includes('exporter down'))).toHaveLength(1)
        expect(lines.filter((l) => !l.includes('onEvent listener failed'))).toEqual([])
      } finally {
        report.mockRestore()
      }
    })
  })
}

suite('on PGlite', async () => {
  const pgl = await openPGlite()
  return { db: pgl.db, close: pgl.close }
})

describe.skipIf(!PG_URL)('PostgreSQL', () => {
  suite('on PostgreSQL', () => openPgSchema('events'))
})
