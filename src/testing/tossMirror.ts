import type { SimOrder } from './types.js'

const rank = (o: SimOrder) => (o.refunded ? 3 : o.completed ? 2 : o.paid ? 1 : 0)

/**
 * What the real Toss knows and a dev server does not: the simulated host runs in the page, so the
 * page mirrors its ledger to the dev server, and the fake Toss partner API answers from this copy.
 * Mirror posts may arrive out of order: an order only ever moves forward. `onChange` hears each
 * order that moved (a refund, a subscription status), to play what Toss does next.
 */
export function createTossMirror(onChange?: (before: SimOrder, after: SimOrder) => void) {
  const orders = new Map<string, SimOrder>()
  const waiters = new Set<() => void>()
  return {
    orders,
    /** Takes a saved simulator ledger (`{ orders: SimOrder[] }`); anything else is ignored. */
    receive(saved: unknown): void {
      const list = (saved as { orders?: unknown } | null)?.orders
      if (!Array.isArray(list)) return
      for (const o of list as SimOrder[]) {
        if (typeof o?.orderId !== 'string') continue
        const known = orders.get(o.orderId)
        if (known && rank(o) < rank(known)) continue
        orders.set(o.orderId, o)
        if (known) onChange?.(known, o)
      }
      for (const wake of [...waiters]) wake()
    },
    /**
     * One order, for the fake Toss API's lookup (`fromSimulatorOrder` turns it into Toss's answer).
     * The page may mirror an order a moment after it asks for its grant (a Toss that has not seen
     * the order yet): wait for it up to 3 s, as a real lookup would simply be later.
     */
    async find(orderId: string): Promise<SimOrder | undefined> {
      for (let waited = 0; !orders.has(orderId) && waited < 3000; waited += 100)
        await new Promise<void>((resolve) => {
          const done = () => (waiters.delete(done), resolve())
          waiters.add(done)
          setTimeout(done, 100)
        })
      return orders.get(orderId)
    },
  }
}

export type TossMirror = ReturnType<typeof createTossMirror>
