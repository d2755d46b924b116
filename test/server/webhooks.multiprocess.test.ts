// Integration: a server process killed between storing a subscription event and applying it.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendTossWebhook, startFakeTossPartnerApi, subscriptionLifecycle, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { PG_URL } from './pg.ts'
import { buildWorker, workerEnv, postOrder, startWorker, type Worker } from './processes.ts'

describe.skipIf(!PG_URL)('a server process killed inside the subscription webhook', () => {
  const schema = `mpw_${process.pid}_${Date.now()}`
  let admin: pg.Pool
  let api: FakeTossPartnerApi
  let script: string
  let env: Record<string, string>
  const workers: Worker[] = []
  const q = async (sql: string, params: unknown[] = []) => (await admin.query(sql.replaceAll('$schema', schema), params)).rows

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL! })
    await admin.query(`CREATE SCHEMA ${schema}`)
    await admin.query(`CREATE TABLE ${schema}.products (order_id text NOT NULL, user_id text NOT NULL, pid integer NOT NULL)`)
    await admin.query(`CREATE TABLE ${schema}.sub_access (order_id text PRIMARY KEY, status text NOT NULL, pid integer NOT NULL)`)
    ;[api, script] = await Promise.all([startFakeTossPartnerApi(), buildWorker()])
    env = workerEnv(PG_URL!, schema, api.clientOptions())
  })
  afterAll(async () => {
    for (const w of workers) w.process.kill('SIGKILL')
    await api?.close()
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin?.end()
  })

  it('keeps the stored event and applies it when a process starts again', { timeout: 120_000 }, async () => {
    const orderId = 'sub-killed'
    api.setOrder({ orderId, sku: 'premium-monthly', status: 'PURCHASED', userKey: 'tk-alice' })
    const doomed = await startWorker(script, { ...env, HANG_ON_EVENT: orderId })
    workers.push(doomed)
    expect(await postOrder(doomed.port, orderId)).toMatchObject({ status: 200, body: { granted: true } })

    const url = `http://127.0.0.1:${doomed.port}/toss/subscriptions`
    const lost = sendTossWebhook(url, subscriptionLifecycle(orderId)[0], { credential: 'worker-secret' }).catch((e: Error) => e)
    await doomed.hung(orderId)
    // Stored and committed; the ledger change and the app's write are in the open transaction.
    expect(await q('SELECT applied_at FROM $schema.toss_iap_subscription_events WHERE order_id = $1', [orderId])).toEqual([
      { applied_at: null },
    ])
    doomed.process.kill('SIGKILL')
    await doomed.exited
    expect(await lost).toBeInstanceOf(Error) // Toss saw no answer
    expect(await q('SELECT subscription_status FROM $schema.toss_iap_grants WHERE order_id = $1', [orderId])).toEqual([
      { subscription_status: null },
    ])
    expect(await q('SELECT * FROM $schema.sub_access WHERE order_id = $1', [orderId])).toEqual([])

    // A process starts (a restart, or any other instance): it applies what is pending before it serves.
    const next = await startWorker(script, env)
    workers.push(next)
    expect(await q('SELECT subscription_status, access_active FROM $schema.toss_iap_grants WHERE order_id = $1', [orderId])).toEqual([
      { subscription_status: 'ACTIVE', access_active: true },
    ])
    expect(await q('SELECT status, pid FROM $schema.sub_access WHERE order_id = $1', [orderId])).toEqual([
      { status: 'ACTIVE', pid: next.process.pid },
    ])
    expect(await q('SELECT count(*)::int AS n FROM $schema.toss_iap_subscription_events WHERE applied_at IS NULL')).toEqual([{ n: 0 }])
    // Toss would not resend; a replay by hand is a duplicate and changes nothing.
    const replay = await sendTossWebhook(`http://127.0.0.1:${next.port}/toss/subscriptions`, subscriptionLifecycle(orderId)[0], {
      credential: 'worker-secret',
    })
    expect(replay).toMatchObject({ status: 200, body: { duplicate: true } })
  })
})
