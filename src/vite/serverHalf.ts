import type { IapProduct } from '../core/types.js'
import type { SimOrder } from '../testing/types.js'
import type { DevEndpointHandler } from './index.js'

/** The one user of `vite dev`: no login there; the fake Toss accepts this key for every order. */
const DEV_USER = { userId: 'dev-user', userKey: 'dev-user-key' }
/** Where the page mirrors its simulated Toss ledger, as the real Toss knows every order it took payment for. */
export const MIRROR_PATH = '/__vue-toss-iap/toss-orders'

const rank = (o: SimOrder) => (o.refunded ? 3 : o.completed ? 2 : o.paid ? 1 : 0)

/**
 * The server half in `vite dev`: `vue-toss-iap/server`'s fulfilment and entitlement handlers on an
 * in-memory PGlite, verifying each order with a fake Toss partner API (real mutual TLS on
 * 127.0.0.1) that answers from the page's mirrored ledger. Started on the first request; needs the
 * optional peers `@electric-sql/pglite` and `selfsigned`, and says so when they are missing.
 */
export function serverHalfEndpoints(products: IapProduct[]): { endpoints: Record<string, DevEndpointHandler>; close: () => Promise<void> } {
  const mirror = new Map<string, SimOrder>()
  const waiters = new Set<() => void>()

  async function lookup(orderId: string) {
    const { fromSimulatorOrder } = await import('../testing/partnerApi.js')
    // The page may mirror an order a moment after it asks for the grant: wait for it a little.
    for (let waited = 0; !mirror.has(orderId) && waited < 3000; waited += 100)
      await new Promise<void>((resolve) => {
        const done = () => (waiters.delete(done), resolve())
        waiters.add(done)
        setTimeout(done, 100)
      })
    const order = mirror.get(orderId)
    return order && fromSimulatorOrder(order)
  }

  let started: ReturnType<typeof start> | undefined
  async function start() {
    const [{ PGlite }, server, { startFakeTossPartnerApi }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('../server/index.js'),
      import('../testing/partnerApi.js'),
    ])
    const api = await startFakeTossPartnerApi({ orders: lookup })
    const toss = server.createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 2, baseDelayMs: 100 } })
    const db = new PGlite()
    const ledger = await server.createGrantLedger(db)
    const authenticate = () => DEV_USER
    return {
      fulfil: server.createFulfilmentHandler({ toss, ledger, authenticate }),
      entitlements: server.createEntitlementsHandler({
        ledger,
        authenticate,
        products: Object.fromEntries(products.map((p) => [p.sku, p.type])),
      }),
      close: async () => (toss.close(), await api.close(), await db.close()),
    }
  }
  const ready = () => (started ??= start())

  return {
    endpoints: {
      '/api/iap/fulfill': async (request) => (await ready()).fulfil(request),
      '/api/iap/entitlements': async (request) => (await ready()).entitlements(request),
      [MIRROR_PATH]: async (request) => {
        const orders = ((await request.json().catch(() => null)) as { orders?: unknown } | null)?.orders
        if (Array.isArray(orders))
          for (const o of orders as SimOrder[]) {
            if (typeof o?.orderId !== 'string') continue
            const known = mirror.get(o.orderId)
            if (!known || rank(o) >= rank(known)) mirror.set(o.orderId, o)
          }
        for (const wake of [...waiters]) wake()
        return new Response(null, { status: 204 })
      },
    },
    close: async () => {
      if (started) await (await started).close()
    },
  }
}
