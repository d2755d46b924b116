import { ORDER_ID_RULE, readOrderId } from '../core/errors.js'
import { TossApiError } from './errors.js'
import { eventEmitter, since, type ServerEventListener } from './events.js'
import { createBalances, type BalanceEntry, type Balances, type RefundPolicy } from './balance.js'
import type { GrantLedger, GrantRecord, GrantTransaction } from './ledger.js'
import type { TossPartnerClient } from './partnerClient.js'

/** Time for the reconciler: real by default, a fake one in tests. */
export interface ReconcileClock {
  now(): number
  sleep(ms: number): Promise<void>
}

export type ReconcileLogEvent =
  | { type: 'rate-limited'; orderId: string; waitMs: number; attempt: number }
  | { type: 'revoked'; orderId: string }
  | { type: 'failed'; orderId: string; code: string }

export interface ReconcileOptions {
  ledger: GrantLedger
  /**
   * The partner client. Create it with `retry: false`: the reconciler does its own waiting, and a
   * client's own retries are requests its rate budget does not see.
   */
  toss: Pick<TossPartnerClient, 'getOrderStatus'>
  /** Orders granted within this many days are asked again. Default 30 (store refunds come within weeks). */
  windowDays?: number
  /** Orders read from the ledger at a time. Default 100. */
  batchSize?: number
  /** Order-status requests a minute at most, retries included, in any 60 s. Default 600 (Toss allows about 3,000). */
  ratePerMinute?: number
  /** `429`s in a row for one order before the run stops (its cursor kept, so the next run resumes). Default 8. */
  maxRateLimitedAttempts?: number
  /** Longest wait after a `429` without `Retry-After` (doubling from 1 s). Default 60 s. */
  maxBackoffMs?: number
  /** Takes the access back, in the transaction that marks the order refunded. Throwing rolls both back; the next run tries again. */
  onRevoke?: (order: GrantRecord, tx: GrantTransaction) => Promise<void> | void
  /**
   * A refunded order's balance credits (see `createBalances`) are always reversed once, in the
   * transaction that marks it refunded (after `onRevoke`), as the journal recorded them: pass your
   * `balances` for its `refundPolicy`. Without it the policy is `refundPolicy` below.
   */
  balances?: Balances
  /** The refund policy when no `balances` is given. Default `'negative'`. */
  refundPolicy?: RefundPolicy
  /** The Toss user key for an order the ledger has none for (rows granted before it kept them). */
  userKeyOf?: (order: GrantRecord) => string | null | undefined | Promise<string | null | undefined>
  /** The cursor's name: separate reconcilers (e.g. per mini-app) keep separate cursors. Default `'default'`. */
  name?: string
  /** Stops after the order in hand; the cursor is kept and the next call resumes. */
  signal?: AbortSignal
  clock?: ReconcileClock
  log?: (event: ReconcileLogEvent) => void
  /**
   * Told of each order checked, revoked, skipped, rate-limited or failed, and of the run's end
   * (`reconcile.finished` with its counts), after the fact; never awaited, a throw is caught.
   */
  onEvent?: ServerEventListener
}

export interface ReconcileSummary {
  /** `true` when the whole window was gone through (the next run starts over); `false` when stopped, to resume. */
  finished: boolean
  /** Another reconciler holds the lease: nothing was done. */
  busy: boolean
  /** Orders Toss answered about. */
  checked: number
  /** Orders this run marked refunded (and ran `onRevoke` for). */
  refunded: string[]
  /** Orders with no Toss user key to ask with. */
  skipped: number
  /** Orders that could not be checked or revoked this time (asked again next run). */
  failed: Array<{ orderId: string; code: string }>
  /** Order-status requests made, and how many were answered `429`. */
  requests: number
  rateLimited: number
}

const realClock: ReconcileClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/**
 * A token bucket that never lets more than `perMinute` requests through in any 60 s: it holds at
 * most `burst` tokens and refills `perMinute - burst` a minute.
 */
export function tokenBucket(perMinute: number, clock: ReconcileClock) {
  if (!(perMinute >= 2)) throw new RangeError('vue-toss-iap/server: ratePerMinute must be at least 2')
  const burst = Math.max(1, Math.floor(perMinute / 20))
  const refillPerMs = (perMinute - burst) / 60_000
  let tokens = burst
  let at = clock.now()
  const refill = () => {
    const now = clock.now()
    tokens = Math.min(burst, tokens + (now - at) * refillPerMs)
    at = now
  }
  return {
    async take() {
      for (;;) {
        refill()
        if (tokens >= 1) {
          tokens -= 1
          return
        }
        await clock.sleep(Math.ceil((1 - tokens) / refillPerMs))
      }
    },
    /** Takes a token if one is there now, without waiting: `false` when the budget is spent. */
    tryTake(): boolean {
      refill()
      if (tokens < 1) return false
      tokens -= 1
      return true
    },
    /** After a `429`: nothing saved up survives it. */
    empty() {
      refill()
      tokens = Math.min(tokens, 0)
    },
  }
}

const RECONCILE = 'toss_iap_reconcile'
const GRANTS = 'toss_iap_grants'
/** How long a run holds its lease without renewing it (it renews at every batch). */
const LEASE = "interval '10 minutes'"

/**
 * Asks Toss again about the orders granted within the window and marks the refunded ones, once,
 * running `onRevoke` in the same transaction. Callable from a cron; resumable (the cursor is kept in
 * `toss_iap_reconcile`). One run at a time per `name`, across processes (a lease in the database).
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const { ledger, toss } = options
  const clock = options.clock ?? realClock
  const name = options.name ?? 'default'
  const windowDays = options.windowDays ?? 30
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const maxRateLimited = Math.max(1, options.maxRateLimitedAttempts ?? 8)
  const maxBackoff = options.maxBackoffMs ?? 60_000
  const bucket = tokenBucket(options.ratePerMinute ?? 600, clock)
  const emit = eventEmitter(options.onEvent)
  const started = performance.now()
  const summary: ReconcileSummary = {
    finished: false,
    busy: false,
    checked: 0,
    refunded: [],
    skipped: 0,
    failed: [],
    requests: 0,
    rateLimited: 0,
  }

  // The lease, and the window fixed at the start of a run (a resumed run keeps its own).
  const leased = await ledger.transaction(async (tx) => {
    await tx.query(`INSERT INTO ${RECONCILE} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name])
    const { rows } = await tx.query(
      `UPDATE ${RECONCILE}
          SET lease_until = now() + ${LEASE}, updated_at = now(),
              run_started_at = COALESCE(run_started_at, now()),
              window_from = CASE WHEN run_started_at IS NULL THEN now() - $2::double precision * interval '1 day' ELSE window_from END
        WHERE name = $1 AND (lease_until IS NULL OR lease_until < now())
        RETURNING name`,
      [name, windowDays],
    )
    return rows.length > 0
  })
  if (!leased) {
    emit({ type: 'reconcile.busy', name })
    return { ...summary, busy: true }
  }

  const release = (finished: boolean) =>
    ledger.transaction((tx) =>
      tx.query(
        finished
          ? `UPDATE ${RECONCILE} SET lease_until = NULL, run_started_at = NULL, window_from = NULL, cursor_granted_at = NULL,
                cursor_order_id = NULL, last_finished_at = now(), updated_at = now() WHERE name = $1`
          : `UPDATE ${RECONCILE} SET lease_until = NULL, updated_at = now() WHERE name = $1`,
        [name],
      ),
    )
  /** The cursor moves to the order just done, at the database's own precision. */
  const advance = (orderId: string) =>
    ledger.transaction((tx) =>
      tx.query(
        `UPDATE ${RECONCILE} SET cursor_order_id = $2, cursor_granted_at = (SELECT granted_at FROM ${GRANTS} WHERE order_id = $2),
            lease_until = now() + ${LEASE}, updated_at = now()
          WHERE name = $1`,
        [name, orderId],
      ),
    )

  /** One order's status, waiting out `429`s; `null` when the run must stop. */
  const ask = async (order: GrantRecord, userKey: string) => {
    // A row from before the orderId rule that it refuses: failed, without spending a request on it.
    if (readOrderId(order.orderId) === null) throw new TossApiError('INVALID_ARGUMENT', ORDER_ID_RULE)
    for (let attempt = 1; ; attempt++) {
      await bucket.take()
      summary.requests++
      try {
        return await toss.getOrderStatus(order.orderId, { userKey })
      } catch (error) {
        if (!(error instanceof TossApiError) || error.code !== 'RATE_LIMITED') throw error
        summary.rateLimited++
        bucket.empty()
        if (attempt >= maxRateLimited) return null
        const waitMs = error.retryAfter !== undefined ? error.retryAfter * 1000 : Math.min(maxBackoff, 1000 * 2 ** (attempt - 1))
        options.log?.({ type: 'rate-limited', orderId: order.orderId, waitMs, attempt })
        emit({ type: 'reconcile.rate-limited', orderId: order.orderId, waitMs, attempt })
        await clock.sleep(waitMs)
      }
    }
  }

  let finished = false
  try {
    for (;;) {
      const { rows } = await ledger.transaction((tx) =>
        tx.query<{ order_id: string }>(
          `SELECT g.order_id FROM ${GRANTS} g, ${RECONCILE} r
            WHERE r.name = $1 AND g.state = 'granted' AND g.refunded_at IS NULL AND g.granted_at >= r.window_from
              AND (r.cursor_order_id IS NULL OR (g.granted_at, g.order_id) > (r.cursor_granted_at, r.cursor_order_id))
            ORDER BY g.granted_at, g.order_id
            LIMIT $2`,
          [name, batchSize],
        ),
      )
      if (rows.length === 0) {
        finished = true
        break
      }
      for (const { order_id: orderId } of rows) {
        if (options.signal?.aborted) return summary
        const order = await ledger.find(orderId)
        if (order && order.state === 'granted' && order.refundedAt === null) {
          const userKey = order.userKey ?? (await options.userKeyOf?.(order)) ?? null
          if (!userKey) {
            summary.skipped++
            emit({ type: 'reconcile.skipped', orderId, reason: 'no-user-key' })
          } else {
            let status
            try {
              status = await ask(order, userKey)
            } catch (error) {
              const code = error instanceof TossApiError ? error.code : 'NETWORK'
              summary.failed.push({ orderId, code })
              options.log?.({ type: 'failed', orderId, code })
              emit({ type: 'reconcile.failed', orderId, code })
            }
            if (status === null) return summary // a 429 storm outlasted its attempts: resume next time
            if (status) {
              summary.checked++
              emit({ type: 'reconcile.checked', orderId, tossStatus: status.status })
              if (status.status === 'REFUNDED') {
                try {
                  let reversed: BalanceEntry[] = []
                  const revoked = await ledger.markRefunded(
                    orderId,
                    { tossStatusAt: status.statusDeterminedAt },
                    onRevoke(options, (r) => (reversed = r)),
                  )
                  if (revoked) {
                    summary.refunded.push(orderId)
                    options.log?.({ type: 'revoked', orderId })
                    emit({ type: 'reconcile.revoked', orderId })
                    for (const r of reversed)
                      emit({ type: 'balance.reversed', orderId, currency: r.currency, amount: -r.amount, flagged: r.flagged })
                  }
                } catch {
                  summary.failed.push({ orderId, code: 'REVOKE_FAILED' })
                  options.log?.({ type: 'failed', orderId, code: 'REVOKE_FAILED' })
                  emit({ type: 'reconcile.failed', orderId, code: 'REVOKE_FAILED' })
                }
              }
            }
          }
        }
        await advance(orderId)
      }
    }
  } finally {
    summary.finished = finished
    emit({
      type: 'reconcile.finished',
      name,
      finished,
      checked: summary.checked,
      refunded: summary.refunded.length,
      skipped: summary.skipped,
      failed: summary.failed.length,
      requests: summary.requests,
      rateLimited: summary.rateLimited,
      durationMs: since(started),
    })
    await release(finished)
  }
  return summary
}

/** The app's `onRevoke`, then the reversal of the order's credits, in the revoke's transaction. */
function onRevoke(
  options: ReconcileOptions,
  reversed: (entries: BalanceEntry[]) => void,
): (order: GrantRecord, tx: GrantTransaction) => Promise<void> {
  const app = options.onRevoke
  // Credits are read from the journal, so reversing needs no credit table: an app that reconciles
  // from the CLI, without its balances, still takes refunded gems back.
  const balances = options.balances ?? createBalances({ ledger: options.ledger, credits: {}, refundPolicy: options.refundPolicy })
  return async (order, tx) => {
    await app?.(order, tx)
    reversed(await balances.reverse(order, tx))
  }
}
