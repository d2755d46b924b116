// Consumables as a balance (#22), on PGlite and PostgreSQL, against the fake Toss API over mTLS:
// credit in the grant's transaction, spend once per key, refunds under each policy, the handlers,
// and a seeded random mix checked against the journal after every step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createBalanceHandler,
  createBalances,
  createFulfilmentHandler,
  createGrantLedger,
  createSpendHandler,
  createTossPartnerClient,
  reconcile,
  type Balances,
  type GrantLedger,
  type PgPoolLike,
  type PGliteLike,
  type RefundPolicy,
  type ServerEvent,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const APP = 'https://mini-app.example'
let api: FakeTossPartnerApi
let toss: TossPartnerClient

beforeAll(async () => {
  api = await startFakeTossPartnerApi()
  toss = createTossPartnerClient({ ...api.clientOptions(), retry: false })
})
afterAll(async () => {
  toss?.close()
  await api?.close()
})

type Open = () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>
const authenticate = (request: Request) => {
  const user = request.headers.get('Authorization')?.replace(/^Bearer /, '')
  return user ? { userId: user, userKey: `tk-${user}` } : null
}
const CREDITS = { 'gem-100': { gems: 100 }, 'starter-pack': { gems: 50, coins: 500 } }

function suite(name: string, open: Open) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let close: () => Promise<void>
    let ledger: GrantLedger
    const policies: Record<RefundPolicy, Balances> = {} as never
    let n = 0
    const id = (what: string) => `${name}-${what}-${++n}`

    beforeAll(async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
      policies.negative = createBalances({ ledger, credits: CREDITS })
      policies.clamp = createBalances({ ledger, credits: CREDITS, refundPolicy: 'clamp' })
    })
    afterAll(async () => close?.())

    /** Sum of the journal and the cached balance: they must always agree. */
    const books = async (userId: string, currency = 'gems') => {
      const { rows } = await ledger.query<{ sum: string | null }>(
        'SELECT sum(amount) AS sum FROM toss_iap_balance_entries WHERE user_id = $1 AND currency = $2',
        [userId, currency],
      )
      return { journal: Number(rows[0]!.sum ?? 0), balance: await policies.negative.balanceOf(userId, currency) }
    }
    const fulfilment = (balances: Balances, onGrant?: () => void, events?: ServerEvent[]) =>
      createFulfilmentHandler({
        toss,
        ledger,
        authenticate,
        balances,
        onGrant,
        onError: () => {},
        ...(events && { onEvent: (e: ServerEvent) => void events.push(e) }),
      })
    const buy = async (fulfil: (r: Request) => Promise<Response>, user: string, sku: string, orderId = id('order')) => {
      api.setOrder({ orderId, sku, status: 'PAYMENT_COMPLETED', userKey: `tk-${user}` })
      const response = await fulfil(
        new Request('https://api.example/iap/fulfil', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${user}` },
          body: JSON.stringify({ orderId, sku, kind: 'one-time', source: 'purchase' }),
        }),
      )
      return { orderId, status: response.status, body: (await response.json()) as Record<string, unknown> }
    }
    const spendOf = (balances: Balances, userId: string, amount: number, idempotencyKey = `key-${id('k')}`, currency = 'gems') =>
      balances.spend({ userId, currency, amount, reason: 'test', idempotencyKey })

    it('credits what the sku declares, in the grant: once, and never on a repeat or a failed grant', async () => {
      const user = id('u')
      const events: ServerEvent[] = []
      const fulfil = fulfilment(policies.negative, undefined, events)
      const first = await buy(fulfil, user, 'starter-pack')
      expect(first.status).toBe(200)
      const again = await buy(fulfil, user, 'starter-pack', first.orderId)
      expect(again.body).toMatchObject({ granted: true, repeat: true })
      expect(await policies.negative.balancesOf(user)).toEqual({ coins: 500, gems: 50 })
      // A sku that credits nothing leaves the balances alone.
      await buy(fulfil, user, 'remove-ads')
      expect(await policies.negative.balancesOf(user)).toEqual({ coins: 500, gems: 50 })
      // onGrant throws: the grant rolls back, and its credit with it.
      const failing = fulfilment(policies.negative, () => {
        throw new Error('product service down')
      })
      const failed = await buy(failing, user, 'gem-100')
      expect(failed.status).toBe(500)
      expect(await ledger.find(failed.orderId)).toBeNull()
      expect(await books(user)).toEqual({ journal: 50, balance: 50 })
      // The retry after the failure grants and credits once.
      expect((await buy(fulfil, user, 'gem-100', failed.orderId)).status).toBe(200)
      expect(await books(user)).toEqual({ journal: 150, balance: 150 })
      await new Promise((r) => setImmediate(r))
      expect(events.filter((e) => e.type === 'balance.credited')).toEqual([
        { type: 'balance.credited', orderId: first.orderId, currency: 'coins', amount: 500 },
        { type: 'balance.credited', orderId: first.orderId, currency: 'gems', amount: 50 },
        { type: 'balance.credited', orderId: failed.orderId, currency: 'gems', amount: 100 },
      ])
    })

    it('writes the credit inside the grant: a credit that fails takes the grant back with it', async () => {
      const user = id('u')
      let broken = true
      const fragile = createBalances({
        ledger,
        credits: (sku) => {
          if (sku === 'gem-100' && broken) throw new Error('credit table unavailable')
          return sku === 'gem-100' ? { gems: 100 } : undefined
        },
      })
      const failed = await buy(fulfilment(fragile), user, 'gem-100')
      expect(failed.status).toBe(500)
      expect(failed.body).toMatchObject({ error: { code: 'GRANT_FAILED', retryable: true } })
      expect(await ledger.find(failed.orderId)).toBeNull() // paid, not granted: the page keeps it pending
      broken = false
      expect((await buy(fulfilment(fragile), user, 'gem-100', failed.orderId)).body).toMatchObject({ granted: true, repeat: false })
      expect(await books(user)).toEqual({ journal: 100, balance: 100 })
    })

    it('spends once per key, never below zero, and refuses a key reused for another spend', async () => {
      const user = id('u')
      const b = policies.negative
      await buy(fulfilment(b), user, 'gem-100')
      const first = await spendOf(b, user, 30, 'key-aaaaaaaa')
      expect(first).toMatchObject({ status: 'spent', repeat: false, balance: 70 })
      expect(await spendOf(b, user, 30, 'key-aaaaaaaa')).toMatchObject({ status: 'spent', repeat: true, balance: 70 })
      expect(await spendOf(b, user, 31, 'key-aaaaaaaa')).toMatchObject({ status: 'key-reused' })
      expect(await spendOf(b, user, 30, 'key-aaaaaaaa', 'coins')).toMatchObject({ status: 'key-reused' })
      expect(await spendOf(b, user, 71)).toEqual({ status: 'insufficient', balance: 70 })
      expect(await spendOf(b, user, 70)).toMatchObject({ status: 'spent', balance: 0 })
      expect(await spendOf(b, user, 1)).toEqual({ status: 'insufficient', balance: 0 })
      // Another user's same key is their own.
      expect(await spendOf(b, id('u'), 1, 'key-aaaaaaaa')).toEqual({ status: 'insufficient', balance: 0 })
      expect(await books(user)).toEqual({ journal: 0, balance: 0 })
      expect((await b.journal(user)).map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
        ['spend', -70, 0],
        ['spend', -30, 70],
        ['credit', 100, 100],
      ])
      await expect(spendOf(b, user, 0)).rejects.toThrow(/amount must be a whole number/)
      await expect(spendOf(b, user, 1, 'short')).rejects.toThrow(/idempotency key/)
    })

    it("spends inside the app's own transaction: rolled back with it, and nothing is left of it", async () => {
      const user = id('u')
      const b = policies.negative
      await buy(fulfilment(b), user, 'gem-100')
      expect(await spendOf(b, user, 40, 'key-own-tx-1')).toMatchObject({ status: 'spent', balance: 60 }) // its own transaction
      await expect(
        ledger.transaction(async (tx) => {
          const inside = await b.spend(
            { userId: user, currency: 'gems', amount: 50, reason: 'sword', idempotencyKey: 'key-rolled-back' },
            tx,
          )
          expect(inside).toMatchObject({ status: 'spent', balance: 10 })
          throw new Error('the app changed its mind')
        }),
      ).rejects.toThrow('the app changed its mind')
      expect(await books(user)).toEqual({ journal: 60, balance: 60 })
      // The rolled-back key was never applied: it spends now.
      expect(
        await b.spend({ userId: user, currency: 'gems', amount: 50, reason: 'sword', idempotencyKey: 'key-rolled-back' }),
      ).toMatchObject({
        status: 'spent',
        repeat: false,
        balance: 10,
      })
    })

    for (const policy of ['negative', 'clamp'] as const)
      it(`a refund after the gems were spent, policy '${policy}'`, async () => {
        const user = id('u')
        const b = policies[policy]
        const events: ServerEvent[] = []
        const kept = await buy(fulfilment(b), user, 'gem-100')
        const refunded = await buy(fulfilment(b), user, 'gem-100')
        expect(await spendOf(b, user, 150)).toMatchObject({ status: 'spent', balance: 50 })
        api.refund(refunded.orderId)
        const revoked: string[] = []
        const run = () =>
          reconcile({
            ledger,
            toss,
            balances: b,
            name: `${name}-${policy}-${n}`,
            ratePerMinute: 100_000,
            onRevoke: (order) => void revoked.push(order.orderId),
            onEvent: (e) => void events.push(e),
          })
        expect((await run()).refunded).toContain(refunded.orderId)
        expect(revoked).toEqual([refunded.orderId])
        const [reversal] = (await b.journal(user)).filter((e) => e.kind === 'reversal')
        if (policy === 'negative') {
          expect(reversal).toMatchObject({ amount: -100, balanceAfter: -50, flagged: false, orderId: refunded.orderId })
          expect(await books(user)).toEqual({ journal: -50, balance: -50 })
          expect(await spendOf(b, user, 1)).toEqual({ status: 'insufficient', balance: -50 })
          // A purchase repays it; spending resumes once the balance covers the amount.
          await buy(fulfilment(b), user, 'gem-100')
          expect(await spendOf(b, user, 51)).toEqual({ status: 'insufficient', balance: 50 })
          expect(await spendOf(b, user, 50)).toMatchObject({ status: 'spent', balance: 0 })
        } else {
          expect(reversal).toMatchObject({ amount: -50, balanceAfter: 0, flagged: true, orderId: refunded.orderId })
          expect(await books(user)).toEqual({ journal: 0, balance: 0 })
        }
        // Reconciling again reverses nothing more.
        await run()
        expect((await b.journal(user)).filter((e) => e.kind === 'reversal')).toHaveLength(1)
        await new Promise((r) => setImmediate(r))
        expect(events.filter((e) => e.type === 'balance.reversed')).toEqual([
          {
            type: 'balance.reversed',
            orderId: refunded.orderId,
            currency: 'gems',
            amount: policy === 'negative' ? 100 : 50,
            flagged: policy === 'clamp',
          },
        ])
        expect(kept.status).toBe(200)
      })

    it('reconcile() without balances (as the CLI runs it) still reverses a refunded credit, once, by the journal', async () => {
      const user = id('u')
      const refunded = await buy(fulfilment(policies.negative), user, 'gem-100')
      expect(await spendOf(policies.negative, user, 80)).toMatchObject({ balance: 20 })
      api.refund(refunded.orderId)
      const run = () => reconcile({ ledger, toss, name: `${name}-nobalances-${n}`, ratePerMinute: 100_000, refundPolicy: 'clamp' })
      expect((await run()).refunded).toEqual([refunded.orderId])
      await run()
      expect((await policies.negative.journal(user)).map((e) => [e.kind, e.amount, e.flagged])).toEqual([
        ['reversal', -20, true],
        ['spend', -80, false],
        ['credit', 100, false],
      ])
      expect(await books(user)).toEqual({ journal: 0, balance: 0 })
    })

    it('the handlers: balance, spend with its key header, repeat, the JSON errors, CORS', async () => {
      const user = id('u')
      const b = policies.negative
      await buy(fulfilment(b), user, 'gem-100')
      const events: ServerEvent[] = []
      const spend = createSpendHandler({ balances: b, authenticate, cors: { origins: [APP] }, onEvent: (e) => void events.push(e) })
      const read = createBalanceHandler({ balances: b, authenticate, cors: { origins: [APP] } })
      const post = async (body: unknown, key: string | null = 'key-handler-1', auth: string | null = user) => {
        const headers: Record<string, string> = { 'Content-Type': 'application/json', Origin: APP }
        if (key !== null) headers['Idempotency-Key'] = key
        if (auth !== null) headers.Authorization = `Bearer ${auth}`
        const r = await spend(new Request('https://api.example/iap/spend', { method: 'POST', headers, body: JSON.stringify(body) }))
        return { status: r.status, body: (await r.json()) as any }
      }
      const sword = { currency: 'gems', amount: 60, reason: 'sword' }
      expect(await post(sword)).toEqual({ status: 200, body: { spent: true, currency: 'gems', amount: 60, balance: 40, repeat: false } })
      expect(await post(sword)).toEqual({ status: 200, body: { spent: true, currency: 'gems', amount: 60, balance: 40, repeat: true } })
      expect(await post({ ...sword, amount: 61 })).toMatchObject({ status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } })
      expect(await post(sword, 'key-handler-2')).toMatchObject({
        status: 409,
        body: { error: { code: 'INSUFFICIENT_BALANCE', retryable: false } },
      })
      expect(await post(sword, null)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_SPEND' } } })
      expect(await post({ ...sword, amount: -1 }, 'key-handler-3')).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_SPEND' } },
      })
      expect(await post({ ...sword, amount: 1.5 }, 'key-handler-3')).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_SPEND' } },
      })
      expect(await post({ ...sword, currency: 'gold' }, 'key-handler-3')).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_SPEND' } },
      })
      expect(await post({ ...sword, reason: '' }, 'key-handler-3')).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_SPEND' } },
      })
      expect(await post(sword, 'key-handler-3', null)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } })
      const preflight = await spend(
        new Request('https://api.example/iap/spend', {
          method: 'OPTIONS',
          headers: { Origin: APP, 'Access-Control-Request-Headers': 'idempotency-key' },
        }),
      )
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('Access-Control-Allow-Headers')).toMatch(/Idempotency-Key/)
      const foreign = await spend(
        new Request('https://api.example/iap/spend', { method: 'POST', headers: { Origin: 'https://evil.example' } }),
      )
      expect(foreign.status).toBe(403)
      const got = await read(new Request('https://api.example/iap/balance', { headers: { Authorization: `Bearer ${user}`, Origin: APP } }))
      expect(got.headers.get('Access-Control-Allow-Origin')).toBe(APP)
      expect(await got.json()).toEqual({ balances: { coins: 0, gems: 40 } })
      expect((await read(new Request('https://api.example/iap/balance'))).status).toBe(401)
      expect((await read(new Request('https://api.example/iap/balance', { method: 'POST' }))).status).toBe(405)
      await new Promise((r) => setImmediate(r))
      expect(events.slice(0, 4).map((e) => (e.type === 'balance.refused' ? e.code : `${e.type}:${'repeat' in e && e.repeat}`))).toEqual([
        'balance.spent:false',
        'balance.spent:true',
        'IDEMPOTENCY_KEY_REUSED',
        'INSUFFICIENT_BALANCE',
      ])
      expect(JSON.stringify(events)).not.toContain(user)
    })

    it('a seeded random mix of purchases, spends, retries, reused keys, app rollbacks and refunds keeps the books', async () => {
      let seed = 22
      const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
      const users = [id('u'), id('u'), id('u')]
      const b = policies[name.length % 2 === 0 ? 'negative' : 'clamp']
      const fulfil = fulfilment(b)
      const keys = new Map<string, { user: string; amount: number }>()
      const applied = new Map<string, number>()
      const orders: Array<{ orderId: string; user: string }> = []
      for (let step = 0; step < 120; step++) {
        const user = users[Math.floor(random() * users.length)]!
        const roll = random()
        if (roll < 0.2) orders.push({ orderId: (await buy(fulfil, user, 'gem-100')).orderId, user })
        else if (roll < 0.55) {
          const key = `mix-${step}-${Math.floor(random() * 1e9)}`
          const amount = 1 + Math.floor(random() * 40)
          keys.set(key, { user, amount })
          const r = await spendOf(b, user, amount, key)
          if (r.status === 'spent') applied.set(key, (applied.get(key) ?? 0) + 1)
        } else if (roll < 0.75 && keys.size > 0) {
          // A retry of an earlier key (the same request): answers the first result, applies nothing.
          const [key, k] = [...keys][Math.floor(random() * keys.size)]!
          const r = await spendOf(b, k.user, k.amount, key)
          if (applied.has(key)) expect(r).toMatchObject({ status: 'spent', repeat: true })
          else if (r.status === 'spent') applied.set(key, 1) // it was short before and is covered now
        } else if (roll < 0.85) {
          // A crash after the spend, before the app's transaction commits: nothing stays.
          const key = `crash-${step}`
          await ledger
            .transaction(async (tx) => {
              await b.spend({ userId: user, currency: 'gems', amount: 1, reason: 'crash', idempotencyKey: key }, tx)
              throw new Error('crash')
            })
            .catch(() => {})
          expect((await b.journal(user)).some((e) => e.idempotencyKey === key)).toBe(false)
        } else if (orders.length > 0) {
          const order = orders[Math.floor(random() * orders.length)]!
          api.refund(order.orderId)
          await reconcile({ ledger, toss, balances: b, name: `${name}-mix-${step}`, ratePerMinute: 100_000 })
        }
        for (const u of users) {
          const { journal, balance } = await books(u)
          expect(balance, `step ${step}`).toBe(journal)
          if (b.refundPolicy === 'clamp') expect(balance).toBeGreaterThanOrEqual(0)
        }
      }
      expect([...applied.values()].every((count) => count === 1)).toBe(true)
      const { rows } = await ledger.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM toss_iap_balance_entries WHERE idempotency_key LIKE 'mix-%' GROUP BY user_id, idempotency_key HAVING count(*) > 1`,
      )
      expect(rows).toEqual([])
      expect(applied.size).toBeGreaterThan(10)
    })
  })
}

suite('pglite', async () => {
  const { db, close } = await openPGlite()
  return { db, close }
})
describe.skipIf(!PG_URL)('postgres', () => {
  suite('pg', () => openPgSchema('balance'))
})
