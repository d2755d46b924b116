// The server half of `npm run bench` (run by scripts/bench.mjs in its own process, away from
// happy-dom's globals): verified fulfilments per second and p50/p99 latency over loopback HTTP,
// each order asked of the fake Toss partner API (real mutual TLS) and granted in the ledger, on
// PGlite and on PostgreSQL when TEST_PG_URL (or DATABASE_URL) names one. Prints its rows as JSON.
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import {
  createBalances,
  createFulfilmentHandler,
  createGrantLedger,
  createSpendHandler,
  createTossPartnerClient,
  toNodeListener,
} from '../dist/server.js'
import { startFakeTossPartnerApi } from '../dist/testing-server.js'

const ORDERS = 400
const REPEATS = 1000
const SPENDS = 1000
const CONCURRENCY = 16
const rows = []
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]

const api = await startFakeTossPartnerApi()
const toss = createTossPartnerClient({ ...api.clientOptions(), maxSockets: CONCURRENCY })
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })

function post(port, orderId, spendKey) {
  const body = spendKey
    ? JSON.stringify({ currency: 'gems', amount: 1, reason: 'bench' })
    : JSON.stringify({ orderId, sku: 'remove-ads', kind: 'one-time', source: 'purchase' })
  const extra = spendKey ? { 'Idempotency-Key': spendKey } : {}
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: 'Bearer u', ...extra },
      },
      (response) => {
        let text = ''
        response.on('data', (c) => (text += c))
        response.on('end', () =>
          response.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${response.statusCode} ${text}`)),
        )
      },
    )
    request.on('error', reject)
    request.end(body)
  })
}

/** Sends every id through CONCURRENCY workers; answers requests/s and each request's latency. */
async function run(port, ids, spend = false) {
  const latencies = []
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        const id = ids[next++]
        const t = performance.now()
        await post(port, id, spend ? id : undefined)
        latencies.push(performance.now() - t)
      }
    }),
  )
  return { perSecond: (ids.length / (performance.now() - start)) * 1000, latencies }
}

async function bench(store, db) {
  const ledger = await createGrantLedger(db)
  await db.query('CREATE TABLE IF NOT EXISTS bench_products (order_id text PRIMARY KEY, user_id text NOT NULL)')
  const fulfil = createFulfilmentHandler({
    toss,
    ledger,
    authenticate: () => ({ userId: 'u', userKey: 'uk' }),
    onGrant: (order, tx) => tx.query('INSERT INTO bench_products (order_id, user_id) VALUES ($1, $2)', [order.orderId, order.userId]),
  })
  const server = http.createServer(toNodeListener(fulfil))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port
  const tag = `${store.replace(/\W+/g, '-')}-${Date.now()}`
  const ids = Array.from({ length: ORDERS }, (_, i) => `${tag}-${i}`)
  for (const orderId of ids) api.setOrder({ orderId, sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'uk' })
  await run(
    port,
    ids.slice(0, 20).map((id) => `${id}`),
  ) // warm-up (these 20 are granted here)
  const fresh = await run(port, ids.slice(20))
  const tossBefore = api.requests.length
  const repeat = await run(
    port,
    Array.from({ length: REPEATS }, (_, i) => ids[i % ids.length]),
  )
  const note = `${CONCURRENCY} concurrent clients, loopback HTTP`
  rows.push([
    'server',
    `verified fulfilments/s (${store})`,
    `${fresh.perSecond.toFixed(0)}/s · p50 ${pct(fresh.latencies, 50).toFixed(1)} ms · p99 ${pct(fresh.latencies, 99).toFixed(1)} ms`,
    `${ORDERS - 20} new orders, each asked of the fake Toss API (mTLS) and granted with onGrant in one transaction; ${note}`,
  ])
  rows.push([
    'server',
    `repeat answers/s (${store})`,
    `${repeat.perSecond.toFixed(0)}/s · p50 ${pct(repeat.latencies, 50).toFixed(1)} ms · p99 ${pct(repeat.latencies, 99).toFixed(1)} ms`,
    `${REPEATS} repeats from the ledger; Toss asked ${api.requests.length - tossBefore} times; ${note}`,
  ])
  server.close()

  // Spends of one balance (the worst case: every spend waits on the same row lock).
  const balances = createBalances({ ledger, credits: { 'bench-gems': { gems: 1_000_000 } } })
  await ledger.grant({ orderId: `${tag}-gems`, userId: 'u', sku: 'bench-gems', kind: 'one-time', tossStatus: 'PURCHASED' }, (record, tx) =>
    balances.credit(record, tx),
  )
  const spender = http.createServer(toNodeListener(createSpendHandler({ balances, authenticate: () => ({ userId: 'u', userKey: 'uk' }) })))
  await new Promise((r) => spender.listen(0, '127.0.0.1', r))
  const keys = Array.from({ length: SPENDS + 20 }, (_, i) => `${tag}-spend-${i}`)
  await run(spender.address().port, keys.slice(0, 20), true) // warm-up
  const spends = await run(spender.address().port, keys.slice(20), true)
  rows.push([
    'server',
    `spends/s, one balance (${store})`,
    `${spends.perSecond.toFixed(0)}/s · p50 ${pct(spends.latencies, 50).toFixed(1)} ms · p99 ${pct(spends.latencies, 99).toFixed(1)} ms`,
    `${SPENDS} spends of 1 with their own keys, all on one user's gems (one row lock); balance left ${await balances.balanceOf('u', 'gems')}; ${note}`,
  ])
  spender.close()
}

const dir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-bench-'))
const lite = new PGlite(dir)
await bench('PGlite on disk', lite)
await lite.close()
rmSync(dir, { recursive: true, force: true })

const url = process.env.TEST_PG_URL ?? process.env.DATABASE_URL
if (url) {
  const schema = `bench_${process.pid}`
  const admin = new pg.Pool({ connectionString: url })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: CONCURRENCY })
  try {
    await bench('PostgreSQL', pool)
  } finally {
    await pool.end()
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  }
} else {
  rows.push(['server', 'verified fulfilments/s (PostgreSQL)', 'not measured', 'no TEST_PG_URL (scripts/start-postgres.sh starts one)'])
}
toss.close()
await api.close()

// `vite dev` with vue-toss-iap/vite: how long the first request to the server half waits for it to
// start (its in-memory PGlite and the fake Toss), on the first `vite dev` of a project (initdb, then
// the empty database kept in Vite's cache folder) and on a later one (that dump loaded).
{
  const { serverHalfEndpoints } = await import('../dist/vite/serverHalf.js')
  const cacheDir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-bench-vite-'))
  const firstAnswer = async () => {
    const half = serverHalfEndpoints([], () => cacheDir)
    const start = performance.now()
    const cpu = process.cpuUsage()
    const response = await half.endpoints['/api/iap/entitlements'](new Request('http://localhost/api/iap/entitlements'))
    if (response.status !== 200) throw new Error(`server half answered ${response.status}`)
    const used = process.cpuUsage(cpu)
    await half.close()
    return `${(performance.now() - start).toFixed(0)} ms (${((used.user + used.system) / 1000).toFixed(0)} ms CPU)`
  }
  const first = await firstAnswer()
  const later = [await firstAnswer(), await firstAnswer(), await firstAnswer()]
  rmSync(cacheDir, { recursive: true, force: true })
  rows.push([
    'vite dev',
    "first answer of the server half, a project's first vite dev",
    first,
    'initdb of the in-memory PGlite, then its dump kept in the cache folder',
  ])
  rows.push(['vite dev', 'first answer of the server half, later vite dev', later.join(' · '), 'three starts, each loading the kept dump'])
}
console.log(JSON.stringify(rows))
process.exit(0)
