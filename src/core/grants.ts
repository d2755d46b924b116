import { IapError } from './errors.js'
import type { GrantFn, GrantOrder } from './types.js'

export type GrantOutcome = { granted: true } | { granted: false; error: IapError }

export interface GrantRegistry {
  /**
   * Runs `grant` for `order` at most once at a time, and never again once it said `true` in this
   * session. A call that joins a grant already running waits for it instead of starting another.
   * Never rejects: a grant that throws or answers anything but `true` is `GRANT_FAILED`, one that
   * outlasts `timeout` is `TIMEOUT` (its late answer is still recorded).
   */
  run(order: GrantOrder, timeout: number): Promise<GrantOutcome>
  isGranted(orderId: string): boolean
  isRunning(orderId: string): boolean
}

export function createGrantRegistry(grant: GrantFn, onSettled?: (order: GrantOrder, outcome: GrantOutcome) => void): GrantRegistry {
  const granted = new Set<string>()
  const running = new Map<string, Promise<GrantOutcome>>()

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
      if (outcome.granted) granted.add(order.orderId)
      onSettled?.(order, outcome)
      return outcome
    })
    running.set(order.orderId, pending)
    return pending
  }

  return {
    run(order, timeout) {
      if (granted.has(order.orderId)) return Promise.resolve({ granted: true })
      const pending = running.get(order.orderId) ?? start(order)
      return new Promise((resolve) => {
        const timer = setTimeout(
          () =>
            resolve({
              granted: false,
              error: new IapError('TIMEOUT', `the grant for order ${order.orderId} took longer than ${timeout} ms`, {
                orderId: order.orderId,
                sku: order.sku,
              }),
            }),
          timeout,
        )
        void pending.then((outcome) => {
          clearTimeout(timer)
          resolve(outcome)
        })
      })
    },
    isGranted: (orderId) => granted.has(orderId),
    isRunning: (orderId) => running.has(orderId),
  }
}
