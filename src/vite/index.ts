import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger, Plugin } from 'vite'
import type { CreditTable } from '../server/balance.js'
import { ORDER_ID_RULE, readOrderId } from '../core/errors.js'
import { DEFAULT_PRODUCTS } from '../testing/catalogue.js'
import type { DevHostOptions } from './client.js'
import { checkApiUrl, usesEnv } from './apiUrl.js'
import {
  MIRROR_PATH,
  MissingDevPackages,
  installCommand,
  missingDevPeers,
  serverHalfEndpoints,
  type DevEndpointHandler,
} from './serverHalf.js'

/** A Fetch-style handler, as `createFulfilmentHandler` from `vue-toss-iap/server` returns. */
export type { DevEndpointHandler }

/** Your own endpoints by path, loaded when `vite dev` starts (never by `vite build`). */
export type LazyDevEndpoints = () => Promise<Record<string, DevEndpointHandler>>

export interface TossIapDevOptions extends DevHostOptions {
  /**
   * The app-server endpoints served beside the app in `vite dev`, by path. Default `'server'`:
   * `vue-toss-iap/server`'s fulfilment (`POST /api/iap/fulfill`), entitlements
   * (`GET /api/iap/entitlements`) and Toss login (`POST /api/auth/login`, `/api/auth/logout`,
   * `/api/auth/unlink` with `Authorization: Basic dev-unlink`) on an in-memory PGlite, each order
   * verified with a fake Toss that knows the simulated host's orders and takes its `appLogin()`
   * codes; a request without a session is one dev user (needs `@electric-sql/pglite` and
   * `selfsigned` installed).
   * `'memory'`: a plain in-memory grant per `orderId`, without PGlite. Your own handlers: a function
   * that imports them (`async () => ({ '/api/iap/fulfill': (await import('./server')).fulfil })`),
   * so that `vite build` never runs your server code; it is called once, when `vite dev` starts.
   * `false` serves none.
   */
  endpoints?: 'server' | 'memory' | LazyDevEndpoints | Record<string, DevEndpointHandler> | false
  /**
   * The variable of `.env.production` that holds your app server's URL. When the app's code reads
   * `import.meta.env.<name>`, `vite build` (and so `ait build`) fails unless it is an absolute
   * `https:` URL: in the Toss app, anything else sends paid orders nowhere. Default `'VITE_API_URL'`;
   * `false` turns the check off.
   */
  apiUrlEnv?: string | false
  /**
   * What each sku credits to a balance in the default `'server'` endpoints (`/api/balance`,
   * `/api/balance/spend`, see `useBalance`). Default `{ 'gem-100': { gems: 100 } }`.
   */
  credits?: CreditTable
}

const VIRTUAL = 'virtual:vue-toss-iap/dev-host'
const RESOLVED = `\0${VIRTUAL}`

/**
 * Two plugins. In `vite dev` (`apply: 'serve'`): injects the simulated Toss host into the page
 * before the app's own modules, with a small host panel, and serves fulfilment and entitlement
 * endpoints; `vite build` contains none of it. In a page with a real Toss bridge (the `granite dev`
 * sandbox app) the host refuses to install unless `force: true`. In `vite build` (`apply: 'build'`):
 * refuses to build an app whose server URL (`apiUrlEnv`) is missing, relative or `http:`.
 */
export function tossIapDev(options: TossIapDevOptions = {}): Plugin[] {
  const { endpoints = 'server', apiUrlEnv = 'VITE_API_URL', credits, ...host } = options
  const locale = host.locale ?? 'ko'
  let cacheDir: string | undefined
  const half = endpoints === 'server' ? serverHalfEndpoints(options.products ?? DEFAULT_PRODUCTS, () => cacheDir, credits) : undefined
  // The page mirrors its simulated Toss ledger to the fake Toss only when there is one.
  const clientOptions = { ...host, ...(half && { mirror: MIRROR_PATH }) }

  const dev: Plugin = {
    name: 'vue-toss-iap:dev',
    apply: 'serve',
    // Pre-bundled at startup with the app's other dependencies: found only when the first page
    // loads, it made Vite optimise again and reload the page under the user's first click.
    config: () => ({ optimizeDeps: { include: ['vue-toss-iap/vite/client'] } }),
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
      const logger = server.config.logger
      server.httpServer?.once('close', () => void half?.close())
      if (half) void warnIfMissing(logger, locale)
      const handlers = endpointTable(endpoints, half?.endpoints, logger, locale)
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '/').split('?')[0]!
        handlers(path, req.method ?? 'GET').then(
          (handler) => {
            if (!handler) return next()
            // A server-half problem is answered as JSON and told in the terminal: passing it to
            // Vite (`next(error)`) would put Vite's error overlay over the page.
            serve(handler, req, res).catch((error: unknown) => answerError(res, error, logger, path))
          },
          (error: unknown) => answerError(res, error, logger, path),
        )
      })
    },
  }

  let used = false
  let env: Record<string, unknown> = {}
  let mode = 'production'
  const build: Plugin = {
    name: 'vue-toss-iap:api-url',
    apply: 'build',
    enforce: 'pre',
    configResolved(config) {
      env = config.env
      mode = config.mode
    },
    transform(code, id) {
      if (apiUrlEnv && !used && !id.includes('/node_modules/') && usesEnv(code, apiUrlEnv)) used = true
    },
    buildEnd(error) {
      if (error || !apiUrlEnv || !used) return
      const problem = checkApiUrl(apiUrlEnv, env[apiUrlEnv], mode, locale)
      if (problem) this.error(problem)
    },
  }
  return [dev, build]
}

/** Looks up the handler for a path: the table given, or the one a lazy `endpoints` loads (once, when `vite dev` starts). */
function endpointTable(
  endpoints: NonNullable<TossIapDevOptions['endpoints']>,
  half: Record<string, DevEndpointHandler> | undefined,
  logger: Logger,
  locale: 'ko' | 'en',
): (path: string, method: string) => Promise<DevEndpointHandler | undefined> {
  if (typeof endpoints !== 'function') {
    const table = endpoints === false ? {} : endpoints === 'memory' ? devFulfilment() : endpoints === 'server' ? half! : endpoints
    return async (path) => table[path]
  }
  let loaded: Promise<Record<string, DevEndpointHandler>> | undefined
  const load = () =>
    (loaded ??= Promise.resolve()
      .then(endpoints)
      .then((table) => {
        if (!table || typeof table !== 'object') throw new TypeError(`endpoints() answered ${String(table)}, not { [path]: handler }`)
        return table
      })
      .catch((error: unknown) => {
        loaded = undefined // tried again on the next request
        logger.error(
          locale === 'ko'
            ? `[vue-toss-iap] tossIapDev({ endpoints })가 엔드포인트를 불러오지 못했어요: ${describe(error)}`
            : `[vue-toss-iap] tossIapDev({ endpoints }) could not load your endpoints: ${describe(error)}`,
          { timestamp: true },
        )
        throw error
      }))
  void load().catch(() => undefined)
  return async (path, method) => {
    try {
      return (await load())[path]
    } catch (error) {
      // Unknown paths then: an API call still gets a JSON error, never the app's HTML as a "2xx grant".
      if (method !== 'GET' || path.startsWith('/api/')) throw error
      return undefined
    }
  }
}

/** Says at startup, with the exact command, what the default server half is missing. */
async function warnIfMissing(logger: Logger, locale: 'ko' | 'en') {
  const missing = await missingDevPeers().catch(() => [])
  if (!missing.length) return
  logger.warn(
    locale === 'ko'
      ? `[vue-toss-iap] vite dev의 지급 엔드포인트(/api/iap/fulfill)에 필요한 패키지가 없어요: ${missing.join(', ')}\n` +
          `  설치하세요: ${installCommand(missing)}\n  설치하면 다음 요청부터 써요. vite dev를 다시 시작하지 않아도 돼요.`
      : `[vue-toss-iap] vite dev's fulfilment endpoint (/api/iap/fulfill) needs packages that are not installed: ${missing.join(', ')}\n` +
          `  Run: ${installCommand(missing)}\n  The next request picks them up; no need to restart vite dev.`,
    { timestamp: true },
  )
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

const told = new WeakMap<Logger, string>()

/** A JSON error for the page (never Vite's overlay), and one clear terminal line per distinct problem. */
function answerError(res: ServerResponse, error: unknown, logger: Logger, path: string) {
  const missing = error instanceof MissingDevPackages
  const code = missing ? 'DEV_PACKAGES_MISSING' : 'DEV_SERVER_ERROR'
  const message = missing ? error.message : `vue-toss-iap/vite: ${path} failed in the dev server: ${describe(error)}`
  if (told.get(logger) !== message) {
    told.set(logger, message)
    logger.error(`[vue-toss-iap] ${message}`, { timestamp: true, ...(!missing && error instanceof Error && { error }) })
  }
  if (res.headersSent) return void res.end()
  res.statusCode = missing ? 503 : 500
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify({ error: { code, message } }))
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
      if (request.method !== 'POST') return json({ error: { code: 'METHOD_NOT_ALLOWED', message: 'POST only' } }, 405)
      const order = (await request.json().catch(() => null)) as { orderId?: unknown; sku?: unknown } | null
      const orderId = readOrderId(order?.orderId)
      if (orderId === null) return json({ error: { code: 'INVALID_ARGUMENT', message: ORDER_ID_RULE } }, 400)
      const known = grants.get(orderId)
      if (known) known.requests++
      else grants.set(orderId, { orderId, sku: typeof order?.sku === 'string' ? order.sku : '', requests: 1 })
      return json({ ok: true, granted: true })
    },
    '/api/iap/entitlements': () => json([...grants.values()].map((g) => ({ sku: g.sku, isActive: true, orderId: g.orderId }))),
  }
}

export type { DevHostOptions } from './client.js'
