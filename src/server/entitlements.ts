import type { ServerEntitlement } from '../core/entitlements.js'
import type { ProductType, SubscriptionInfo, SubscriptionStatus } from '../core/types.js'
import { eventEmitter, refusalOf, since, type ServerEventListener } from './events.js'
import type { Authenticate } from './fulfilment.js'
import { cors as corsFor, errorResponse, json, type CorsOptions } from './http.js'
import type { GrantLedger, GrantRecord } from './ledger.js'

export interface EntitlementsHandlerOptions {
  ledger: GrantLedger
  authenticate: Authenticate
  /**
   * The type of each sku (as the ledger records it: Toss's sku). Consumables and skus not listed
   * are never reported: a consumable is spent, not owned.
   */
  products: Record<string, ProductType> | ((sku: string) => ProductType | undefined)
  cors?: CorsOptions
  /** Default: one `console.error` line when the ledger cannot be read. */
  onError?: (error: unknown) => void
  /** Told of every answer (`entitlements.read`, `entitlements.refused`) after it is decided; never awaited, a throw is caught. */
  onEvent?: ServerEventListener
}

/** What the entitlements endpoint answers. */
export interface EntitlementsBody {
  entitlements: ServerEntitlement[]
}

const SUBSCRIPTION_STATUSES: readonly string[] = ['ACTIVE', 'EXPIRED', 'IN_GRACE_PERIOD', 'ON_HOLD', 'PAUSED', 'REVOKED']

const active = (o: GrantRecord, now: number) =>
  o.state === 'granted' &&
  o.refundedAt === null &&
  o.accessActive !== false &&
  (o.subscriptionExpiresAt === null || o.subscriptionExpiresAt.getTime() > now)

function subscriptionOf(o: GrantRecord, isAccessible: boolean): SubscriptionInfo | null {
  if (o.subscriptionStatus === null) return null
  return {
    catalogId: null,
    status: (SUBSCRIPTION_STATUSES.includes(o.subscriptionStatus) ? o.subscriptionStatus : 'UNKNOWN') as SubscriptionStatus,
    expiresAt: o.subscriptionExpiresAt?.toISOString() ?? null,
    isAutoRenew: o.subscriptionAutoRenew ?? false,
    gracePeriodExpiresAt: null,
    isAccessible,
  }
}

/** The user's entitlements from the ledger's rows (newest first), one per owned-type sku. */
export function entitlementsFrom(
  orders: readonly GrantRecord[],
  typeOf: (sku: string) => ProductType | undefined,
  now = Date.now(),
): ServerEntitlement[] {
  const bySku = new Map<string, GrantRecord[]>()
  for (const o of orders) {
    const type = typeOf(o.sku)
    if (type !== 'NON_CONSUMABLE' && type !== 'SUBSCRIPTION') continue
    bySku.set(o.sku, [...(bySku.get(o.sku) ?? []), o])
  }
  return [...bySku].map(([sku, rows]) => {
    if (typeOf(sku) === 'NON_CONSUMABLE') {
      const owner = rows.find((o) => active(o, now))
      return { sku, isActive: owner !== undefined, orderId: (owner ?? rows[0]!).orderId, subscription: null }
    }
    // A subscription: its newest order is its last known state.
    const latest = rows[0]!
    const isActive = active(latest, now)
    return { sku, isActive, orderId: latest.orderId, subscription: subscriptionOf(latest, isActive) }
  })
}

/** `GET`: what the signed-in user owns, from the ledger, shaped for the page's `entitlements.source`. */
export function createEntitlementsHandler(options: EntitlementsHandlerOptions): (request: Request) => Promise<Response> {
  const products = options.products
  const typeOf = typeof products === 'function' ? products : (sku: string) => (Object.hasOwn(products, sku) ? products[sku] : undefined)
  const report =
    options.onError ??
    ((error: unknown) =>
      console.error(`vue-toss-iap/server: entitlements could not be read: ${error instanceof Error ? error.message : String(error)}`))
  const handle = async (request: Request, seen: { entitlements: ServerEntitlement[] | null }): Promise<Response> => {
    const { allowed, headers } = corsFor(request, options.cors, 'GET, OPTIONS')
    if (!allowed) return errorResponse(403, 'ORIGIN_NOT_ALLOWED', 'this origin may not read entitlements', headers)
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers })
    if (request.method !== 'GET') {
      headers.set('Allow', 'GET, OPTIONS')
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'use GET', headers)
    }
    let user
    try {
      user = await options.authenticate(request)
    } catch (error) {
      report(error)
      return errorResponse(503, 'AUTHENTICATION_UNAVAILABLE', 'the session could not be checked', headers, { retryable: true })
    }
    if (!user || typeof user.userId !== 'string' || user.userId === '')
      return errorResponse(401, 'UNAUTHENTICATED', 'sign in first', headers)
    try {
      const body: EntitlementsBody = { entitlements: entitlementsFrom(await options.ledger.ordersOf(user.userId), typeOf) }
      seen.entitlements = body.entitlements
      return json(200, body, headers)
    } catch (error) {
      report(error)
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the ledger could not be read', headers, { retryable: true })
    }
  }

  const emit = eventEmitter(options.onEvent)
  if (!options.onEvent) return (request) => handle(request, { entitlements: null })
  return async (request) => {
    const start = performance.now()
    const seen: { entitlements: ServerEntitlement[] | null } = { entitlements: null }
    const response = await handle(request, seen)
    const durationMs = since(start)
    const refusal = refusalOf(response)
    if (seen.entitlements)
      emit({
        type: 'entitlements.read',
        entitlements: seen.entitlements.length,
        active: seen.entitlements.filter((e) => e.isActive).length,
        durationMs,
      })
    else if (refusal) emit({ type: 'entitlements.refused', httpStatus: response.status, code: refusal.code, durationMs })
    return response
  }
}
