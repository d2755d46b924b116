// The subscription webhook: stored before the 2xx, deduplicated, ordered, applied once its order is known.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rmSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEntitlementsHandler,
  createGrantLedger,
  createSubscriptionWebhookHandler,
  parseSubscriptionEvent,
  toNodeListener,
  type GrantLedger,
  type PgPoolLike,
  type PGliteLike,
  type SubscriptionChange,
  type SubscriptionWebhookHandler,
} from '../../src/server/index.ts'
import {
  koreanTime,
  registrationVerification,
  sendTossWebhook,
  subscriptionLifecycle,
  subscriptionStatusChanged,
  type FakeSubscriptionEvent,
} from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const SECRET = 'dG9zczp3ZWJob29rLXNlY3JldA=='

/** A small seeded generator (mulberry32), so a failing order can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

type Open = () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>

function suite(name: string, open: Open) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let close: () => Promise<void>
    let ledger: GrantLedger
    let handler: SubscriptionWebhookHandler
    let server: Server
    let url: string
    const changes: SubscriptionChange[] = []
    let failListener = false

    const count = async (sql: string, params: unknown[] = []) => (await db.query<{ n: number }>(sql, params)).rows[0]!.n
    const events = (orderId?: string) =>
      count(`SELECT count(*)::int AS n FROM toss_iap_subscription_events ${orderId ? 'WHERE order_id = $1' : ''}`, orderId ? [orderId] : [])
    const grant = (orderId: string, userId = 'alice') =>
      ledger.grant({
        orderId,
        userId,
        sku: 'premium-monthly',
        kind: 'subscription',
        tossStatus: 'PAYMENT_COMPLETED',
        userKey: `tk-${userId}`,
      })
    const send = (event: unknown, credential: string | null = SECRET, scheme?: 'Basic' | 'Bearer') =>
      sendTossWebhook(url, event, { credential, ...(scheme && { scheme }) })
    /** The app's own table, written by onSubscriptionChange through tx. */
    const access = async (orderId: string) =>
      (await db.query<{ status: string; active: boolean | null }>('SELECT status, active FROM app_access WHERE order_id = $1', [orderId]))
        .rows[0] ?? null
    /** What a replay must agree on: the subscription columns of the row. */
    const state = async (orderId: string) => {
      const r = (await ledger.find(orderId))!
      return {
        status: r.subscriptionStatus,
        expiresAt: r.subscriptionExpiresAt?.toISOString() ?? null,
        access: r.accessActive,
        autoRenew: r.subscriptionAutoRenew,
        reason: r.subscriptionChangeReason,
        at: r.subscriptionEventAt?.toISOString() ?? null,
        lost: r.subscriptionEventLost,
        state: r.state,
      }
    }

    const makeHandler = () =>
      createSubscriptionWebhookHandler({
        ledger,
        credential: `Basic ${SECRET}`,
        onError: () => {},
        onSubscriptionChange: async (change, tx) => {
          if (failListener) throw new Error('app database down')
          changes.push(change)
          await tx.query(
            `INSERT INTO app_access (order_id, status, active) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, active = EXCLUDED.active`,
            [change.orderId, change.record.subscriptionStatus, change.record.accessActive],
          )
        },
      })

    beforeAll(async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
      await db.query('CREATE TABLE app_access (order_id text PRIMARY KEY, status text NOT NULL, active boolean)')
      handler = makeHandler()
      await handler.ready
      server = createServer(toNodeListener((request) => handler(request)))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/toss/subscriptions`
    })
    afterAll(async () => {
      await new Promise((r) => server?.close(r))
      await close?.()
    })

    it('migrates to schema version 2', () => {
      expect(ledger.schemaVersion).toBe(4)
    })

    it('answers the registration check with 204, and stores nothing', async () => {
      expect(await send(registrationVerification())).toEqual({ status: 204, body: null })
      expect(await events()).toBe(0)
    })

    it('refuses a wrong or missing credential with 401, and stores nothing', async () => {
      await grant('o-auth')
      const before = await state('o-auth')
      const event = subscriptionLifecycle('o-auth')[0]!
      for (const [credential, scheme] of [
        ['wrong', 'Basic'],
        [SECRET.slice(0, -1), 'Basic'],
        [`${SECRET}x`, 'Basic'],
        ['', 'Basic'],
        [null, 'Basic'],
        [SECRET, 'Token' as never],
      ] as const) {
        const answer = await send(event, credential, scheme)
        expect(answer.status).toBe(401)
        expect(answer.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', retryable: false } })
        expect(JSON.stringify(answer.body)).not.toContain(SECRET)
      }
      expect(await events()).toBe(0)
      expect(await state('o-auth')).toEqual(before)
      expect(await access('o-auth')).toBeNull()
      // The Bearer form of the same value is accepted.
      expect(await send(event, SECRET, 'Bearer')).toMatchObject({ status: 200, body: { received: true, duplicate: false } })
      expect((await state('o-auth')).status).toBe('ACTIVE')
    })

    it('answers bad JSON or a bad shape with a 400 JSON error, and stores nothing', async () => {
      const stored = await events()
      const good = subscriptionLifecycle('o-bad')[1]!
      const bad: Array<[unknown, string]> = [
        ['{not json', 'INVALID_JSON'],
        [[], 'INVALID_EVENT'],
        [{ occurredAt: good.occurredAt }, 'INVALID_EVENT'],
        [{ ...good, orderId: '' }, 'INVALID_EVENT'],
        [{ ...good, occurredAt: 'yesterday' }, 'INVALID_EVENT'],
        [{ ...good, subscription: {} }, 'INVALID_EVENT'],
        [{ ...good, subscription: { current: { status: 'ACTIVE', accessGranted: 'yes' } } }, 'INVALID_EVENT'],
        [{ ...good, subscription: { current: { ...good.subscription.current, expiresAt: 'soon' } } }, 'INVALID_EVENT'],
      ]
      for (const [body, code] of bad) {
        const answer = await send(body)
        expect(answer.status, JSON.stringify(body)).toBe(400)
        expect(answer.body).toMatchObject({ error: { code } })
      }
      expect(await events()).toBe(stored)
    })

    it('ignores another event type with 202, and reads occurredAt with a zone as given', async () => {
      const stored = await events()
      expect(await send({ eventType: 'subscription.something_else', occurredAt: '2026-08-11T03:00:00' })).toMatchObject({
        status: 202,
        body: { received: true, ignored: 'subscription.something_else' },
      })
      expect(await events()).toBe(stored)
      const parsed = parseSubscriptionEvent({ ...subscriptionLifecycle('o-z')[0], occurredAt: '2026-08-11T03:00:00Z' })
      const korean = parseSubscriptionEvent({ ...subscriptionLifecycle('o-z')[0], occurredAt: '2026-08-11T03:00:00' })
      if (!parsed.ok || parsed.kind !== 'status_changed' || !korean.ok || korean.kind !== 'status_changed') throw new Error('not parsed')
      expect(parsed.event.occurredAt.toISOString()).toBe('2026-08-11T03:00:00.000Z')
      expect(korean.event.occurredAt.toISOString()).toBe('2026-08-10T18:00:00.000Z')
      expect(parsed.event.key).not.toBe(korean.event.key)
    })

    it('replays the same events three times in random orders, with duplicates, to the same final state', async () => {
      const finals = []
      for (const seed of [1, 2, 3]) {
        const orderId = `o-replay-${seed}`
        await grant(orderId)
        const next = random(seed * 7919)
        const lifecycle = subscriptionLifecycle(orderId)
        // Every event once, a third of them twice more, in a seeded random order.
        const sent = shuffle([...lifecycle, ...lifecycle.filter(() => next() < 0.34), ...lifecycle.filter(() => next() < 0.34)], next)
        const answers = await Promise.all(sent.map((e) => send(e)))
        expect(answers.every((a) => a.status === 200)).toBe(true)
        expect(answers.filter((a) => (a.body as { duplicate: boolean }).duplicate)).toHaveLength(sent.length - lifecycle.length)
        expect(await events(orderId)).toBe(lifecycle.length)
        const { orderId: _, ...final } = { orderId, ...(await state(orderId)) }
        finals.push(final)
        // The app's table followed the ledger in the same transactions.
        expect(await access(orderId)).toEqual({ status: 'REVOKED', active: false })
      }
      const last = subscriptionLifecycle('x').at(-1)!
      expect(finals[0]).toEqual({
        status: 'REVOKED',
        expiresAt: new Date(`${last.subscription.current.expiresAt}+09:00`).toISOString(),
        access: false,
        autoRenew: false,
        reason: 'REVOKED',
        at: new Date(`${last.occurredAt}+09:00`).toISOString(),
        lost: false,
        state: 'granted',
      })
      expect(finals[1]).toEqual(finals[0])
      expect(finals[2]).toEqual(finals[0])
    })

    it('never lets an older event overwrite a newer state; reads occurredAt as Korean time', async () => {
      const orderId = 'o-order'
      await grant(orderId)
      const [created, renewed, grace] = subscriptionLifecycle(orderId)
      await send(grace)
      await send(created)
      await send(renewed)
      const s = await state(orderId)
      expect(s).toMatchObject({ status: 'IN_GRACE_PERIOD', access: true, reason: 'PAYMENT_FAILED' })
      // 2026-08-01T00:00 + 60 days in Korea is 2026-09-29T15:00Z.
      expect(s.at).toBe(new Date(Date.UTC(2026, 7, 1) + 60 * 86_400_000).toISOString())
      // Nine hours apart in the string, one instant: the later wall-clock time in Seoul is the newer event.
      const at = new Date('2026-10-01T00:00:00Z')
      await send(subscriptionStatusChanged({ orderId, at, changeReason: 'EXPIRED', current: { status: 'EXPIRED', accessGranted: false } }))
      await send({
        ...subscriptionStatusChanged({ orderId, at, changeReason: 'RENEWED', current: { status: 'ACTIVE', accessGranted: true } }),
        occurredAt: '2026-10-01T08:59:59', // = 2026-09-30T23:59:59Z: older
      })
      expect(await state(orderId)).toMatchObject({ status: 'EXPIRED', access: false })
    })

    it('keeps unknown status and changeReason values, and flags a lost event until it arrives', async () => {
      const orderId = 'o-lost'
      await grant(orderId)
      const lifecycle = subscriptionLifecycle(orderId)
      const unknown = lifecycle.findIndex((e) => e.subscription.current.status === 'FROZEN_BY_TOSS')
      for (const e of lifecycle.slice(0, unknown + 1).filter((_, i) => i !== 3)) await send(e) // ON_HOLD never arrives
      expect(await state(orderId)).toMatchObject({ status: 'FROZEN_BY_TOSS', reason: 'SOMETHING_NEW', access: false, lost: true })
      expect(changes.filter((c) => c.orderId === orderId && c.lostEvent).map((c) => c.changeReason)).toEqual(['RECOVERED'])
      await send(lifecycle[3])
      expect(await state(orderId)).toMatchObject({ status: 'FROZEN_BY_TOSS', lost: false })
    })

    it('keeps an event for an order the ledger does not know, and applies it in the grant’s transaction', async () => {
      const orderId = 'o-early'
      const [created, renewed] = subscriptionLifecycle(orderId)
      expect(await send(renewed)).toMatchObject({ status: 200 })
      expect(await send(created)).toMatchObject({ status: 200 })
      expect(await ledger.subscriptionEvents.pending(orderId)).toBe(2)
      expect(await handler.applyPending()).toEqual({ applied: 0, failed: 0 }) // still no order
      const { record, created: isNew } = await grant(orderId)
      expect(isNew).toBe(true)
      expect(record).toMatchObject({ subscriptionStatus: 'ACTIVE', subscriptionChangeReason: 'RENEWED', accessActive: true })
      expect(await ledger.subscriptionEvents.pending(orderId)).toBe(0)
      expect(await access(orderId)).toEqual({ status: 'ACTIVE', active: true })
    })

    it('a listener that throws leaves the event stored and pending, answered 2xx, and a grant still succeeds', async () => {
      const orderId = 'o-listener'
      await grant(orderId)
      failListener = true
      try {
        expect(await send(subscriptionLifecycle(orderId)[0])).toMatchObject({ status: 200, body: { received: true } })
        expect(await ledger.subscriptionEvents.pending(orderId)).toBe(1)
        expect((await state(orderId)).status).toBeNull()
        expect(await access(orderId)).toBeNull()
        // An event waiting for its order, with a broken listener: the grant commits, the event waits.
        await send(subscriptionLifecycle('o-listener-early')[0])
        expect((await grant('o-listener-early')).created).toBe(true)
        expect(await ledger.subscriptionEvents.pending('o-listener-early')).toBe(1)
      } finally {
        failListener = false
      }
      // A restart (a new handler on the same ledger) applies what is pending.
      handler = makeHandler()
      await handler.ready
      expect(await ledger.subscriptionEvents.pending()).toBe(0)
      expect((await state(orderId)).status).toBe('ACTIVE')
      expect(await access(orderId)).toEqual({ status: 'ACTIVE', active: true })
      expect(await access('o-listener-early')).toEqual({ status: 'ACTIVE', active: true })
      expect(await handler.applyPending()).toEqual({ applied: 0, failed: 0 })
    })

    it('the entitlements handler reflects a change at once', async () => {
      const orderId = 'o-ent'
      await grant(orderId, 'carol')
      const entitlements = createEntitlementsHandler({
        ledger,
        authenticate: () => ({ userId: 'carol', userKey: 'tk-carol' }),
        products: { 'premium-monthly': 'SUBSCRIPTION' },
      })
      const read = async () => ((await (await entitlements(new Request('http://x/e'))).json()) as { entitlements: any[] }).entitlements[0]
      const future = new Date(Date.now() + 30 * 86_400_000)
      await send(
        subscriptionStatusChanged({
          orderId,
          at: new Date(Date.now() - 60_000),
          changeReason: 'PURCHASED',
          current: { status: 'ACTIVE', accessGranted: true, expiresAt: koreanTime(future), autoRenew: true },
        }),
      )
      expect(await read()).toMatchObject({ isActive: true, subscription: { status: 'ACTIVE', isAccessible: true, isAutoRenew: true } })
      await send(
        subscriptionStatusChanged({
          orderId,
          at: new Date(),
          changeReason: 'REVOKED',
          current: { status: 'REVOKED', accessGranted: false, expiresAt: koreanTime(future), autoRenew: false },
          previous: { status: 'ACTIVE', accessGranted: true, expiresAt: koreanTime(future), autoRenew: true },
        }),
      )
      expect(await read()).toMatchObject({ isActive: false, subscription: { status: 'REVOKED', isAccessible: false } })
    })
  })
}

suite('PGlite', openPGlite)

if (PG_URL) suite('PostgreSQL', () => openPgSchema('webhooks'))

describe('a restart between storing and applying', () => {
  it('applies the stored event when the handler is created again on the reopened database', async () => {
    const first = await openPGlite()
    const ledger = await createGrantLedger(first.db)
    await ledger.grant({ orderId: 'o-killed', userId: 'dave', sku: 'premium-monthly', kind: 'subscription', tossStatus: 'PURCHASED' })
    // What the handler does before it answers, without the apply that a killed process never reached.
    const parsed = parseSubscriptionEvent(subscriptionLifecycle('o-killed')[0] satisfies FakeSubscriptionEvent)
    if (!parsed.ok || parsed.kind !== 'status_changed') throw new Error('fixture')
    expect(await ledger.subscriptionEvents.store(parsed.event)).toBe(true)
    await first.db.close()

    const db = new PGlite(first.dir)
    try {
      const reopened = await createGrantLedger(db)
      expect(await reopened.subscriptionEvents.pending()).toBe(1)
      const seen: string[] = []
      const handler = createSubscriptionWebhookHandler({
        ledger: reopened,
        credential: ['Basic old-value', SECRET],
        onSubscriptionChange: (change) => void seen.push(change.current.status),
      })
      await handler.ready
      expect(seen).toEqual(['ACTIVE'])
      expect(await reopened.find('o-killed')).toMatchObject({ subscriptionStatus: 'ACTIVE', accessActive: true })
      expect(await reopened.subscriptionEvents.pending()).toBe(0)
      // Either credential while the console's value is being changed.
      const post = (auth: string) =>
        handler(
          new Request('http://x/w', { method: 'POST', headers: { Authorization: auth }, body: JSON.stringify(registrationVerification()) }),
        )
      expect((await post('Basic old-value')).status).toBe(204)
      expect((await post(`Bearer ${SECRET}`)).status).toBe(204)
      expect((await post('Basic older-value')).status).toBe(401)
    } finally {
      await db.close()
      rmSync(first.dir, { recursive: true, force: true })
    }
  })
})
