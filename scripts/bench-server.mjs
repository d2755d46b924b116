// The server half of `npm run bench` (run by scripts/bench.mjs in its own process, away from
// happy-dom's globals). The package's fulfilment and entitlements handlers, mounted with
// toNodeListener, side by side with the hand-written yardstick (scripts/minimal-handler.mjs): same
// process, same fake Toss partner API over real mutual TLS, same database (PGlite on disk, and
// PostgreSQL when TEST_PG_URL or DATABASE_URL names one), same HTTP client, 16 concurrent clients,
// in alternating rounds (each round the other one goes first). Rows: fresh verified grants/s,
// repeats/s and entitlements/s with p50/p99, and the ratio to the yardstick; the partner client's
// order-status calls/s with a custom CA against a raw keep-alive https.Agent. Prints its rows as JSON.
//
// Environment: BENCH_SERVER_ROUNDS (default 6), BENCH_SERVER_ONLY=package|minimal (profiling one
// side), BENCH_SERVER_DB=pglite|pg, BENCH_SERVER_HONO=1 adds the package's handlers mounted with
// @hono/node-server (a devDependency) as a third contender.
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import {
  createEntitlementsHandler,
  createFulfilmentHandler,
  createGrantLedger,
  createTossPartnerClient,
  toNodeListener,
} from '../dist/server.js'
import { startFakeTossPartnerApi } from '../dist/testing-server.js'
import { createMinimalHandler, migrateMinimal } from './minimal-handler.mjs'

const CONCURRENCY = 16
const ROUNDS = Number(process.env.BENCH_SERVER_ROUNDS ?? 12)
const FRESH = 120 // new orders per contender and round (rounds of 40 swung 0.3–1.5× from round to round)
const READS = 400 // repeats, and entitlements reads, per contender and round
const USERS = 40
const SKUS = ['remove-ads', 'theme-pack', 'gems']
const PRODUCTS = { 'remove-ads': 'NON_CONSUMABLE', 'theme-pack': 'NON_CONSUMABLE', gems: 'CONSUMABLE' }
const ONLY = process.env.BENCH_SERVER_ONLY
const rows = []
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]
const median = (xs) => pct(xs, 50)

const api = await startFakeTossPartnerApi()
const tossOptions = api.clientOptions()
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })

/** One request; resolves with the parsed JSON of a 200, rejects on anything else. */
function call(port, method, path, userId, body) {
  const text = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port,
      path,
      method,
      agent,
      headers: {
        Authorization: `Bearer ${userId}`,
        ...(text !== undefined && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }),
      },
    })
    request.on('response', (response) => {
      let answer = ''
      response.setEncoding('utf8')
      response.on('data', (c) => (answer += c))
      response.on('end', () =>
        response.statusCode === 200 ? resolve(JSON.parse(answer)) : reject(new Error(`${path} answered ${response.statusCode} ${answer}`)),
      )
    })
    request.on('error', reject)
    request.end(text)
  })
}

/** Runs `count` requests through CONCURRENCY workers; answers requests/s and each one's latency. */
async function load(count, send) {
  const latencies = []
  let next = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++
        const t = performance.now()
        await send(i)
        latencies.push(performance.now() - t)
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  return { ms: performance.now() - start, latencies, cpuUs: used.user + used.system }
}

const listen = (listener) =>
  new Promise((resolve) => {
    const server = http.createServer(listener)
    server.keepAliveTimeout = 30_000
    server.listen(0, '127.0.0.1', () => resolve(server))
  })

/** The contenders on one database: each a node:http server with POST /fulfil and GET /entitlements. */
async function contenders(db) {
  const ledger = await createGrantLedger(db)
  await db.query('CREATE TABLE IF NOT EXISTS bench_products (order_id text PRIMARY KEY, user_id text NOT NULL)')
  await migrateMinimal(db)
  const toss = createTossPartnerClient({ ...tossOptions, maxSockets: 32 })
  const authenticate = (request) => {
    const auth = request.headers.get('Authorization') ?? ''
    const userId = auth.startsWith('Bearer ') ? auth.slice(7) : ''
    return userId === '' ? null : { userId, userKey: `uk-${userId}` }
  }
  const fulfil = createFulfilmentHandler({
    toss,
    ledger,
    authenticate,
    onGrant: (order, tx) => tx.query('INSERT INTO bench_products (order_id, user_id) VALUES ($1, $2)', [order.orderId, order.userId]),
  })
  const entitlements = createEntitlementsHandler({ ledger, authenticate, products: PRODUCTS })
  const route = (a, b) => (req, res) => (req.url === '/entitlements' ? b(req, res) : a(req, res))
  const list = []
  if (ONLY !== 'minimal') list.push({ name: 'package', listener: route(toNodeListener(fulfil), toNodeListener(entitlements)) })
  if (ONLY !== 'package') {
    const minimal = createMinimalHandler({ db, toss: tossOptions, products: PRODUCTS })
    list.push({ name: 'minimal', listener: minimal, close: minimal.close })
  }
  if (process.env.BENCH_SERVER_HONO) {
    // `override`: its default, which replaces the process's global Request and Response with its own.
    const { getRequestListener } = await import('@hono/node-server')
    const options = { overrideGlobalObjects: process.env.BENCH_SERVER_HONO === 'override' }
    list.push({
      name: `@hono/node-server${options.overrideGlobalObjects ? ', globals replaced' : ''}`,
      listener: route(getRequestListener(fulfil, options), getRequestListener(entitlements, options)),
    })
  }
  for (const c of list) {
    c.server = await listen(c.listener)
    c.port = c.server.address().port
    c.granted = []
    c.serial = 0
    c.results = { fresh: [], repeat: [], entitlements: [] }
  }
  return { list, close: () => (toss.close(), list.forEach((c) => (c.server.close(), c.close?.()))) }
}

let serial = 0
const phases = {
  /** New paid orders: the fake Toss is asked, the ledger inserts the grant and the product row. */
  fresh: (c, n) => {
    const orders = Array.from({ length: n }, () => {
      // Each user's first order is a non-consumable, so every user owns something to read.
      const i = c.serial++
      const order = {
        orderId: `${c.name.replace(/\W/g, '')}-${process.pid}-${serial++}`,
        userId: `user-${i % USERS}`,
        sku: SKUS[Math.floor(i / USERS) % SKUS.length],
      }
      api.setOrder({ orderId: order.orderId, sku: order.sku, status: 'PAYMENT_COMPLETED', userKey: `uk-${order.userId}` })
      return order
    })
    return load(n, async (i) => {
      const o = orders[i]
      const body = await call(c.port, 'POST', '/fulfil', o.userId, { orderId: o.orderId, sku: o.sku, kind: 'one-time', source: 'purchase' })
      if (body.repeat !== false) throw new Error(`${c.name}: a fresh order answered as a repeat`)
      c.granted.push(o)
    })
  },
  /** The same orders again (the page retrying, recovery on every start): answered from the ledger. */
  repeat: (c, n) =>
    load(n, async (i) => {
      const o = c.granted[(i * 7919) % c.granted.length]
      const body = await call(c.port, 'POST', '/fulfil', o.userId, { orderId: o.orderId, sku: o.sku, kind: 'one-time', source: 'recovery' })
      if (body.repeat !== true) throw new Error(`${c.name}: a repeat answered as fresh`)
    }),
  /** What each user owns, read on every app start. */
  entitlements: (c, n) =>
    load(n, async (i) => {
      const body = await call(c.port, 'GET', '/entitlements', `user-${i % USERS}`)
      if (!Array.isArray(body.entitlements) || body.entitlements.length === 0) throw new Error(`${c.name}: no entitlements`)
    }),
}
const PHASES = process.env.BENCH_SERVER_PHASES?.split(',') ?? Object.keys(phases)
const sizes = { fresh: FRESH, repeat: READS, entitlements: READS }

const fmt = (r) => `${r.rate.toFixed(0)}/s · p50 ${r.p50.toFixed(1)} ms · p99 ${r.p99.toFixed(1)} ms`
const summary = (results) => {
  const ms = results.reduce((s, r) => s + r.ms, 0)
  const latencies = results.flatMap((r) => r.latencies)
  const cpu = results.reduce((s, r) => s + r.cpuUs, 0) / latencies.length
  return { rate: (latencies.length / ms) * 1000, p50: pct(latencies, 50), p99: pct(latencies, 99), cpu }
}

async function bench(store, db) {
  const { list, close } = await contenders(db)
  // Warm-up: connections, JIT, the ledger's first rows (not counted).
  for (const c of list) {
    await phases.fresh(c, 40)
    await phases.repeat(c, 200)
    await phases.entitlements(c, 200)
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? list : [...list].reverse()
    for (const phase of PHASES) for (const c of order) c.results[phase].push(await phases[phase](c, sizes[phase]))
  }
  const minimal = list.find((c) => c.name === 'minimal')
  const names = { fresh: 'fresh verified grants/s', repeat: 'repeat answers/s', entitlements: 'entitlements answers/s' }
  const what = {
    fresh: `${FRESH} new orders a round, each asked of the fake Toss (mTLS) and granted with its product row in one transaction`,
    repeat: `${READS} repeats a round, answered from the ledger`,
    entitlements: `${READS} reads a round over ${USERS} users (about ${Math.round((ROUNDS * FRESH + 40) / USERS)} orders each)`,
  }
  for (const phase of PHASES) {
    const m = minimal && summary(minimal.results[phase])
    for (const c of list) {
      if (c === minimal) continue
      const s = summary(c.results[phase])
      let value = fmt(s)
      let note = `${what[phase]}; ${ROUNDS} alternating rounds, ${CONCURRENCY} concurrent clients, loopback HTTP`
      if (m) {
        const perRound = c.results[phase].map(
          (r, i) => r.latencies.length / r.ms / (minimal.results[phase][i].latencies.length / minimal.results[phase][i].ms),
        )
        const rate = s.rate / m.rate
        const p99 = s.p99 / m.p99
        const target = phase === 'fresh' ? rate >= 0.8 : rate >= 0.8 && p99 <= 1.25
        value += ` · minimal handler ${fmt(m)} · **${rate.toFixed(2)}× rate, ${p99.toFixed(2)}× p99**`
        note =
          `target ≥ 0.8× rate${phase === 'fresh' ? '' : ', p99 ≤ 1.25×'}: ${target ? 'met' : 'NOT MET'}; ` +
          `rate ratio per round ${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)} (median ${median(perRound).toFixed(2)}); ` +
          `CPU of this process per answer (server, client and fake Toss together) ${s.cpu.toFixed(0)} µs vs ${m.cpu.toFixed(0)} µs; ${note}`
      }
      rows.push(['server', `${names[phase]} (${store}${c.name === 'package' ? '' : `, ${c.name}`})`, value, note])
    }
    if (ONLY === 'minimal') rows.push(['server', `${names[phase]} (${store}, minimal)`, fmt(m), what[phase]])
  }
  close()
}

const wantPglite = process.env.BENCH_SERVER_DB !== 'pg'
const wantPg = process.env.BENCH_SERVER_DB !== 'pglite'
if (wantPglite) {
  const dir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-bench-'))
  const lite = new PGlite(dir)
  await bench('PGlite on disk', lite)
  await lite.close()
  rmSync(dir, { recursive: true, force: true })
}

const url = process.env.TEST_PG_URL ?? process.env.DATABASE_URL
if (url && wantPg) {
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
} else if (wantPg) {
  rows.push(['server', 'fresh verified grants/s (PostgreSQL)', 'not measured', 'no TEST_PG_URL (scripts/start-postgres.sh starts one)'])
}

// The partner client alone: order-status calls/s with the custom CA the fake Toss needs, against a
// raw keep-alive https.Agent given the same certificates, alternating rounds.
if (process.env.BENCH_SERVER_PARTNER !== '0') {
  const CALLS = 400
  const ids = Array.from({ length: 50 }, (_, i) => `partner-${process.pid}-${i}`)
  for (const orderId of ids) api.setOrder({ orderId, sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'uk-partner' })
  const client = createTossPartnerClient({ ...tossOptions, maxSockets: CONCURRENCY })
  const raw = new https.Agent({
    cert: tossOptions.cert,
    key: tossOptions.key,
    ca: tossOptions.ca,
    keepAlive: true,
    maxSockets: CONCURRENCY,
  })
  const statusUrl = new URL('/api-partner/v1/apps-in-toss/order/get-order-status', tossOptions.baseUrl)
  const rawCall = (orderId) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ orderId })
      const request = https.request(statusUrl, {
        method: 'POST',
        agent: raw,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'x-toss-user-key': 'uk-partner' },
      })
      request.on('error', reject)
      request.on('response', (response) => {
        let text = ''
        response.on('data', (c) => (text += c))
        response.on('end', () => (JSON.parse(text).success?.status === 'PAYMENT_COMPLETED' ? resolve() : reject(new Error(text))))
      })
      request.end(body)
    })
  const sides = [
    { name: 'client', results: [], send: (i) => client.getOrderStatus(ids[i % ids.length], { userKey: 'uk-partner' }) },
    { name: 'raw', results: [], send: (i) => rawCall(ids[i % ids.length]) },
  ]
  for (const s of sides) await load(100, s.send)
  for (let round = 0; round < ROUNDS; round++)
    for (const s of round % 2 === 0 ? sides : [...sides].reverse()) s.results.push(await load(CALLS, s.send))
  const [c, r] = sides.map((s) => summary(s.results))
  rows.push([
    'server',
    'partner client order-status calls/s, custom ca',
    `${fmt(c)} · raw keep-alive https.Agent ${fmt(r)} · **${(c.rate / r.rate).toFixed(2)}× rate**`,
    `createTossPartnerClient with ca (the fake Toss's CA) against https.request on a keep-alive Agent with the same cert, key and ca; ${CALLS} calls a round, ${ROUNDS} alternating rounds, ${CONCURRENCY} at once`,
  ])
  client.close()
  raw.destroy()
}
await api.close()

// `vite dev` with vue-toss-iap/vite: how long the first request to the server half waits for it to
// start (its in-memory PGlite and the fake Toss), on the first `vite dev` of a project (initdb, then
// the empty database kept in Vite's cache folder) and on a later one (that dump loaded).
if (process.env.BENCH_SERVER_VITE !== '0') {
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
