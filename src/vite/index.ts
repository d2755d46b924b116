import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Plugin } from 'vite'
import { ORDER_ID_RULE, readOrderId } from '../core/errors.js'
import { DEFAULT_PRODUCTS } from '../testing/catalogue.js'
import type { DevHostOptions } from './client.js'
import { MIRROR_PATH, serverHalfEndpoints, type DevEndpointHandler } from './serverHalf.js'

/** A Fetch-style handler, as `createFulfilmentHandler` from `vue-toss-iap/server` returns. */
export type { DevEndpointHandler }

export interface TossIapDevOptions extends DevHostOptions {
  /**
   * The app-server endpoints served beside the app in `vite dev`, by path. Default `'server'`:
   * `vue-toss-iap/server`'s fulfilment (`POST /api/iap/fulfill`) and entitlements
   * (`GET /api/iap/entitlements`) on an in-memory PGlite, each order verified with a fake Toss that
   * knows the simulated host's orders. `'memory'`: a plain in-memory grant per `orderId`, without
   * PGlite. Or your own handlers by path (e.g. your real fulfilment); `false` serves none.
   */
  endpoints?: 'server' | 'memory' | Record<string, DevEndpointHandler> | false
}

const VIRTUAL = 'virtual:vue-toss-iap/dev-host'
const RESOLVED = `\0${VIRTUAL}`

/**
 * `vite dev` only (`apply: 'serve'`): injects the simulated Toss host into the page before the
 * app's own modules, with a small host panel, and serves fulfilment and entitlement endpoints.
 * `vite build` contains none of it. In a page with a real Toss bridge (the `granite dev` sandbox
 * app) the host refuses to install unless `force: true`.
 */
export function tossIapDev(options: TossIapDevOptions = {}): Plugin {
  const { endpoints = 'server', ...host } = options
  let cacheDir: string | undefined
  const half = endpoints === 'server' ? serverHalfEndpoints(options.products ?? DEFAULT_PRODUCTS, () => cacheDir) : undefined
  const handlers =
    endpoints === false ? {} : endpoints === 'memory' ? devFulfilment() : endpoints === 'server' ? half!.endpoints : endpoints
  // The page mirrors its simulated Toss ledger to the fake Toss only when there is one.
  const clientOptions = { ...host, ...(half && { mirror: MIRROR_PATH }) }
  return {
    name: 'vue-toss-iap:dev',
    apply: 'serve',
    configResolved(config) {
      cacheDir = config.cacheDir
    },
    resolveId: (id) => (id === VIRTUAL ? RESOLVED : undefined),
    load: (id) =>
      id === RESOLVED
        ? `import { installDevHost } from 'vue-toss-iap/vite/client'\ninstallDevHost(${JSON.stringify(clientOptions)})\n`
        : undefined,
    transformIndexHtml: {
      order: 'pre',
      // A module script first in <head>: modules run in document order, so the host is in place
      // before the app's entry (and the SDK it imports) runs.
      handler: () => [{ tag: 'script', attrs: { type: 'module', src: `/@id/${VIRTUAL}` }, injectTo: 'head-prepend' }],
    },
    configureServer(server) {
      server.httpServer?.once('close', () => void half?.close())
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '/').split('?')[0]!
        const handler = handlers[path]
        if (!handler) return next()
        void serve(handler, req, res).catch(next)
      })
    },
  }
}

async function serve(handler: DevEndpointHandler, req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
  const method = req.method ?? 'GET'
  const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method,
    headers,
    ...(method !== 'GET' && method !== 'HEAD' && { body: Buffer.concat(chunks) }),
  })
  const response = await handler(request)
  res.statusCode = response.status
  response.headers.forEach((value, name) => res.setHeader(name, value))
  res.end(Buffer.from(await response.arrayBuffer()))
}

/** The default endpoints: an in-memory ledger, one grant per `orderId`, for development only. */
export function devFulfilment(): Record<string, DevEndpointHandler> {
  const grants = new Map<string, { orderId: string; sku: string; requests: number }>()
  const json = (body: unknown, status = 200) => Response.json(body, { status })
  return {
    '/api/iap/fulfill': async (request) => {
      if (request.method !== 'POST') return json({ error: 'POST only' }, 405)
      const order = (await request.json().catch(() => null)) as { orderId?: unknown; sku?: unknown } | null
      const orderId = readOrderId(order?.orderId)
      if (orderId === null) return json({ error: ORDER_ID_RULE }, 400)
      const known = grants.get(orderId)
      if (known) known.requests++
      else grants.set(orderId, { orderId, sku: typeof order?.sku === 'string' ? order.sku : '', requests: 1 })
      return json({ ok: true, granted: true })
    },
    '/api/iap/entitlements': () => json([...grants.values()].map((g) => ({ sku: g.sku, isActive: true, orderId: g.orderId }))),
  }
}

export type { DevHostOptions } from './client.js'
