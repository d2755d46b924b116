import { IapError, requireOrderId } from './errors.js'
import { notify, type ListenerErrorReporter } from './listeners.js'
import { timeoutError, withTimeout } from './timing.js'
import type { GrantFn, GrantOrder } from './types.js'

export type GrantOutcome = { granted: true } | { granted: false; error: IapError }

export interface GrantRegistry {
  /**
   * Runs `grant` for `order` at most once at a time in the whole page, and never again once a
   * grant for it said `true` anywhere in the page (another install's included: a recovery with a
   * stale pending list then only completes the order). A call that joins a grant already running (started here or
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
 * The grants running in this page, and the orderIds a grant said `true` for, shared by every
 * registry (every plugin install: a remount, HMR, two apps on one page) so that one orderId is
 * never granted twice at once, nor again once granted. Kept on `globalThis` so that a second copy
 * of this module (HMR, two bundles) shares it too.
 */
/**
 * How many granted orderIds the page remembers: the newest ones, which are the ones a stale pending
 * list can still name. An order older than that is asked of the server again, which answers a
 * repeat from its ledger; the page's memory stays bounded over a long session.
 */
const REMEMBERED = 1000

function pageGrants(): { running: Map<string, Promise<GrantOutcome>>; granted: Set<string> } {
  const key = Symbol.for('vue-toss-iap.grants')
  const holder = globalThis as { [key]?: { running: Map<string, Promise<GrantOutcome>>; granted: Set<string> } }
  return (holder[key] ??= { running: new Map(), granted: new Set() })
}

export function createGrantRegistry(
  grant: GrantFn,
  onSettled?: (order: GrantOrder, outcome: GrantOutcome) => void,
  reportError?: ListenerErrorReporter,
): GrantRegistry {
  const { running, granted } = pageGrants()
  /** The running grants this registry waits on (its own, or another install's it joined). */
  const watched = new Set<Promise<GrantOutcome>>()

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
      if (outcome.granted) {
        granted.add(order.orderId)
        if (granted.size > REMEMBERED) granted.delete(granted.values().next().value as string)
      }
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
