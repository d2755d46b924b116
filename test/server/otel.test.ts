// The events as OpenTelemetry metrics through the real @opentelemetry/api (its global meter
// provider, set to a recording one here: the API is not mocked), and as JSON log lines; and the
// otel entry as a no-op where @opentelemetry/api is not installed.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNoopMeter, metrics, type Attributes, type Meter, type MeterProvider, type ObservableResult } from '@opentelemetry/api'
import { build } from 'esbuild'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jsonLines } from '../../examples/server/observe.ts'
import {
  combineEventListeners,
  createFulfilmentHandler,
  createGrantLedger,
  createHealthHandler,
  createTossPartnerClient,
  type GrantLedger,
  type ServerEvent,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { createOpenTelemetryListener, OTEL_METRICS } from '../../src/server/otel.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPGlite } from './pglite.ts'

interface Point {
  meter: string
  instrument: string
  kind: 'counter' | 'histogram' | 'gauge'
  value: number
  attributes: Attributes
}

/** A MeterProvider that keeps every recorded point: the API's own interfaces, over its no-op meter. */
function recordingProvider() {
  const points: Point[] = []
  const gauges: Array<{ meter: string; instrument: string; callback: (r: ObservableResult) => void }> = []
  const provider: MeterProvider = {
    getMeter(name) {
      const base = createNoopMeter()
      const meter: Meter = Object.create(base)
      meter.createCounter = (instrument) =>
        Object.assign(Object.create(base.createCounter(instrument)), {
          add: (value: number, attributes: Attributes = {}) =>
            void points.push({ meter: name, instrument, kind: 'counter', value, attributes }),
        })
      meter.createHistogram = (instrument) =>
        Object.assign(Object.create(base.createHistogram(instrument)), {
          record: (value: number, attributes: Attributes = {}) =>
            void points.push({ meter: name, instrument, kind: 'histogram', value, attributes }),
        })
      meter.createObservableGauge = (instrument) =>
        Object.assign(Object.create(base.createObservableGauge(instrument)), {
          addCallback: (callback: (r: ObservableResult) => void) => void gauges.push({ meter: name, instrument, callback }),
        })
      return meter
    },
  }
  /** What a collection would read from the observable gauges now. */
  const collect = () => {
    const read: Point[] = []
    for (const g of gauges)
      g.callback({
        observe: (value, attributes = {}) => void read.push({ meter: g.meter, instrument: g.instrument, kind: 'gauge', value, attributes }),
      })
    return read
  }
  return { provider, points, collect }
}

const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)))

let api: FakeTossPartnerApi
let toss: TossPartnerClient
let ledger: GrantLedger
let closeDb: () => Promise<void>
beforeAll(async () => {
  api = await startFakeTossPartnerApi()
  const pgl = await openPGlite()
  closeDb = pgl.close
  ledger = await createGrantLedger(pgl.db)
})
afterAll(async () => {
  toss?.close()
  await api?.close()
  await closeDb?.()
})
afterEach(() => metrics.disable())

describe('createOpenTelemetryListener', () => {
  it('records balance credits, spends (repeats counted, not their amounts), refusals and reversals by currency', async () => {
    const { provider, points } = recordingProvider()
    const otel = await createOpenTelemetryListener({ meterProvider: provider })
    otel({ type: 'balance.credited', orderId: 'o-1', currency: 'gems', amount: 100 })
    otel({ type: 'balance.spent', currency: 'gems', amount: 30, repeat: false, durationMs: 1 })
    otel({ type: 'balance.spent', currency: 'gems', amount: 30, repeat: true, durationMs: 1 })
    otel({ type: 'balance.refused', httpStatus: 409, code: 'INSUFFICIENT_BALANCE', durationMs: 1 })
    otel({ type: 'balance.reversed', orderId: 'o-1', currency: 'gems', amount: 70, flagged: true })
    const of = (instrument: string) => points.filter((p) => p.instrument === instrument).map((p) => ({ value: p.value, ...p.attributes }))
    expect(of(OTEL_METRICS.balance)).toEqual([
      { value: 1, outcome: 'credited', currency: 'gems' },
      { value: 1, outcome: 'spent', currency: 'gems' },
      { value: 1, outcome: 'repeat', currency: 'gems' },
      { value: 1, outcome: 'refused', 'error.type': 'INSUFFICIENT_BALANCE', 'http.response.status_code': 409 },
      { value: 1, outcome: 'reversed', currency: 'gems', flagged: true },
    ])
    expect(of(OTEL_METRICS.balanceAmount)).toEqual([
      { value: 100, outcome: 'credited', currency: 'gems' },
      { value: 30, outcome: 'spent', currency: 'gems' },
      { value: 70, outcome: 'reversed', currency: 'gems', flagged: true },
    ])
  })

  it('records grants, refusals, Toss requests and certificate days through the global meter provider, set after it was created', async () => {
    // Created before the SDK registers its provider, as happens when modules load in any order.
    const otel = await createOpenTelemetryListener()
    const { provider, points, collect } = recordingProvider()
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true)

    toss = createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 20 }, onEvent: otel })
    const fulfil = createFulfilmentHandler({
      toss,
      ledger,
      authenticate: () => ({ userId: 'otel-user', userKey: 'tk-otel' }),
      onEvent: otel,
    })
    api.setOrder({ orderId: 'otel-1', sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'tk-otel' })
    api.setOrder({ orderId: 'otel-2', sku: 'remove-ads', status: 'FAILED', userKey: 'tk-otel' })
    api.failNext({ http: 500 }, 1, 'otel-1')
    const post = (orderId: string) =>
      fulfil(
        new Request('https://api.example/iap/fulfil', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ orderId }),
        }),
      )
    expect((await post('otel-1')).status).toBe(200)
    expect((await post('otel-1')).status).toBe(200)
    expect((await post('otel-2')).status).toBe(402)
    const health = createHealthHandler({ ledger, toss, onEvent: otel })
    expect((await health(new Request('http://lb/healthz'))).status).toBe(200)
    await settle()

    const counted = (instrument: string) =>
      points.filter((p) => p.instrument === instrument && p.kind === 'counter').map((p) => ({ value: p.value, ...p.attributes }))
    expect(points.every((p) => p.meter === 'vue-toss-iap')).toBe(true)
    expect(counted(OTEL_METRICS.fulfilment)).toEqual([
      { value: 1, outcome: 'granted' },
      { value: 1, outcome: 'repeat' },
      { value: 1, outcome: 'refused', 'error.type': 'PAYMENT_FAILED', 'http.response.status_code': 402 },
    ])
    expect(counted(OTEL_METRICS.tossAttempts)).toEqual([
      { value: 1, outcome: 'SERVER_ERROR', 'http.response.status_code': 500 },
      { value: 1, outcome: 'PAYMENT_COMPLETED', 'http.response.status_code': 200 },
      { value: 1, outcome: 'FAILED', 'http.response.status_code': 200 },
    ])
    expect(counted(OTEL_METRICS.tossRetries)).toEqual([{ value: 1, 'error.type': 'SERVER_ERROR' }])
    expect(counted(OTEL_METRICS.health)).toEqual([{ value: 1, healthy: true }])
    const durations = points.filter((p) => p.instrument === OTEL_METRICS.fulfilmentDuration)
    expect(durations).toHaveLength(3)
    for (const d of durations) expect(d.value).toBeGreaterThan(0)
    // The test CA's client certificate is valid a day: 0 whole days left.
    expect(collect()).toEqual([
      { meter: 'vue-toss-iap', instrument: OTEL_METRICS.certificateDaysLeft, kind: 'gauge', value: 0, attributes: {} },
    ])
    // Low cardinality, nothing personal: no order id, user or key in any attribute.
    const attributes = JSON.stringify(points.map((p) => p.attributes))
    for (const word of ['otel-1', 'otel-2', 'otel-user', 'tk-otel']) expect(attributes).not.toContain(word)
  })

  it('records on a meterProvider given as an option, and nothing globally', async () => {
    const own = recordingProvider()
    const global = recordingProvider()
    metrics.setGlobalMeterProvider(global.provider)
    const otel = await createOpenTelemetryListener({ meterProvider: own.provider, meterName: 'my-app' })
    otel({ type: 'webhook.lost', orderId: 'x' })
    otel({
      type: 'reconcile.finished',
      name: 'default',
      finished: false,
      checked: 1,
      refunded: 0,
      skipped: 0,
      failed: 0,
      requests: 9,
      rateLimited: 8,
      durationMs: 5,
    })
    expect(own.points).toEqual([
      { meter: 'my-app', instrument: OTEL_METRICS.webhook, kind: 'counter', value: 1, attributes: { outcome: 'lost' } },
      { meter: 'my-app', instrument: OTEL_METRICS.reconcileRuns, kind: 'counter', value: 1, attributes: { outcome: 'stopped' } },
    ])
    expect(global.points).toEqual([])
  })

  it('does nothing, without an error, where @opentelemetry/api is not installed', { timeout: 60_000 }, async () => {
    // The entry as the package ships it (its imports left as they are), loaded from a directory
    // with no node_modules above it.
    const dir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-otel-'))
    try {
      await build({
        entryPoints: [join(process.cwd(), 'src/server/otel.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        outfile: join(dir, 'otel.mjs'),
        logLevel: 'warning',
      })
      const script =
        "const { createOpenTelemetryListener } = await import('./otel.mjs');" +
        'const listen = await createOpenTelemetryListener();' +
        "listen({ type: 'webhook.verification' });" +
        "let found = true; try { await import('@opentelemetry/api') } catch { found = false }" +
        'console.log(JSON.stringify({ type: typeof listen, found }))'
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' })
      expect(JSON.parse(out)).toEqual({ type: 'function', found: false })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the JSON-lines recipe (examples/server/observe.ts)', () => {
  it('writes one parseable line per event with a time and a level, alongside other listeners', async () => {
    const lines: string[] = []
    const seen: ServerEvent[] = []
    const onEvent = combineEventListeners(
      () => {
        throw new Error('a broken listener does not stop the others')
      },
      jsonLines((line) => void lines.push(line)),
      (e) => void seen.push(e),
    )
    const original = console.error
    console.error = () => {}
    try {
      onEvent({ type: 'fulfilment.refused', orderId: 'o-1', httpStatus: 503, code: 'TOSS_UNAVAILABLE', retryable: true, durationMs: 12.5 })
      onEvent({ type: 'webhook.stored', orderId: 'o-2', status: 'ACTIVE', changeReason: null })
    } finally {
      console.error = original
    }
    expect(seen).toHaveLength(2)
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true)
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(parsed[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: 'error',
      type: 'fulfilment.refused',
      orderId: 'o-1',
      httpStatus: 503,
      code: 'TOSS_UNAVAILABLE',
      retryable: true,
      durationMs: 12.5,
    })
    expect(parsed[1]).toMatchObject({ level: 'info', type: 'webhook.stored', orderId: 'o-2' })
  })
})
