import type { IapClient } from './client.js'
import { IapError, toIapError } from './errors.js'
import { notify, reportSafely, reportToConsole, type ListenerErrorReporter } from './listeners.js'
import type { GrantOrderKind, PendingOrder } from './types.js'

export interface RecoveryReport {
  /** Orders granted (now or earlier in this session) and confirmed with `completeProductGrant`. */
  completed: string[]
  /** Orders still waiting at Toss: the grant failed or `completeProductGrant` did not confirm. */
  pending: string[]
  /** Why recovery could not look at the pending orders at all (unsupported app, browser, host error). */
  error: IapError | null
  finishedAt: number
}

/**
 * One order's progress: `granting` (the grant runs), `granted` (granted, Toss not yet confirmed:
 * `error` says why when `completeProductGrant` failed), `completed`, or `pending` (the grant failed).
 */
export interface RecoveryStep {
  phase: 'granting' | 'granted' | 'completed' | 'pending'
  order: PendingOrder
  kind: GrantOrderKind
  error: IapError | null
}

export interface RecoveryOptions {
  /** Orders granted and completed at once. Default 4. */
  concurrency?: number
  /**
   * Tells subscriptions from one-time orders (the pending list only has the sku) and fills in a sku
   * the host left out (`orderIds`-only answers). Without it, or when it throws, the order is granted
   * with the listed sku and `kind: 'unknown'`.
   */
  describe?: (order: PendingOrder) => { sku: string; kind: GrantOrderKind } | Promise<{ sku: string; kind: GrantOrderKind }>
  /** A listener: what it throws is reported (`reportError`), never in the way. */
  onStep?: (step: RecoveryStep) => void
  /** Where a throwing `onStep` or `describe` is reported. Default: the console. */
  reportError?: ListenerErrorReporter
  /**
   * Aborted when the app that runs this recovery goes away: no grant starts after that (the list
   * may be stale by then; the orders stay pending at Toss for the next start). Grants already
   * running finish.
   */
  signal?: AbortSignal
}

export const DEFAULT_RECOVERY_CONCURRENCY = 4

/**
 * Grants and completes every order `getPendingOrders` lists. An order already granted in this
 * session is only completed; one whose grant is running (a live purchase) is joined, not granted
 * again. Never rejects.
 */
export async function recoverPendingOrders(client: IapClient, options: RecoveryOptions = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { completed: [], pending: [], error: null, finishedAt: 0 }
  let orders: PendingOrder[]
  try {
    orders = await client.getPendingOrders()
  } catch (error) {
    report.error = toIapError(error, { during: 'recovery' })
    report.finishedAt = Date.now()
    return report
  }
  const reportError = options.reportError ?? reportToConsole
  const step = (s: RecoveryStep) => notify(options.onStep, [s], 'recovery onStep', reportError)
  const describe = async (listed: PendingOrder): Promise<{ sku: string; kind: GrantOrderKind }> => {
    const unknown = { sku: listed.sku, kind: 'unknown' as const }
    if (!options.describe) return unknown
    try {
      const described = await options.describe(listed)
      return { sku: typeof described?.sku === 'string' ? described.sku : listed.sku, kind: described?.kind ?? 'unknown' }
    } catch (error) {
      reportSafely(reportError, error, 'recovery describe')
      return unknown
    }
  }
  const queue = [...orders]
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_RECOVERY_CONCURRENCY))

  async function recoverOne(listed: PendingOrder) {
    const { sku, kind } = await describe(listed)
    const order: PendingOrder = { ...listed, sku }
    const { orderId } = order
    const tell = (phase: RecoveryStep['phase'], error: IapError | null = null) => step({ phase, order, kind, error })
    if (!client.grants.isGranted(orderId)) {
      if (options.signal?.aborted) return void report.pending.push(orderId)
      tell('granting')
      const outcome = await client.grant({ orderId, sku, kind, source: 'recovery' })
      if (!outcome.granted) {
        report.pending.push(orderId)
        return tell('pending', outcome.error)
      }
      tell('granted')
    }
    const { confirmed, error } = await client.tryComplete(orderId)
    ;(confirmed ? report.completed : report.pending).push(orderId)
    tell(confirmed ? 'completed' : 'granted', error)
  }

  const worker = async () => {
    for (let order = queue.shift(); order; order = queue.shift()) await recoverOne(order)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker))
  report.finishedAt = Date.now()
  return report
}
