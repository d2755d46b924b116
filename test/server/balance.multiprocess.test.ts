// Integration (#22): four app-server processes spending one balance on one PostgreSQL, and a
// process SIGKILLed in the middle of a spend.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGrantLedger, createTossPartnerClient, reconcile, type PgPoolLike } from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { PG_URL } from './pg.ts'
import { buildWorker, postOrder, postSpend, startWorker, workerEnv, type Worker } from './processes.ts'

describe.skipIf(!PG_URL)('four server processes spending one balance', () => {
  const schema = `mpb_${process.pid}_${Date.now()}`
  let admin: pg.Pool
  let api: FakeTossPartnerApi
  let script: string
  let env: Record<string, string>
  const workers: Worker[] = []
  const q = async (sql: string, params: unknown[] = []) => (await admin.query(sql.replaceAll('$schema', schema), params)).rows
  /** The journal's sum and the cached balance of a user's gems. */
  const books = async (user: string) => {
    const [{ sum }] = await q(`SELECT coalesce(sum(amount), 0)::int AS sum FROM $schema.toss_iap_balance_entries WHERE user_id = $1`, [
      user,
    ])
    const rows = await q(`SELECT balance::int AS balance FROM $schema.toss_iap_balances WHERE user_id = $1 AND currency = 'gems'`, [user])
    return { journal: sum as number, balance: (rows[0]?.balance ?? 0) as number }
  }
  const buyGems = async (user: string, orderId: string, worker = workers[0]!) => {
    api.setOrder({ orderId, sku: 'gem-100', status: 'PAYMENT_COMPLETED', userKey: `tk-${user}` })
    expect(await postOrder(worker.port, orderId, user)).toMatchObject({ status: 200, body: { granted: true, repeat: false } })
  }

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL! })
    await admin.query(`CREATE SCHEMA ${schema}`)
    await admin.query(`CREATE TABLE ${schema}.products (order_id text NOT NULL, user_id text NOT NULL, pid integer NOT NULL)`)
    ;[api, script] = await Promise.all([startFakeTossPartnerApi(), buildWorker()])
    env = workerEnv(PG_URL!, schema, api.clientOptions())
    workers.push(...(await Promise.all(Array.from({ length: 4 }, () => startWorker(script, env)))))
  })
  afterAll(async () => {
    for (const w of workers) w.process.kill('SIGKILL')
    await api?.close()
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin?.end()
  })

  it(
    '4 processes × 50 concurrent spends of 1 against 100, 20% of them repeated keys: exactly 100 spend',
    { timeout: 120_000 },
    async () => {
      const user = 'carol'
      await buyGems(user, 'gems-carol-1')
      expect(await books(user)).toEqual({ journal: 100, balance: 100 })
      // 160 distinct keys; 40 of the 200 requests repeat one of them (sent to another process).
      const keys = Array.from({ length: 160 }, (_, i) => `spend-key-${String(i).padStart(4, '0')}`)
      const sent = [...keys, ...Array.from({ length: 40 }, (_, i) => keys[(i * 37) % 160]!)]
      const answers = await Promise.all(sent.map((key, i) => postSpend(workers[i % 4]!.port, key, { user })))
      expect(answers.filter((a) => !('status' in a) || (a.status !== 200 && a.status !== 409))).toEqual([])
      const byKey = new Map<string, Array<{ status: number; body: any }>>()
      sent.forEach((key, i) => byKey.set(key, [...(byKey.get(key) ?? []), answers[i] as { status: number; body: any }]))
      const firsts = answers.filter((a) => 'status' in a && a.status === 200 && a.body.repeat === false)
      expect(firsts).toHaveLength(100)
      for (const [key, all] of byKey) {
        const spent = all.filter((a) => a.status === 200)
        if (spent.length === 0) {
          for (const a of all) expect(a.body.error.code, key).toBe('INSUFFICIENT_BALANCE')
          continue
        }
        // One key: every answer is the first one's (one spend, the same balance after it).
        expect(spent, key).toHaveLength(all.length)
        expect(
          spent.filter((a) => !a.body.repeat),
          key,
        ).toHaveLength(1)
        expect(new Set(spent.map((a) => a.body.balance)).size, key).toBe(1)
      }
      // The balances after each first spend are 99..0, each once.
      expect(firsts.map((a) => ('body' in a ? a.body.balance : -1)).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i))
      expect(await books(user)).toEqual({ journal: 0, balance: 0 })
      const [{ n }] = await q(`SELECT count(*)::int AS n FROM $schema.toss_iap_balance_entries WHERE user_id = $1 AND kind = 'spend'`, [
        user,
      ])
      expect(n).toBe(100)
    },
  )

  it('a process SIGKILLed mid-spend leaves no entry; the retry with the same key spends once', { timeout: 60_000 }, async () => {
    const user = 'dave'
    const key = 'killed-mid-spend'
    await buyGems(user, 'gems-dave-1')
    const doomed = await startWorker(script, { ...env, HANG_ON_SPEND: key })
    const lost = postSpend(doomed.port, key, { user, amount: 10 })
    await doomed.hung(key)
    // Written inside the open transaction: nobody sees it.
    expect(await q(`SELECT * FROM $schema.toss_iap_balance_entries WHERE idempotency_key = $1`, [key])).toEqual([])
    expect(await books(user)).toEqual({ journal: 100, balance: 100 })
    // The page retries on another process: it waits on the balance row's lock.
    const retry = postSpend(workers[1]!.port, key, { user, amount: 10 })
    doomed.process.kill('SIGKILL')
    await doomed.exited
    expect(await lost).toHaveProperty('error')
    expect(await retry).toEqual({ status: 200, body: { spent: true, currency: 'gems', amount: 10, balance: 90, repeat: false } })
    expect(await postSpend(workers[2]!.port, key, { user, amount: 10 })).toMatchObject({ status: 200, body: { balance: 90, repeat: true } })
    expect(await q(`SELECT amount::int AS amount FROM $schema.toss_iap_balance_entries WHERE idempotency_key = $1`, [key])).toEqual([
      { amount: -10 },
    ])
    expect(await books(user)).toEqual({ journal: 90, balance: 90 })
  })

  it(
    'a seeded random mix across processes (purchases, concurrent spends, retries, refunds, SIGKILLs) keeps the books',
    { timeout: 180_000 },
    async () => {
      let seed = 2203
      const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
      const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
      const users = ['erin', 'frank']
      const pool = new pg.Pool({ connectionString: PG_URL!, options: `-c search_path=${schema}`, max: 4 })
      const ledger = await createGrantLedger(pool as unknown as PgPoolLike)
      const cron = createTossPartnerClient({ ...api.clientOptions(), retry: false })
      const sent = new Map<string, { user: string; amount: number }>()
      /** Per key: the balance its spend answered, and how many answers said it was applied now (never more than 1). */
      const spent = new Map<string, { balance: number; applied: number }>()
      const orders: Array<{ orderId: string; user: string }> = []
      let orderCount = 0
      let crashes = 0
      const record = (key: string, answer: { status: number; body: any } | { error: string }) => {
        expect(answer, key).toHaveProperty('status')
        const a = answer as { status: number; body: any }
        if (a.status === 409) return void expect(a.body.error.code).toBe('INSUFFICIENT_BALANCE')
        expect(a.status, key).toBe(200)
        const first = spent.get(key)
        if (first) expect(a.body.balance, key).toBe(first.balance) // the first answer, again
        const entry = first ?? { balance: a.body.balance, applied: 0 }
        if (!a.body.repeat) entry.applied++
        spent.set(key, entry)
      }
      try {
        for (let step = 0; step < 12; step++) {
          const batch: Array<Promise<unknown>> = []
          const bought: Array<{ orderId: string; user: string }> = []
          for (let i = 0; i < 10; i++) {
            const user = pick(users)
            const worker = pick(workers)
            const roll = random()
            if (roll < 0.2) {
              const order = { orderId: `mix-${user}-${++orderCount}`, user }
              bought.push(order)
              batch.push(buyGems(user, order.orderId, worker))
            } else if (roll < 0.75 || sent.size === 0) {
              const key = `mix-key-${step}-${i}`
              const amount = 1 + Math.floor(random() * 25)
              sent.set(key, { user, amount })
              batch.push(postSpend(worker.port, key, { user, amount }).then((a) => record(key, a)))
            } else if (roll < 0.92) {
              const [key, k] = pick([...sent])
              batch.push(postSpend(worker.port, key, { user: k.user, amount: k.amount }).then((a) => record(key, a)))
            } else if (orders.length > 0) api.refund(pick(orders).orderId)
          }
          await Promise.all(batch)
          orders.push(...bought)
          if (step % 3 === 2) {
            // A process dies inside a spend's transaction; the page retries the key elsewhere.
            const user = pick(users)
            const key = `mix-crash-${step}`
            sent.set(key, { user, amount: 5 })
            const doomed = await startWorker(script, { ...env, HANG_ON_SPEND: key })
            const lost = postSpend(doomed.port, key, { user, amount: 5 })
            await doomed.hung(key)
            doomed.process.kill('SIGKILL')
            await doomed.exited
            expect(await lost).toHaveProperty('error')
            record(key, await postSpend(pick(workers).port, key, { user, amount: 5 }))
            crashes++
          }
          if (step % 4 === 3) await reconcile({ ledger, toss: cron, name: 'mix', ratePerMinute: 100_000 })
          for (const user of users) {
            const { journal, balance } = await books(user)
            expect(balance, `step ${step}, ${user}`).toBe(journal)
          }
        }
        for (const [key, { applied }] of spent) expect(applied, key).toBeLessThanOrEqual(1)
        const twice = await q(
          `SELECT idempotency_key FROM $schema.toss_iap_balance_entries WHERE idempotency_key LIKE 'mix-%' GROUP BY user_id, idempotency_key HAVING count(*) > 1`,
        )
        expect(twice).toEqual([])
        const applied = await q(`SELECT count(*)::int AS n FROM $schema.toss_iap_balance_entries WHERE idempotency_key LIKE 'mix-%'`)
        expect(applied[0].n).toBe([...spent.values()].filter((s) => s.applied === 1).length)
        const reversals = await q(
          `SELECT count(*)::int AS n FROM $schema.toss_iap_balance_entries WHERE kind = 'reversal' AND order_id LIKE 'mix-%'`,
        )
        expect(reversals[0].n).toBeGreaterThan(0)
        expect(crashes).toBe(4)
        expect(spent.size).toBeGreaterThan(30)
      } finally {
        cron.close()
        await pool.end()
      }
    },
  )
})
