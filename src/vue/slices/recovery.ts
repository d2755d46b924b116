import { skipHydrate } from 'pinia'
import { ref } from 'vue'
import type { IapClient } from '../../core/client.js'
import { monotonicNow, singleFlight } from '../../core/timing.js'
import { recoverPendingOrders, type RecoveryReport } from '../../core/recovery.js'
import type { GrantOrderKind, PendingOrder } from '../../core/types.js'
import type { TossIapContext } from '../context.js'
import type { IapOrder } from '../types.js'

export interface RecoveryState {
  status: 'idle' | 'running' | 'done' | 'failed'
  lastReport: RecoveryReport | null
  lastStartedAt: number | null
  runs: number
}

interface Deps {
  orders: Record<string, IapOrder>
  track: (orderId: string, patch: Partial<IapOrder>, completedBy?: 'recovered') => IapOrder
}

export function createRecoveryState(client: IapClient, ctx: TossIapContext, deps: Deps) {
  const recovery = skipHydrate(ref<RecoveryState>({ status: 'idle', lastReport: null, lastStartedAt: null, runs: 0 }))

  /**
   * The kind of a pending order from what this page knows: the orders of this session, and the
   * catalogue if the app loaded it (or is loading it). `'unknown'` rather than a guess, and no
   * bridge call of its own: an app that never shows its catalogue does not ship it for this.
   */
  async function describe(listed: PendingOrder): Promise<{ sku: string; kind: GrantOrderKind }> {
    const known = deps.orders[listed.orderId]
    const sku = listed.sku || known?.sku || ''
    if (known && known.kind !== 'unknown') return { sku, kind: known.kind }
    const product = sku ? (await ctx.catalogue.known())?.find((p) => p.sku === sku) : undefined
    return { sku, kind: product ? (product.type === 'SUBSCRIPTION' ? 'subscription' : 'one-time') : 'unknown' }
  }

  const flight = singleFlight<'recovery', RecoveryReport>()
  /** When the last run started, on a clock that a device clock set back cannot stall. */
  let startedAt: number | null = null
  /** Milliseconds since the last recovery started (`null`: never), for throttles. */
  const sinceLastRecovery = () => (startedAt === null ? null : monotonicNow() - startedAt)
  /**
   * Grants and completes every pending order. Always runs, or joins the run under way.
   * Never rejects: the report says what was completed, what is still pending, and why not.
   */
  function recover(): Promise<RecoveryReport> {
    return flight.run('recovery', () => {
      recovery.value = { ...recovery.value, status: 'running', lastStartedAt: Date.now() }
      startedAt = monotonicNow()
      return recoverPendingOrders(client, {
        concurrency: ctx.recovery.concurrency,
        reportError: ctx.reportError,
        signal: ctx.unmounted,
        describe,
        onStep(step) {
          const { orderId } = step.order
          const base = deps.orders[orderId] ? {} : { sku: step.order.sku, kind: step.kind, source: 'recovery' as const }
          if (step.phase === 'completed') deps.track(orderId, { ...base, status: 'completed', error: null }, 'recovered')
          else deps.track(orderId, { ...base, status: step.phase, error: step.error })
        },
      }).then((report) => {
        recovery.value = { ...recovery.value, status: report.error ? 'failed' : 'done', lastReport: report, runs: recovery.value.runs + 1 }
        return report
      })
    })
  }

  return { recovery, recover, sinceLastRecovery }
}
