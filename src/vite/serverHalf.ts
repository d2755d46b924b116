import type { IapProduct } from '../core/types.js'
import { createTossMirror } from '../testing/tossMirror.js'

/** An endpoint of the dev server: a Fetch handler. */
export type DevEndpointHandler = (request: Request) => Response | Promise<Response>

/** The one user of `vite dev`: no login there; the fake Toss accepts this key for every order. */
const DEV_USER = { userId: 'dev-user', userKey: 'dev-user-key' }
/** Where the page mirrors its simulated Toss ledger, as the real Toss knows every order it took payment for. */
export const MIRROR_PATH = '/__vue-toss-iap/toss-orders'

/**
 * The server half in `vite dev`: `vue-toss-iap/server`'s fulfilment and entitlement handlers on an
 * in-memory PGlite, verifying each order with a fake Toss partner API (real mutual TLS on
 * 127.0.0.1) that answers from the page's mirrored ledger. Started on the first request; needs the
 * optional peers `@electric-sql/pglite` and `selfsigned`, and says so when they are missing.
 */
export function serverHalfEndpoints(products: IapProduct[]): { endpoints: Record<string, DevEndpointHandler>; close: () => Promise<void> } {
  const mirror = createTossMirror()

  async function lookup(orderId: string) {
    const [{ fromSimulatorOrder }, order] = await Promise.all([import('../testing/partnerApi.js'), mirror.find(orderId)])
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
        mirror.receive(await request.json().catch(() => null))
        return new Response(null, { status: 204 })
      },
    },
    close: async () => {
      if (started) await (await started).close()
    },
  }
}
