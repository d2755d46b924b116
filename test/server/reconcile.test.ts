// Refund reconciliation against the fake Toss API over mTLS, on a fake clock (no timed assertions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createGrantLedger,
  createTossPartnerClient,
  reconcile,
  type GrantLedger,
  type PgPoolLike,
  type PGliteLike,
  type ReconcileClock,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

/** Virtual time: a sleep moves it on at once. The fake API records requests by it. */
const clock = {
  t: Date.UTC(2026, 10, 1),
  now() {
    return this.t
  },
  async sleep(ms: number) {
    this.t += ms
    await new Promise((r) => setImmediate(r))
  },
} satisfies ReconcileClock & { t: number }

let api: FakeTossPartnerApi
let toss: TossPartnerClient

beforeAll(async () => {
  api = await startFakeTossPartnerApi({ now: () => clock.now() })
  toss = createTossPartnerClient({ ...api.clientOptions(), retry: false })
})
afterAll(async () => {
  toss?.close()
  await api?.close()
})

type Open = () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>

function suite(name: string, open: Open) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let close: () => Promise<void>
    let ledger: GrantLedger
    const id = (n: number) => `${name}-r-${String(n).padStart(2, '0')}`
    const ORDERS = 30
    const REFUNDED = [2, 3, 7, 11, 12, 19, 23, 29].map(id)
    const revokes: string[] = []
    const onRevoke = async (order: { orderId: string; userId: string }, tx: { query: PGliteLike['query'] }) => {
      revokes.push(order.orderId)
      await tx.query('INSERT INTO app_revoked (order_id) VALUES ($1)', [order.orderId])
    }
    const revokedRows = async () =>
      (await db.query<{ order_id: string }>('SELECT order_id FROM app_revoked ORDER BY order_id')).rows.map((r) => r.order_id)

    beforeAll(async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
      await db.query('CREATE TABLE app_revoked (order_id text PRIMARY KEY)') // a second revoke would violate it
      for (let n = 0; n < ORDERS; n++) {
        api.setOrder({ orderId: id(n), sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-alice' })
        await ledger.grant({
          orderId: id(n),
          userId: 'alice',
          sku: 'remove-ads',
          kind: 'one-time',
          tossStatus: 'PURCHASED',
          userKey: 'tk-alice',
        })
      }
      // Outside the 30-day window, and refunded: never asked.
      api.setOrder({ orderId: id(90), sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-alice' })
      await ledger.grant({
        orderId: id(90),
        userId: 'alice',
        sku: 'remove-ads',
        kind: 'one-time',
        tossStatus: 'PURCHASED',
        userKey: 'tk-alice',
      })
      await db.query(`UPDATE toss_iap_grants SET granted_at = now() - interval '40 days' WHERE order_id = $1`, [id(90)])
      api.refund(id(90))
      // Granted before the ledger kept user keys: asked only through userKeyOf.
      api.setOrder({ orderId: id(91), sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-bob' })
      await ledger.grant({ orderId: id(91), userId: 'bob', sku: 'remove-ads', kind: 'one-time', tossStatus: 'PURCHASED' })
      api.refund(id(91))
      for (const orderId of REFUNDED) api.refund(orderId)
    })
    afterAll(async () => {
      api.clearFaults()
      await close?.()
    })

    it('goes through a 429 storm, stopping and resuming, revokes each refunded order once, within its rate budget', async () => {
      const start = api.requests.length
      const budget = 12
      // A storm: runs of 429s, with and without Retry-After, long enough to stop the first run.
      api.failNext({ http: 429, retryAfter: 7 }, 5)
      api.failNext({ http: 429 }, 3)
      const aborter = new AbortController()
      const first = await reconcile({
        ledger,
        toss,
        clock,
        ratePerMinute: budget,
        batchSize: 7,
        maxRateLimitedAttempts: 4,
        onRevoke,
        signal: aborter.signal,
      })
      expect(first).toMatchObject({ finished: false, busy: false, rateLimited: 4, checked: 0 })
      // Resumed; another storm in the middle, and a stop after the 10th order.
      api.failNext({ http: 429, retryAfter: 20 }, 3, id(6))
      api.failNext({ http: 503 }, 1, id(5))
      const log: string[] = []
      const second = await reconcile({
        ledger,
        toss,
        clock,
        ratePerMinute: budget,
        batchSize: 7,
        onRevoke,
        signal: aborter.signal,
        log: (e) => {
          log.push(e.type)
          if (e.type === 'revoked' && e.orderId === id(7)) aborter.abort()
        },
      })
      expect(second).toMatchObject({ finished: false, refunded: [id(2), id(3), id(7)], failed: [{ orderId: id(5), code: 'SERVER_ERROR' }] })
      expect(log.filter((t) => t === 'rate-limited')).toHaveLength(7) // the storm's tail (4) from before, and id(6)'s three
      // Another reconciler while this one is stopped: the lease was released, so it may run; this one resumes from the cursor.
      const third = await reconcile({
        ledger,
        toss,
        clock,
        ratePerMinute: budget,
        batchSize: 7,
        onRevoke,
        userKeyOf: (o) => (o.userId === 'bob' ? 'tk-bob' : null),
      })
      expect(third.finished).toBe(true)
      expect([...second.refunded, ...third.refunded].sort()).toEqual([...REFUNDED, id(91)].sort())
      expect(revokes.sort()).toEqual([...REFUNDED, id(91)].sort())
      expect(await revokedRows()).toEqual([...REFUNDED, id(91)].sort())
      for (const orderId of REFUNDED)
        expect(await ledger.find(orderId)).toMatchObject({ state: 'refunded', tossStatus: 'REFUNDED', accessActive: false })
      expect((await ledger.find(id(90)))!.refundedAt).toBeNull() // outside the window
      const mine = api.requests.slice(start)
      expect(mine.filter((r) => r.orderId === id(90))).toEqual([])
      // Each order answered once with its status across the three runs (the cursor resumed, nothing was asked twice); id(5) got a 503.
      for (let n = 0; n < ORDERS; n++) {
        const answers = mine.filter((r) => r.orderId === id(n) && typeof r.answer === 'string')
        expect(answers, id(n)).toHaveLength(n === 5 ? 0 : 1)
      }
      expect(mine.filter((r) => r.answer === 429).length).toBe(first.rateLimited + second.rateLimited + third.rateLimited)
      expect(mine.length).toBe(first.requests + second.requests + third.requests)
      // The budget: never more than 12 requests in any 60 s of the (virtual) clock.
      const perMinute = (() => {
        let best = 0
        for (let i = 0, j = 0; i < mine.length; i++) {
          while (mine[i]!.at - mine[j]!.at >= 60_000) j++
          best = Math.max(best, i - j + 1)
        }
        return best
      })()
      expect(perMinute).toBeLessThanOrEqual(budget)
      expect(perMinute).toBeGreaterThan(budget / 2) // it did use its budget: the bound is not vacuous
    })

    it('starts over after a finished run, asks only orders still granted, and revokes nothing twice', async () => {
      const start = api.requests.length
      const again = await reconcile({ ledger, toss, clock, ratePerMinute: 600, onRevoke })
      expect(again).toMatchObject({ finished: true, refunded: [], skipped: 0, failed: [] })
      expect(again.checked).toBe(ORDERS - REFUNDED.length)
      expect(api.requests.slice(start).filter((r) => REFUNDED.includes(r.orderId!))).toEqual([])
      expect(revokes).toHaveLength(REFUNDED.length + 1)
    })

    it('an onRevoke that throws leaves the order granted; the next run revokes it', async () => {
      api.refund(id(0))
      let fail = true
      const throwing = async (order: { orderId: string; userId: string }, tx: { query: PGliteLike['query'] }) => {
        if (fail) throw new Error('app database down')
        await onRevoke(order, tx)
      }
      const first = await reconcile({ ledger, toss, clock, onRevoke: throwing })
      expect(first).toMatchObject({ finished: true, refunded: [], failed: [{ orderId: id(0), code: 'REVOKE_FAILED' }] })
      expect(await ledger.find(id(0))).toMatchObject({ state: 'granted', refundedAt: null })
      fail = false
      expect((await reconcile({ ledger, toss, clock, onRevoke: throwing })).refunded).toEqual([id(0)])
      expect(await revokedRows()).toContain(id(0))
    })

    it('one run at a time: a second one while the lease is held does nothing', async () => {
      // An order without a user key: userKeyOf is awaited while the first run holds its lease.
      api.setOrder({ orderId: id(92), sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-carol' })
      await ledger.grant({ orderId: id(92), userId: 'carol', sku: 'remove-ads', kind: 'one-time', tossStatus: 'PURCHASED' })
      api.refund(id(92))
      let inner: Awaited<ReturnType<typeof reconcile>> | undefined
      const outer = await reconcile({
        ledger,
        toss,
        clock,
        onRevoke,
        userKeyOf: async (order) => {
          if (order.orderId !== id(92)) return null
          inner = await reconcile({ ledger, toss, clock, onRevoke })
          return 'tk-carol'
        },
      })
      expect(inner).toMatchObject({ busy: true, requests: 0, finished: false })
      expect(outer).toMatchObject({ finished: true, refunded: [id(92)] })
      expect((await reconcile({ ledger, toss, clock, onRevoke })).busy).toBe(false) // released
    })
  })
}

suite('PGlite', openPGlite)

if (PG_URL) suite('PostgreSQL', () => openPgSchema('reconcile', 10))
