import { IapError, requireOrderId } from './errors.js'
import { notify, type ListenerErrorReporter } from './listeners.js'
import { timeoutError, withTimeout } from './timing.js'
import type { GrantFn, GrantOrder } from './types.js'

export type GrantOutcome = { granted: true } | { granted: false; error: IapError }

export interface GrantRegistry {
  /**
   * Runs `grant` for `order` at most once at a time in the whole page, and never again once it
   * said `true` through this registry. A call that joins a grant already running (started here or
   * by another install of the plugin in the same page) waits for it instead of starting another.
   * Never rejects: a grant that throws or answers anything but `true` is `GRANT_FAILED`, one that
   * outlasts `timeout` is `TIMEOUT` (its late answer is still recorded). An invalid orderId is
   * `INVALID_ARGUMENT` and reaches no grant.
   */
  run(order: GrantOrder, timeout: number): Promise<GrantOutcome>
  isGranted(orderId: string): boolean
  isRunning(orderId: string): boolean
}

/**
 * The grants running in this page, shared by every registry (every plugin install: a remount,
 * HMR, two apps on one page) so that one orderId is never granted twice at once. Kept on
 * `globalThis` so that a second copy of this module (HMR, two bundles) shares it too.
 */
function pageGrants(): Map<string, Promise<GrantOutcome>> {
  const key = Symbol.for('vue-toss-iap.running-grants')
  const holder = globalThis as { [key]?: Map<string, Promise<GrantOutcome>> }
  return (holder[key] ??= new Map())
}

export function createGrantRegistry(
  grant: GrantFn,
  onSettled?: (order: GrantOrder, outcome: GrantOutcome) => void,
  reportError?: ListenerErrorReporter,
): GrantRegistry {
  const granted = new Set<string>()
  /** The running grants this registry waits on (its own, or another install's it joined). */
  const watched = new Set<Promise<GrantOutcome>>()
  const running = pageGrants()

  function start(order: GrantOrder): Promise<GrantOutcome> {
    const fail = (detail: string, cause?: unknown): GrantOutcome => ({
      granted: false,
      error: new IapError('GRANT_FAILED', `the grant for order ${order.orderId} ${detail}`, {
        cause,
        orderId: order.orderId,
        sku: order.sku,
      }),
    })
    const pending = (async (): Promise<GrantOutcome> => {
      try {
        const answer = await grant({ ...order })
        return answer === true ? { granted: true } : fail(`answered ${String(answer)}`)
      } catch (error) {
        return fail('threw', error)
      }
    })().then((outcome) => {
      running.delete(order.orderId)
      return outcome
    })
    running.set(order.orderId, pending)
    return pending
  }

  /** Follows one running grant to its end, once per registry: records a `true`, tells `onSettled`. */
  function watch(order: GrantOrder, pending: Promise<GrantOutcome>) {
    if (watched.has(pending)) return
    watched.add(pending)
    void pending.then((outcome) => {
      watched.delete(pending)
      if (outcome.granted) granted.add(order.orderId)
      notify(onSettled, [order, outcome], 'onGrantSettled', reportError)
    })
  }

  return {
    run(order, timeout) {
      try {
        requireOrderId(order?.orderId)
      } catch (error) {
        return Promise.resolve({ granted: false, error: error as IapError })
      }
      if (granted.has(order.orderId)) return Promise.resolve({ granted: true })
      const pending = running.get(order.orderId) ?? start(order)
      watch(order, pending)
      return withTimeout(pending, timeout, () => ({
        granted: false,
        error: timeoutError(`the grant for order ${order.orderId}`, timeout, { orderId: order.orderId, sku: order.sku }),
      }))
    },
    isGranted: (orderId) => granted.has(orderId),
    isRunning: (orderId) => running.has(orderId),
  }
}
