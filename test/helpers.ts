import type { GrantOrder } from '../src'

/**
 * A stand-in for the app's server: an idempotent grant table keyed by orderId, the way the
 * README's fulfilment endpoint works. `calls` counts every request; `grants` holds one row per
 * order actually granted.
 */
export function createTestServer() {
  const grants = new Map<string, GrantOrder>()
  const calls: GrantOrder[] = []
  let answer: 'ok' | 'false' | 'throw' | { delay: number; then?: 'ok' | 'false' } = 'ok'
  const server = {
    grants,
    calls,
    /** How the next requests are answered: grant, refuse, throw, or grant after a delay. */
    respond(next: typeof answer) {
      answer = next
    },
    grant: async (order: GrantOrder): Promise<boolean> => {
      calls.push(order)
      const mode = answer
      if (typeof mode === 'object') await new Promise((r) => setTimeout(r, mode.delay))
      const outcome = typeof mode === 'object' ? (mode.then ?? 'ok') : mode
      if (outcome === 'throw') throw new Error('server is down')
      if (outcome === 'false') return false
      if (!grants.has(order.orderId)) grants.set(order.orderId, order)
      return true
    },
  }
  return server
}

export const flush = () => new Promise<void>((r) => setTimeout(r, 0))
