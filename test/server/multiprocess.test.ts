// Integration: several app-server processes on one PostgreSQL, against the fake Toss API.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { PG_URL } from './pg.ts'
import { buildWorker, workerEnv, postOrder, startWorker, type Worker } from './processes.ts'

describe.skipIf(!PG_URL)('four server processes on one PostgreSQL', () => {
  const schema = `mp_${process.pid}_${Date.now()}`
  let admin: pg.Pool
  let api: FakeTossPartnerApi
  let script: string
  let env: Record<string, string>
  const workers: Worker[] = []
  const count = async (table: string, orderId: string) =>
    (await admin.query(`SELECT count(*)::int AS n FROM ${schema}.${table} WHERE order_id = $1`, [orderId])).rows[0].n as number

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL! })
    await admin.query(`CREATE SCHEMA ${schema}`)
    await admin.query(`CREATE TABLE ${schema}.products (order_id text NOT NULL, user_id text NOT NULL, pid integer NOT NULL)`)
    ;[api, script] = await Promise.all([startFakeTossPartnerApi(), buildWorker()])
    env = workerEnv(PG_URL!, schema, api.clientOptions())
    // Started together: they migrate the schema at the same moment.
    workers.push(...(await Promise.all(Array.from({ length: 4 }, () => startWorker(script, env)))))
  })
  afterAll(async () => {
    for (const w of workers) w.process.kill('SIGKILL')
    await api?.close()
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin?.end()
  })

  it(
    'grants each of 20 orders once under 50 concurrent requests per order on each of 4 processes (4,000 at once)',
    { timeout: 120_000 },
    async () => {
      const orders = Array.from({ length: 20 }, (_, i) => `load-${i}`)
      for (const orderId of orders) api.setOrder({ orderId, sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-alice' })
      // All 4,000 requests in flight at once: 50 per order on each of the four processes.
      const answers = await Promise.all(
        orders.flatMap((orderId) => Array.from({ length: 200 }, (_, i) => postOrder(workers[i % 4]!.port, orderId))),
      )
      expect(answers.filter((a) => !('status' in a) || a.status !== 200)).toEqual([])
      expect(answers.every((a) => 'body' in a && a.body.granted === true)).toBe(true)
      const granted = workers.flatMap((w) => w.grants)
      for (const orderId of orders) {
        expect(granted.filter((g) => g === orderId)).toHaveLength(1)
        expect(await count('toss_iap_grants', orderId)).toBe(1)
        expect(await count('products', orderId)).toBe(1)
      }
      // A repeat is answered from the ledger: Toss is not asked again.
      const before = api.requests.length
      const repeats = await Promise.all(orders.map((orderId, i) => postOrder(workers[i % 4]!.port, orderId)))
      expect(repeats.map((r) => 'body' in r && r.body.repeat)).toEqual(Array(20).fill(true))
      expect(api.requests.length).toBe(before)
    },
  )

  it('a process killed inside onGrant leaves neither a row without its product nor a product without its row', async () => {
    const orderId = 'killed-mid-grant'
    api.setOrder({ orderId, sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-alice' })
    const doomed = await startWorker(script, { ...env, HANG_ON_ORDER: orderId })
    const lost = postOrder(doomed.port, orderId)
    await doomed.hung(orderId)
    // The product is written inside the open transaction: nobody else sees it, nor the row.
    expect(await count('products', orderId)).toBe(0)
    expect(await count('toss_iap_grants', orderId)).toBe(0)
    // Another process asks for the same order meanwhile: it waits on the row lock.
    const waiting = postOrder(workers[0]!.port, orderId)
    doomed.process.kill('SIGKILL')
    await doomed.exited
    expect(await lost).toHaveProperty('error') // the page saw no 2xx: the order stays pending at Toss
    expect(await waiting).toMatchObject({ status: 200, body: { granted: true, repeat: false } })
    expect(await count('toss_iap_grants', orderId)).toBe(1)
    expect(await count('products', orderId)).toBe(1)
    const { rows } = await admin.query(`SELECT pid FROM ${schema}.products WHERE order_id = $1`, [orderId])
    expect(rows[0].pid).toBe(workers[0]!.process.pid)
  })
})
