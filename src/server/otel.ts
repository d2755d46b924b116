// `vue-toss-iap/server/otel`: the server half's events as OpenTelemetry metrics.
//
// `@opentelemetry/api` is an optional peer dependency. It is loaded here, lazily, and only by this
// entry: `vue-toss-iap/server` never imports it. Without it installed, the listener does nothing.
// Without an SDK registered, the API itself records nothing (its no-op meter).
import type { Attributes, Counter, Histogram, Meter, MeterProvider } from '@opentelemetry/api'
import type { ServerEvent, ServerEventListener } from './events.js'

export interface OpenTelemetryListenerOptions {
  /** Default: the global one (`metrics.getMeterProvider()`, set by your OpenTelemetry SDK), read again whenever it changes. */
  meterProvider?: MeterProvider
  /** Default `'vue-toss-iap'`. */
  meterName?: string
}

/** The metrics this listener records; attributes are low-cardinality (never an order id). */
export const OTEL_METRICS = {
  fulfilment: 'toss_iap.fulfilment.requests',
  fulfilmentDuration: 'toss_iap.fulfilment.duration',
  entitlements: 'toss_iap.entitlements.requests',
  entitlementsDuration: 'toss_iap.entitlements.duration',
  tossAttempts: 'toss_iap.toss.attempts',
  tossAttemptDuration: 'toss_iap.toss.attempt.duration',
  tossCalls: 'toss_iap.toss.calls',
  tossCallDuration: 'toss_iap.toss.call.duration',
  tossRetries: 'toss_iap.toss.retries',
  tossRotations: 'toss_iap.toss.rotations',
  webhook: 'toss_iap.webhook.events',
  reconcileOrders: 'toss_iap.reconcile.orders',
  reconcileRuns: 'toss_iap.reconcile.runs',
  health: 'toss_iap.health.checks',
  balance: 'toss_iap.balance.operations',
  balanceAmount: 'toss_iap.balance.amount',
  certificateDaysLeft: 'toss_iap.certificate.days_left',
} as const

interface Instruments {
  counters: Record<string, Counter>
  histograms: Record<string, Histogram>
  daysLeft: { value: number | null }
}

function instruments(meter: Meter): Instruments {
  const counter = (name: string, description: string) => meter.createCounter(name, { description, unit: '{event}' })
  const histogram = (name: string, description: string) => meter.createHistogram(name, { description, unit: 's' })
  const daysLeft = { value: null as number | null }
  meter
    .createObservableGauge(OTEL_METRICS.certificateDaysLeft, {
      description: 'Days until the soonest Toss client certificate expires (from the last health check)',
      unit: 'd',
    })
    .addCallback((result) => {
      if (daysLeft.value !== null) result.observe(daysLeft.value)
    })
  return {
    counters: {
      fulfilment: counter(OTEL_METRICS.fulfilment, 'Fulfilment answers by outcome (granted, repeat, refused) and error code'),
      entitlements: counter(OTEL_METRICS.entitlements, 'Entitlements answers by outcome and error code'),
      tossAttempts: counter(OTEL_METRICS.tossAttempts, 'HTTP requests to the Toss partner API by outcome'),
      tossCalls: counter(OTEL_METRICS.tossCalls, 'Order-status calls (retries included) by outcome'),
      tossRetries: counter(OTEL_METRICS.tossRetries, 'Order-status retries by the fault retried'),
      tossRotations: counter(OTEL_METRICS.tossRotations, 'Moves to another client certificate after a refused handshake'),
      webhook: counter(OTEL_METRICS.webhook, 'Subscription webhook requests and events by outcome'),
      reconcileOrders: counter(OTEL_METRICS.reconcileOrders, 'Orders reconcile() went through, by outcome'),
      reconcileRuns: counter(OTEL_METRICS.reconcileRuns, 'reconcile() runs by end (finished, stopped, busy)'),
      health: counter(OTEL_METRICS.health, 'Health probes by result'),
      balance: counter(
        OTEL_METRICS.balance,
        'Balance operations by outcome (credited, reversed, spent, repeat, refused, read) and currency',
      ),
      balanceAmount: meter.createCounter(OTEL_METRICS.balanceAmount, {
        description: 'Amounts credited, reversed and spent (repeats not counted), by outcome and currency',
        unit: '{unit}',
      }),
    },
    histograms: {
      fulfilment: histogram(OTEL_METRICS.fulfilmentDuration, 'Time to answer the fulfilment endpoint'),
      entitlements: histogram(OTEL_METRICS.entitlementsDuration, 'Time to answer the entitlements endpoint'),
      tossAttempt: histogram(OTEL_METRICS.tossAttemptDuration, 'Time of one HTTP request to Toss'),
      tossCall: histogram(OTEL_METRICS.tossCallDuration, 'Time of one order-status call, retries and waits included'),
    },
    daysLeft,
  }
}

const seconds = (ms: number) => ms / 1000

/** Records one event on the instruments. */
function record(m: Instruments, e: ServerEvent) {
  const c = m.counters
  const h = m.histograms
  const add = (counter: Counter, attributes: Attributes) => counter.add(1, attributes)
  switch (e.type) {
    case 'fulfilment.granted':
    case 'fulfilment.repeat': {
      const outcome = e.type === 'fulfilment.granted' ? 'granted' : 'repeat'
      add(c.fulfilment!, { outcome })
      h.fulfilment!.record(seconds(e.durationMs), { outcome })
      return
    }
    case 'fulfilment.refused':
      add(c.fulfilment!, { outcome: 'refused', 'error.type': e.code, 'http.response.status_code': e.httpStatus })
      h.fulfilment!.record(seconds(e.durationMs), { outcome: 'refused' })
      return
    case 'entitlements.read':
      add(c.entitlements!, { outcome: 'read' })
      h.entitlements!.record(seconds(e.durationMs), { outcome: 'read' })
      return
    case 'entitlements.refused':
      add(c.entitlements!, { outcome: 'refused', 'error.type': e.code, 'http.response.status_code': e.httpStatus })
      h.entitlements!.record(seconds(e.durationMs), { outcome: 'refused' })
      return
    case 'toss.attempt': {
      const outcome = e.code ?? e.tossStatus ?? 'answered'
      const attributes: Attributes = { outcome, ...(e.httpStatus !== null && { 'http.response.status_code': e.httpStatus }) }
      add(c.tossAttempts!, attributes)
      h.tossAttempt!.record(seconds(e.durationMs), { outcome })
      return
    }
    case 'toss.call': {
      const outcome = e.code ?? e.tossStatus ?? 'answered'
      add(c.tossCalls!, { outcome })
      h.tossCall!.record(seconds(e.durationMs), { outcome })
      return
    }
    case 'toss.retry':
      return add(c.tossRetries!, { 'error.type': e.code })
    case 'toss.rotate':
      return add(c.tossRotations!, {})
    case 'webhook.verification':
    case 'webhook.ignored':
    case 'webhook.stored':
    case 'webhook.duplicate':
    case 'webhook.applied':
    case 'webhook.lost':
    case 'webhook.pending-applied':
      if (e.type === 'webhook.pending-applied') {
        if (e.applied > 0) c.webhook!.add(e.applied, { outcome: 'applied' })
        if (e.failed > 0) c.webhook!.add(e.failed, { outcome: 'failed', stage: 'apply' })
        return
      }
      return add(c.webhook!, { outcome: e.type.slice('webhook.'.length) })
    case 'webhook.refused':
      return add(c.webhook!, { outcome: 'refused', 'error.type': e.code, 'http.response.status_code': e.httpStatus })
    case 'webhook.failed':
      return add(c.webhook!, { outcome: 'failed', stage: e.stage })
    case 'reconcile.checked':
    case 'reconcile.revoked':
    case 'reconcile.skipped':
    case 'reconcile.rate-limited':
      return add(c.reconcileOrders!, { outcome: e.type.slice('reconcile.'.length) })
    case 'reconcile.failed':
      return add(c.reconcileOrders!, { outcome: 'failed', 'error.type': e.code })
    case 'reconcile.finished':
      return add(c.reconcileRuns!, { outcome: e.finished ? 'finished' : 'stopped' })
    case 'reconcile.busy':
      return add(c.reconcileRuns!, { outcome: 'busy' })
    case 'balance.credited':
    case 'balance.reversed':
    case 'balance.spent': {
      const outcome = e.type === 'balance.spent' && e.repeat ? 'repeat' : e.type.slice('balance.'.length)
      const attributes: Attributes = { outcome, currency: e.currency, ...(e.type === 'balance.reversed' && { flagged: e.flagged }) }
      add(c.balance!, attributes)
      if (outcome !== 'repeat') c.balanceAmount!.add(e.amount, attributes)
      return
    }
    case 'balance.refused':
      return add(c.balance!, { outcome: 'refused', 'error.type': e.code, 'http.response.status_code': e.httpStatus })
    case 'balance.read':
      return add(c.balance!, { outcome: 'read' })
    case 'health.checked':
      if (e.certificateDaysLeft !== null) m.daysLeft.value = e.certificateDaysLeft
      return add(c.health!, { healthy: e.healthy })
  }
}

/**
 * A listener for every factory's `onEvent` that records the events as OpenTelemetry metrics (see
 * `OTEL_METRICS`). Resolves to a listener that does nothing when `@opentelemetry/api` is not installed.
 */
export async function createOpenTelemetryListener(options: OpenTelemetryListenerOptions = {}): Promise<ServerEventListener> {
  let api: typeof import('@opentelemetry/api')
  try {
    api = await import('@opentelemetry/api')
  } catch {
    return () => {}
  }
  const name = options.meterName ?? 'vue-toss-iap'
  // The metrics API has no proxy meter: a meter taken before the SDK registers stays a no-op. So
  // the global provider is read at each event and the instruments made again when it changed.
  let provider: MeterProvider | undefined
  let current: Instruments | undefined
  return (event) => {
    const now = options.meterProvider ?? api.metrics.getMeterProvider()
    if (now !== provider || !current) {
      provider = now
      current = instruments(now.getMeter(name))
    }
    record(current, event)
  }
}
