import type { TossApiErrorCode } from './errors.js'
import type { ServerErrorCode } from './http.js'
import type { TossOperation, TossOrderStatus } from './tossApi.js'

/**
 * What the server half did, one event per outcome: the handlers, the partner client, `reconcile()`
 * and the health check report them through their `onEvent` option.
 *
 * Privacy rule: an event carries order ids, skus, statuses, codes, counts and durations, never a
 * certificate, key, credential, token, Toss user key or user id (logs and metrics are read by more
 * people than the ledger, and a user id per data point would also blow up metric cardinality: an
 * operator who needs the user joins the `orderId` with the ledger).
 */
export type ServerEvent =
  // The fulfilment endpoint (one event per request).
  | { type: 'fulfilment.granted'; orderId: string; sku: string; tossStatus: string; durationMs: number }
  | { type: 'fulfilment.repeat'; orderId: string; sku: string; durationMs: number }
  | {
      type: 'fulfilment.refused'
      /** `null` when the body did not get as far as a readable order id. */
      orderId: string | null
      httpStatus: number
      code: ServerErrorCode
      retryable: boolean
      durationMs: number
    }
  // The entitlements endpoint (one per request).
  | { type: 'entitlements.read'; entitlements: number; active: number; durationMs: number }
  | { type: 'entitlements.refused'; httpStatus: number; code: ServerErrorCode; durationMs: number }
  // The partner client: one `toss.attempt` per HTTP request, one `toss.call` per call (order-status
  // and Toss login's calls; `orderId` is `null` for the login calls).
  | {
      type: 'toss.attempt'
      operation: TossOperation
      orderId: string | null
      attempt: number
      durationMs: number
      /** `null` when no HTTP answer came (network, timeout, TLS). */
      httpStatus: number | null
      /** Toss's order status when it answered one. */
      tossStatus: TossOrderStatus | null
      /** Why the attempt gave no usable answer; `null` when it did. */
      code: TossApiErrorCode | null
    }
  | {
      type: 'toss.retry'
      operation: TossOperation
      orderId: string | null
      attempt: number
      code: TossApiErrorCode | 'STATUS_ERROR'
      delayMs: number
    }
  | { type: 'toss.rotate'; from: number; to: number }
  | {
      type: 'toss.call'
      operation: TossOperation
      orderId: string | null
      attempts: number
      durationMs: number
      tossStatus: TossOrderStatus | null
      code: TossApiErrorCode | null
    }
  // The subscription webhook.
  | { type: 'webhook.verification' }
  | { type: 'webhook.ignored'; eventType: string }
  | { type: 'webhook.refused'; httpStatus: number; code: ServerErrorCode }
  | { type: 'webhook.stored'; orderId: string; status: string; changeReason: string | null }
  | { type: 'webhook.duplicate'; orderId: string }
  | { type: 'webhook.applied'; orderId: string; status: string; accessActive: boolean | null; lostEvent: boolean }
  /** An applied event's `previous` disagrees with the stored event before it: Toss lost one. */
  | { type: 'webhook.lost'; orderId: string }
  /** `store`: the event is lost to you (answered 503); `apply`: stored, pending for `applyPending()`. */
  | { type: 'webhook.failed'; orderId: string | null; stage: 'store' | 'apply' }
  | { type: 'webhook.pending-applied'; applied: number; failed: number }
  // reconcile()
  | { type: 'reconcile.busy'; name: string }
  | { type: 'reconcile.checked'; orderId: string; tossStatus: TossOrderStatus }
  | { type: 'reconcile.revoked'; orderId: string }
  | { type: 'reconcile.skipped'; orderId: string; reason: 'no-user-key' }
  | { type: 'reconcile.rate-limited'; orderId: string; attempt: number; waitMs: number }
  | { type: 'reconcile.failed'; orderId: string; code: string }
  | {
      type: 'reconcile.finished'
      name: string
      /** `false`: stopped early (429 storm, aborted), to resume on the next run. */
      finished: boolean
      checked: number
      refunded: number
      skipped: number
      failed: number
      requests: number
      rateLimited: number
      durationMs: number
    }
  // Balances (#22): one per credit or reversal entry (after its transaction committed), one per spend request.
  | { type: 'balance.credited'; orderId: string; currency: string; amount: number }
  | {
      type: 'balance.reversed'
      orderId: string
      currency: string
      /** What was taken back (positive). */
      amount: number
      /** A `'clamp'` reversal that took back less than the credit. */
      flagged: boolean
    }
  | { type: 'balance.spent'; currency: string; amount: number; repeat: boolean; durationMs: number }
  | { type: 'balance.refused'; httpStatus: number; code: ServerErrorCode; durationMs: number }
  | { type: 'balance.read'; currencies: number; durationMs: number }
  // The health check (one per probe).
  | { type: 'health.checked'; healthy: boolean; failing: string[]; certificateDaysLeft: number | null; durationMs: number }

export type ServerEventType = ServerEvent['type']

/** Receives every event. Called after the fact, never awaited: it cannot change an answer or a transaction. */
export type ServerEventListener = (event: ServerEvent) => void | Promise<void>

/** Listeners that threw already reported: the same function passed to every factory reports once. */
const reported = new WeakSet<object>()

function reportOnce(listener: object, error: unknown) {
  if (reported.has(listener)) return
  reported.add(listener)
  console.error(
    `vue-toss-iap/server: an onEvent listener failed (reported once; answers and grants are not affected): ${error instanceof Error ? error.message : String(error)}`,
  )
}

/** The listener as handlers call it: later, in a task of its own, every throw and rejection caught. */
export function eventEmitter(listener: ServerEventListener | undefined): (event: ServerEvent) => void {
  if (!listener) return () => {}
  return (event) => {
    setImmediate(() => {
      try {
        const result = listener(event)
        if (result && typeof (result as Promise<void>).then === 'function')
          (result as Promise<void>).then(undefined, (error: unknown) => reportOnce(listener, error))
      } catch (error) {
        reportOnce(listener, error)
      }
    })
  }
}

/** Fans several listeners out from one `onEvent` (each one isolated from the others' failures). */
export function combineEventListeners(...listeners: Array<ServerEventListener | undefined>): ServerEventListener {
  const all = listeners.filter((l): l is ServerEventListener => typeof l === 'function')
  return (event) => {
    for (const l of all) {
      try {
        const result = l(event)
        if (result && typeof (result as Promise<void>).then === 'function')
          (result as Promise<void>).then(undefined, (error: unknown) => reportOnce(l, error))
      } catch (error) {
        reportOnce(l, error)
      }
    }
  }
}

export const since = (start: number) => Math.round((performance.now() - start) * 1000) / 1000
