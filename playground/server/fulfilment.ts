import { mkdirSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { Connect, Plugin } from 'vite'
import type { SimOrder } from 'vue-toss-iap/testing'
import {
  createEntitlementsHandler,
  createFulfilmentHandler,
  createBalanceHandler,
  createBalances,
  createGrantLedger,
  createLoginHandler,
  createLogoutHandler,
  createSessionStore,
  createSpendHandler,
  createSubscriptionWebhookHandler,
  createTossPartnerClient,
  reconcile,
  toNodeListener,
  type GrantLedger,
} from '../../src/server/index.ts'
import { DEFAULT_PRODUCTS } from '../../src/testing/catalogue.ts'
import {
  createTossMirror,
  fromSimulatorOrder,
  koreanTime,
  startFakeTossPartnerApi,
  subscriptionStatusChanged,
  type FakeSubscriptionSnapshot,
  type FakeTossOrder,
  type FakeTossPartnerApi,
} from '../../src/testing/server.ts'

/**
 * The playground's three parties in one dev server:
 * - the page, with the simulated Toss host in it, which mirrors its order ledger here
 *   (`POST /api/toss/orders`, dev only), because the real Toss knows every order it took payment for;
 * - a fake Toss partner API (real mutual TLS on 127.0.0.1) that answers order-status from that mirror;
 * - the app server: `vue-toss-iap/server`'s fulfilment handler on PGlite on disk, which verifies each
 *   order with the fake Toss before it grants it, once. `GET /api/iap/ledger` shows its ledger and
 *   the order-status calls it made; a switch makes it fail, to show orders waiting for recovery.
 * What Toss changes later reaches the app server the way it would in production, never through the
 * page: a subscription the host panel expires or revokes is posted to the server's subscription
 * webhook (`POST /api/toss/webhook`, as Toss would), and a refund is found by `reconcile()`, which
 * re-asks the fake Toss about granted orders.
 */
export interface GrantRow {
  orderId: string
  /** Whose: the logged-in user's id (the Toss userKey), or the playground's user before a login. */
  userId: string
  sku: string
  kind: string
  subscriptionId?: string
  source: string
  grantedAt: string
  tossStatus: string
  /** How many requests were answered "granted" for this order (more than one is fine: only the first grants). */
  requests: number
  /** `granted`, or `refunded` once reconcile() found the refund. */
  state: string
  /** The subscription's status as the last webhook said, `null` before any. */
  subscriptionStatus: string | null
}

/** The webhook credential the playground's "console" is set to. */
const WEBHOOK_CREDENTIAL = 'playground-webhook-credential'

/**
 * Who a request without a session is: the playground's one user before anyone logs in (the fake API
 * accepts its key for every order). With Toss login, the session's user (the simulated host's
 * `appLogin()` user); a bad or ended session is 401, as in production.
 */
const USER = { userId: 'playground-user', userKey: 'playground-user-key' }

function createAppServer(dataDir: string) {
  const mirror = createTossMirror((before, after) => follow(before, after))
  const granted = new Map<string, number>()
  let failing = false

  async function lookup(orderId: string): Promise<FakeTossOrder | undefined> {
    const order = await mirror.find(orderId)
    return order && fromSimulatorOrder(order)
  }

  const ready = (async () => {
    mkdirSync(dataDir, { recursive: true })
    const api = await startFakeTossPartnerApi({ orders: lookup })
    const toss = createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 2, baseDelayMs: 100 } })
    const db = new PGlite(join(dataDir, 'ledger'))
    const ledger = await createGrantLedger(db)
    const sessions = createSessionStore(ledger)
    const authenticate = (request: Request) => (request.headers.has('Authorization') ? sessions.authenticate(request) : USER)
    const login = createLoginHandler({ toss, ledger, sessions })
    const logout = createLogoutHandler({ sessions, toss })
    // Consumables as a balance: gem-100 credits 100 gems on its grant, spent through /api/balance/spend.
    const balances = createBalances({ ledger, credits: { 'gem-100': { gems: 100 } } })
    const balance = createBalanceHandler({ balances, authenticate })
    const spend = createSpendHandler({ balances, authenticate })
    const fulfil = createFulfilmentHandler({ toss, ledger, authenticate, balances })
    const webhook = createSubscriptionWebhookHandler({ ledger, credential: WEBHOOK_CREDENTIAL })
    // reconcile() keeps its own rate budget: its client does not retry.
    const tossForReconcile = createTossPartnerClient({ ...api.clientOptions(), retry: false })
    const entitlements = createEntitlementsHandler({
      ledger,
      authenticate,
      products: Object.fromEntries(DEFAULT_PRODUCTS.map((p) => [p.sku, p.type])),
    })
    return { api, toss, tossForReconcile, db, ledger, fulfil, entitlements, webhook, login, logout, balances, balance, spend }
  })()

  /** What Toss posts to the subscription webhook when the host panel changes a subscription. */
  async function postSubscriptionChange(before: SimOrder, after: SimOrder) {
    const snap = (s: NonNullable<SimOrder['subscription']>): FakeSubscriptionSnapshot => ({
      status: s.status,
      accessGranted: s.isAccessible,
      expiresAt: s.expiresAt ? koreanTime(new Date(s.expiresAt)) : null,
      autoRenew: s.isAutoRenew,
    })
    const event = subscriptionStatusChanged({
      orderId: after.orderId,
      sku: after.sku,
      at: new Date(),
      changeReason: after.subscription!.status,
      current: snap(after.subscription!),
      ...(before.subscription && { previous: snap(before.subscription) }),
    })
    const { webhook } = await ready
    await webhook(
      new Request('http://playground.local/api/toss/webhook', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Basic ${WEBHOOK_CREDENTIAL}` },
        body: JSON.stringify(event),
      }),
    )
  }

  /** A refund at Toss: the app server finds it by re-asking Toss (a cron would; here, at once). */
  let reconciling: Promise<unknown> = Promise.resolve()
  function reconcileSoon() {
    reconciling = reconciling
      .then(async () => {
        const { ledger, tossForReconcile, balances } = await ready
        await reconcile({ ledger, toss: tossForReconcile, name: 'playground', balances })
      })
      .catch((error: unknown) => console.error('[playground] reconcile failed:', error))
  }

  /** Follows what changed at Toss for one order since the last mirror. */
  function follow(before: SimOrder, after: SimOrder) {
    if (!before.refunded && after.refunded) reconcileSoon()
    const was = before.subscription
    const now = after.subscription
    if (now && (was?.status !== now.status || was?.isAccessible !== now.isAccessible))
      void postSubscriptionChange(before, after).catch((error: unknown) => console.error('[playground] webhook failed:', error))
  }

  async function grant(request: Request): Promise<Response> {
    const { fulfil } = await ready
    if (failing)
      return Response.json(
        { error: { code: 'PLAYGROUND_FAILING', message: 'the fulfilment server is switched to fail', retryable: true } },
        { status: 503 },
      )
    const orderId = (
      (await request
        .clone()
        .json()
        .catch(() => null)) as { orderId?: unknown } | null
    )?.orderId
    const response = await fulfil(request)
    if (response.status === 200 && typeof orderId === 'string') granted.set(orderId, (granted.get(orderId) ?? 0) + 1)
    return response
  }

  async function ledgerView(ledger: GrantLedger, api: FakeTossPartnerApi) {
    const grants: Record<string, GrantRow> = {}
    const { rows: users } = await ledger.query<{ user_id: string }>('SELECT DISTINCT user_id FROM toss_iap_grants ORDER BY user_id')
    for (const { user_id } of users)
      for (const r of await ledger.ordersOf(user_id))
        grants[r.orderId] = {
          orderId: r.orderId,
          userId: r.userId,
          sku: r.sku,
          kind: r.kind,
          ...(r.subscriptionId !== null && { subscriptionId: r.subscriptionId }),
          source: r.source ?? '',
          grantedAt: r.grantedAt.toISOString(),
          tossStatus: r.tossStatus,
          requests: granted.get(r.orderId) ?? 0,
          state: r.state,
          subscriptionStatus: r.subscriptionStatus,
        }
    return { grants, failing, toss: { requests: api.requests.length, recent: api.requests.slice(-20) } }
  }

  const mirrorOrders = (saved: unknown) => mirror.receive(saved)

  async function reset() {
    const { ledger } = await ready
    await reconciling
    await ledger.transaction(async (tx) => {
      for (const table of ['toss_iap_subscription_events', 'toss_iap_reconcile', 'toss_iap_balance_entries', 'toss_iap_balances', 'toss_iap_grants'])
        await tx.query(`DELETE FROM ${table}`)
    })
    granted.clear()
    mirror.orders.clear()
    failing = false
  }

  async function close() {
    const { api, toss, tossForReconcile, db } = await ready
    toss.close()
    tossForReconcile.close()
    await api.close()
    await db.close()
  }

  return { ready, grant, ledgerView, mirrorOrders, reset, close, setFailing: (value: boolean) => void (failing = value) }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : null)
      } catch {
        resolve(null)
      }
    })
    req.on('error', () => resolve(null))
  })
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify(value))
}

export function fulfilmentHandler(dataDir: string): { middleware: Connect.NextHandleFunction; close: () => Promise<void> } {
  const app = createAppServer(dataDir)
  const fulfil = toNodeListener((request) => app.grant(request))
  const entitlements = toNodeListener(async (request) => (await app.ready).entitlements(request))
  const login = toNodeListener(async (request) => (await app.ready).login(request))
  const logout = toNodeListener(async (request) => (await app.ready).logout(request))
  const balance = toNodeListener(async (request) => (await app.ready).balance(request))
  const spend = toNodeListener(async (request) => (await app.ready).spend(request))
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const url = req.url?.split('?')[0]
    if (!/^\/api\/(iap|toss|auth|balance)(\/|$)/.test(url ?? '')) return next()
    if (url === '/api/balance') return balance(req, res)
    if (url === '/api/balance/spend') return spend(req, res)
    if (url === '/api/iap/fulfill') return fulfil(req, res)
    if (url === '/api/auth/login') return login(req, res)
    if (url === '/api/auth/logout') return logout(req, res)
    if (url === '/api/iap/entitlements') return entitlements(req, res)
    void (async () => {
      if (req.method === 'POST' && url === '/api/toss/orders') {
        app.mirrorOrders(await readBody(req))
        return json(res, 200, { ok: true })
      }
      if (req.method === 'GET' && url === '/api/iap/ledger') {
        const { ledger, api } = await app.ready
        return json(res, 200, await app.ledgerView(ledger, api))
      }
      if (req.method === 'POST' && url === '/api/iap/failing') {
        const { failing } = ((await readBody(req)) ?? {}) as { failing?: unknown }
        app.setFailing(failing === true)
        const { ledger, api } = await app.ready
        return json(res, 200, await app.ledgerView(ledger, api))
      }
      if (req.method === 'POST' && url === '/api/iap/reset') {
        await app.reset()
        return json(res, 200, { ok: true })
      }
      json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such playground endpoint' } })
    })().catch((error: unknown) => json(res, 500, { error: { code: 'INTERNAL', message: String(error) } }))
  }
  return { middleware, close: app.close }
}

export function fulfilmentEndpoint({ dataDir }: { dataDir: string }): Plugin {
  let close: (() => Promise<void>) | undefined
  const use = (server: { middlewares: Connect.Server; httpServer: { once(event: 'close', cb: () => void): unknown } | null }) => {
    const handler = fulfilmentHandler(dataDir)
    close = handler.close
    server.middlewares.use(handler.middleware)
    server.httpServer?.once('close', () => void handler.close().catch(() => {}))
  }
  return {
    name: 'vue-toss-iap:fulfilment-endpoint',
    configureServer: (server) => use(server),
    configurePreviewServer: (server) => use(server),
    buildEnd: () => void close?.(),
  }
}
