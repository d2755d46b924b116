// Subscription state is a function of the stored events and the grant: every delivery order of a
// generated event history ends where the in-order replay (occurredAt, then event key) ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEntitlementsHandler,
  createGrantLedger,
  createSubscriptionWebhookHandler,
  parseSubscriptionEvent,
  type GrantLedger,
  type PgPoolLike,
  type PGliteLike,
  type SubscriptionChange,
  type SubscriptionWebhookHandler,
} from '../../src/server/index.ts'
import { koreanTime } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const SECRET = 'b3JkZXItaW5kZXBlbmRlbnQtc2VjcmV0'

/** mulberry32: a seeded generator, so a failing history and delivery order can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!
function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) return yield [...items]
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)]
    for (const p of permutations(rest)) yield [items[i]!, ...p]
  }
}

type Body = Record<string, unknown> & { subscription: { current: Record<string, unknown>; previous?: Record<string, unknown> } }
/** One delivery: the page's grant of the order, or a webhook body (the same body twice is a duplicate). */
type Item = 'grant' | Body

const KNOWN = ['ACTIVE', 'IN_GRACE_PERIOD', 'EXPIRED', 'ON_HOLD', 'PAUSED', 'REVOKED']
/** Unknown statuses as often as known ones: they are where access depends on the event before. */
const STATUSES = [...KNOWN, 'FROZEN_BY_TOSS', 'NEVER_SEEN', 'FROZEN_BY_TOSS', 'NEVER_SEEN', 'FROZEN_BY_TOSS', 'NEVER_SEEN']
const REASONS = ['PURCHASED', 'RENEWED', 'PAYMENT_FAILED', 'EXPIRED', 'REVOKED', 'SOMETHING_NEW']
const DAY = 86_400_000
const START = Date.parse('2030-08-01T00:00:00Z')

/**
 * A generated history of one subscription: `size` events on a few days (so equal times happen, some
 * written with a zone and some in Korean time), statuses and reasons this library does not know,
 * `accessGranted`, `expiresAt` and `autoRenew` sometimes missing, `previous` missing, chained to the
 * event before or wrong (a lost event). The deliveries add the grant and a duplicate or two.
 */
function generate(seed: number, size: number, maxDeliveries = Infinity): { orderId: string; events: Body[]; deliveries: Item[] } {
  const next = random(seed)
  const orderId = `o-history-${seed}`
  const snapshot = () => {
    const s: Record<string, unknown> = { status: pick(next, STATUSES) }
    const access = next()
    if (access < 0.3) s.accessGranted = true
    else if (access < 0.6) s.accessGranted = false
    if (next() < 0.6) s.expiresAt = koreanTime(new Date(START + Math.floor(next() * 60) * DAY))
    if (next() < 0.7) s.autoRenew = next() < 0.5
    return s
  }
  const drafts = Array.from({ length: size }, () => {
    const at = new Date(START + Math.floor(next() * Math.max(2, size - 1)) * DAY + (next() < 0.3 ? 3_600_000 : 0))
    const body: Body = {
      eventType: 'subscription.status_changed',
      eventVersion: '1.0',
      occurredAt: next() < 0.25 ? at.toISOString() : koreanTime(at),
      orderId,
      sku: 'premium-monthly',
      ...(next() < 0.85 && { changeReason: pick(next, REASONS) }),
      subscription: { current: snapshot() },
    }
    return { at: at.getTime(), body }
  })
  // `previous`: missing, the current of the event before in time (a chain), or anything (lost event).
  const inTime = [...drafts].sort((a, b) => a.at - b.at)
  inTime.forEach(({ body }, i) => {
    const roll = next()
    if (roll < 0.3) return
    body.subscription.previous = roll < 0.75 && i > 0 ? { ...inTime[i - 1]!.body.subscription.current } : snapshot()
  })
  const events = drafts.map((d) => d.body)
  const duplicates = events.filter(() => next() < 0.25).slice(0, maxDeliveries - 1 - events.length)
  return { orderId, events, deliveries: ['grant', ...events, ...duplicates] }
}

/** The events of a history in the order an in-order replay applies them: (occurredAt, event key). */
function inTimeOrder(events: readonly Body[]): Body[] {
  const keyed = events.map((body) => {
    const parsed = parseSubscriptionEvent(body)
    if (!parsed.ok || parsed.kind !== 'status_changed') throw new Error(`generated an unreadable event: ${JSON.stringify(body)}`)
    return { body, at: parsed.event.occurredAt.getTime(), key: parsed.event.key }
  })
  return keyed.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((k) => k.body)
}

type History = ReturnType<typeof generate>
/** Short histories: every delivery order is tried (the grant and at most 3 events: 24 orders). */
const SHORT: History[] = Array.from({ length: 14 }, (_, i) => generate(i + 1, 2 + (i % 2), 4))
/** Long histories (9 to 12 events, duplicates): seeded random delivery orders. */
const LONG: History[] = Array.from({ length: 4 }, (_, i) => generate(i + 101, 9 + (i % 4)))

describe('the generator', () => {
  it('makes the histories the property is about: duplicates, unknown values, missing and wrong previous, missing access', () => {
    const histories = [...SHORT, ...LONG]
    const events = histories.flatMap((h) => h.events)
    const timesOf = (h: (typeof histories)[number]) =>
      h.events.map((e) => parseSubscriptionEvent(e)).map((p) => (p.ok && p.kind === 'status_changed' ? p.event.occurredAt.getTime() : NaN))
    expect(histories.filter((h) => h.deliveries.length > h.events.length + 1).length, 'histories with a duplicate').toBeGreaterThan(3)
    expect(events.filter((e) => !KNOWN.includes(e.subscription.current.status as string)).length, 'unknown statuses').toBeGreaterThan(5)
    expect(events.filter((e) => e.changeReason === 'SOMETHING_NEW').length, 'unknown reasons').toBeGreaterThan(2)
    expect(events.filter((e) => e.subscription.current.accessGranted === undefined).length, 'no accessGranted').toBeGreaterThan(5)
    expect(events.filter((e) => e.subscription.previous === undefined).length, 'no previous').toBeGreaterThan(5)
    expect(events.filter((e) => e.subscription.previous !== undefined).length, 'a previous').toBeGreaterThan(5)
    expect(events.filter((e) => String(e.occurredAt).endsWith('Z')).length, 'a time with a zone').toBeGreaterThan(2)
    expect(histories.filter((h) => new Set(timesOf(h)).size < h.events.length).length, 'equal times').toBeGreaterThan(2)
  })
})

type Open = () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>

function suite(name: string, open: Open) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let close: () => Promise<void>
    let ledger: GrantLedger
    let handler: SubscriptionWebhookHandler
    let changes: SubscriptionChange[] = []

    beforeAll(async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
      await db.query(
        'CREATE TABLE app_access (order_id text PRIMARY KEY, status text, active boolean, expires_at timestamptz, lost boolean NOT NULL)',
      )
      handler = createSubscriptionWebhookHandler({
        ledger,
        credential: SECRET,
        onError: (error) => {
          throw error
        },
        // What docs/server.md tells an app to do: follow `change.record`, through `tx`.
        onSubscriptionChange: async (change, tx) => {
          changes.push(change)
          const r = change.record
          await tx.query(
            `INSERT INTO app_access (order_id, status, active, expires_at, lost) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (order_id) DO UPDATE SET status = $2, active = $3, expires_at = $4, lost = $5`,
            [change.orderId, r.subscriptionStatus, r.accessActive, r.subscriptionExpiresAt, r.subscriptionEventLost],
          )
        },
      })
      await handler.ready
    })
    afterAll(async () => {
      await close?.()
    })

    const grant = (orderId: string) =>
      ledger.grant({
        orderId,
        userId: 'erin',
        sku: 'premium-monthly',
        kind: 'subscription',
        tossStatus: 'PAYMENT_COMPLETED',
        userKey: 'tk-erin',
      })
    const post = async (body: Body) => {
      const answer = await handler(
        new Request('http://x/toss/subscriptions', {
          method: 'POST',
          headers: { Authorization: `Basic ${SECRET}` },
          body: JSON.stringify(body),
        }),
      )
      expect(answer.status, await answer.clone().text()).toBe(200)
    }
    const deliver = (item: Item, orderId: string) => (item === 'grant' ? grant(orderId) : post(item))
    /** Every subscription column of the row, the event head and the lost flag included. */
    const state = async (orderId: string) => {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT subscription_status, subscription_expires_at, access_active, subscription_auto_renew, subscription_change_reason,
                subscription_event_at, subscription_event_key, subscription_event_lost, state
           FROM toss_iap_grants WHERE order_id = $1`,
        [orderId],
      )
      return rows[0] ?? null
    }
    const app = async (orderId: string) =>
      (await db.query<Record<string, unknown>>('SELECT status, active, expires_at, lost FROM app_access WHERE order_id = $1', [orderId]))
        .rows[0] ?? null
    const reset = async (orderId: string) => {
      for (const table of ['toss_iap_subscription_events', 'toss_iap_grants', 'app_access'])
        await db.query(`DELETE FROM ${table} WHERE order_id = $1`, [orderId])
      changes = []
    }

    /** Delivers `items` one after another; answers the row's subscription state. */
    const run = async (orderId: string, items: readonly Item[]) => {
      await reset(orderId)
      for (const item of items) await deliver(item, orderId)
      expect(await ledger.subscriptionEvents.pending(orderId)).toBe(0)
      return state(orderId)
    }
    /** What the listener was told on the way to `final`. */
    const checkListener = async (orderId: string, final: Awaited<ReturnType<typeof state>>, label: string) => {
      // At most once per stored event, and never for a change that changed nothing.
      const keys = changes.map((c) => c.eventKey)
      expect(new Set(keys).size, `${label}: one change per event at most`).toBe(keys.length)
      for (const c of changes) {
        const { updatedAt: _a, ...before } = c.before
        const { updatedAt: _b, ...after } = c.record
        expect(after, `${label}: a change that changed nothing`).not.toEqual(before)
      }
      // The app's table, written only by the listener through `tx`, followed the ledger to the end.
      expect(await app(orderId), `${label}: the app's table`).toEqual({
        status: final!.subscription_status,
        active: final!.access_active,
        expires_at: final!.subscription_expires_at,
        lost: final!.subscription_event_lost,
      })
    }

    const property = async ({ orderId, events, deliveries }: History, seed: number, orders: number | 'all') => {
      const expected = await run(orderId, ['grant', ...inTimeOrder(events)])
      expect(expected?.subscription_event_key).not.toBeNull()
      await checkListener(orderId, expected, `seed ${seed}, in order`)
      const next = random(seed ^ 0x5eed)
      const deliveryOrders =
        orders === 'all' ? [...permutations(deliveries)] : Array.from({ length: orders }, () => shuffle(deliveries, next))
      const seen = new Set<string>()
      for (const order of deliveryOrders) {
        const label = JSON.stringify(order.map((i) => (i === 'grant' ? 'grant' : events.indexOf(i))))
        if (seen.has(label)) continue // the same body twice makes equal permutations
        seen.add(label)
        const where = `seed ${seed}, delivered as ${label} (indexes into the history)`
        expect(await run(orderId, order), where).toEqual(expected)
        await checkListener(orderId, expected, where)
      }
      return seen.size
    }

    it('every permutation of short histories ends as the in-order replay', async () => {
      let runs = 0
      for (const [i, history] of SHORT.entries()) runs += await property(history, i + 1, 'all')
      expect(runs).toBeGreaterThan(150)
    }, 120_000)

    it('seeded random delivery orders of long histories end as the in-order replay', async () => {
      for (const [i, history] of LONG.entries()) await property(history, i + 101, 10)
    }, 120_000)

    it('the issue’s case: EXPIRED without access, then an unknown status without accessGranted, ends inactive in both orders', async () => {
      const orderId = 'o-issue-21'
      const expired: Body = {
        eventType: 'subscription.status_changed',
        eventVersion: '1.0',
        occurredAt: '2030-08-01T09:00:00',
        orderId,
        sku: 'premium-monthly',
        changeReason: 'EXPIRED',
        subscription: { current: { status: 'EXPIRED', accessGranted: false } },
      }
      const unknown: Body = {
        ...expired,
        occurredAt: '2030-08-05T09:00:00',
        changeReason: 'SOMETHING_NEW',
        subscription: { current: { status: 'STATUS_NO_LIST_HAS' } },
      }
      const entitlements = createEntitlementsHandler({
        ledger,
        authenticate: () => ({ userId: 'erin', userKey: 'tk-erin' }),
        products: { 'premium-monthly': 'SUBSCRIPTION' },
      })
      const isActive = async () =>
        ((await (await entitlements(new Request('http://x/e'))).json()) as { entitlements: Array<{ isActive: boolean }> }).entitlements[0]!
          .isActive
      for (const order of [
        [expired, unknown],
        [unknown, expired],
      ]) {
        await reset(orderId)
        await grant(orderId)
        for (const e of order) await post(e)
        expect(await ledger.find(orderId)).toMatchObject({ subscriptionStatus: 'STATUS_NO_LIST_HAS', accessActive: false })
        expect(await isActive()).toBe(false)
        expect(await app(orderId)).toMatchObject({ status: 'STATUS_NO_LIST_HAS', active: false })
      }
      // Delivered in reverse, the late EXPIRED is told once, as late, with the access it changed.
      expect(changes.map((c) => [c.current.status, c.late, c.before.accessActive, c.record.accessActive])).toEqual([
        ['STATUS_NO_LIST_HAS', false, null, null],
        ['EXPIRED', true, null, false],
      ])
    })

    it('a late event that changes nothing is not told; a refunded order keeps no access whatever comes', async () => {
      const orderId = 'o-late-noop'
      await reset(orderId)
      await grant(orderId)
      const base: Body = {
        eventType: 'subscription.status_changed',
        eventVersion: '1.0',
        occurredAt: '2030-09-02T09:00:00',
        orderId,
        sku: 'premium-monthly',
        changeReason: 'RENEWED',
        subscription: { current: { status: 'ACTIVE', accessGranted: true, autoRenew: true } },
      }
      await post(base)
      // Older, no previous, every column overwritten by the newer one: nothing to tell.
      await post({ ...base, occurredAt: '2030-09-01T09:00:00', changeReason: 'PURCHASED' })
      expect(changes.map((c) => c.changeReason)).toEqual(['RENEWED'])
      expect(
        (
          await db.query<{ outcome: string }>('SELECT outcome FROM toss_iap_subscription_events WHERE order_id = $1 ORDER BY occurred_at', [
            orderId,
          ])
        ).rows.map((r) => r.outcome),
      ).toEqual(['stale', 'applied'])

      expect(await ledger.markRefunded(orderId, {})).toMatchObject({ accessActive: false })
      await post({ ...base, occurredAt: '2030-10-02T09:00:00' })
      expect(await ledger.find(orderId)).toMatchObject({ subscriptionStatus: 'ACTIVE', accessActive: false, state: 'refunded' })
    })
  })
}

suite('PGlite', openPGlite)

if (PG_URL) suite('PostgreSQL', () => openPgSchema('webhook_order'))
