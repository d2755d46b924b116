import type { ServerEntitlement } from '../core/entitlements.js'
import type { ProductType, SubscriptionInfo, SubscriptionStatus } from '../core/types.js'
import type { Authenticate } from './fulfilment.js'
import { hash } from 'node:crypto'
import { eventEmitter, since, type ServerEventListener } from './events.js'
import { corsHeaders, errorAnswer, handlerOf, refusalOf, withHeaders, type Answer, type CorsOptions } from './http.js'
import type { GrantLedger, OwnedOrder } from './ledger.js'

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

const active = (o: OwnedOrder, now: number) =>
  o.state === 'granted' &&
  o.refundedAt === null &&
  o.accessActive !== false &&
  (o.subscriptionExpiresAt === null || o.subscriptionExpiresAt.getTime() > now)

function subscriptionOf(o: OwnedOrder, isAccessible: boolean): SubscriptionInfo | null {
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
  orders: readonly OwnedOrder[],
  typeOf: (sku: string) => ProductType | undefined,
  now = Date.now(),
): ServerEntitlement[] {
  const bySku = new Map<string, OwnedOrder[]>()
  for (const o of orders) {
    const type = typeOf(o.sku)
    if (type !== 'NON_CONSUMABLE' && type !== 'SUBSCRIPTION') continue
    const rows = bySku.get(o.sku)
    if (rows) rows.push(o)
    else bySku.set(o.sku, [o])
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

/**
 * The answer's validator: the user and the body, hashed. Weak (the same JSON may be re-encoded on
 * the way); never equal for two users, even when both own nothing.
 */
const etagOf = (userId: string, body: string) => `W/"${hash('sha256', `${userId}\n${body}`, 'base64url').slice(0, 32)}"`

/** `If-None-Match` holds `etag` (weak comparison, as for a GET), or is `*`. */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false
  const opaque = etag.slice(2)
  for (const part of ifNoneMatch.split(',')) {
    const tag = part.trim()
    if (tag === '*' || tag === etag || tag === opaque || (tag.startsWith('W/') && tag.slice(2) === opaque)) return true
  }
  return false
}

/**
 * `GET`: what the signed-in user owns, from the ledger, shaped for the page's `entitlements.source`.
 * Answered with an `ETag` and `Cache-Control: private, no-cache`, so a browser revalidates with
 * `If-None-Match` and gets `304 Not Modified` (no body) while nothing changed.
 */
export function createEntitlementsHandler(options: EntitlementsHandlerOptions): (request: Request) => Promise<Response> {
  const products = options.products
  const typeOf = typeof products === 'function' ? products : (sku: string) => (Object.hasOwn(products, sku) ? products[sku] : undefined)
  const report =
    options.onError ??
    ((error: unknown) =>
      console.error(`vue-toss-iap/server: entitlements could not be read: ${error instanceof Error ? error.message : String(error)}`))
  const handle = async (request: Request, seen: { entitlements: ServerEntitlement[] | null }): Promise<Answer> => {
    const { allowed, headers } = corsHeaders(request, options.cors, 'GET, OPTIONS')
    // Only the user's own 200 and 304 may be kept (by the browser alone, and revalidated each time).
    const cacheable = (etag: string) => withHeaders(headers, { 'Cache-Control': 'private, no-cache', ETag: etag })
    if (!allowed) return errorAnswer(403, 'ORIGIN_NOT_ALLOWED', 'this origin may not read entitlements', headers)
    if (request.method === 'OPTIONS') return { status: 204, headers, body: null }
    if (request.method !== 'GET') {
      headers['Allow'] = 'GET, OPTIONS'
      return errorAnswer(405, 'METHOD_NOT_ALLOWED', 'use GET', headers)
    }
    let user
    try {
      user = await options.authenticate(request)
    } catch (error) {
      report(error)
      return errorAnswer(503, 'AUTHENTICATION_UNAVAILABLE', 'the session could not be checked', headers, { retryable: true })
    }
    if (!user || typeof user.userId !== 'string' || user.userId === '') return errorAnswer(401, 'UNAUTHENTICATED', 'sign in first', headers)
    try {
      const body: EntitlementsBody = { entitlements: entitlementsFrom(await options.ledger.ownedBy(user.userId), typeOf) }
      seen.entitlements = body.entitlements
      const text = JSON.stringify(body)
      const etag = etagOf(user.userId, text)
      if (matches(request.headers.get('If-None-Match'), etag)) return { status: 304, headers: cacheable(etag), body: null }
      const ok = cacheable(etag)
      ok['Content-Type'] = 'application/json; charset=utf-8'
      return { status: 200, headers: ok, body: text }
    } catch (error) {
      report(error)
      return errorAnswer(503, 'LEDGER_UNAVAILABLE', 'the ledger could not be read', headers, { retryable: true })
    }
  }

  const emit = eventEmitter(options.onEvent)
  if (!options.onEvent) return handlerOf((request) => handle(request, { entitlements: null }))
  return handlerOf(async (request) => {
    const start = performance.now()
    const seen: { entitlements: ServerEntitlement[] | null } = { entitlements: null }
    const answer = await handle(request, seen)
    const durationMs = since(start)
    const refusal = refusalOf(answer)
    if (seen.entitlements)
      emit({
        type: 'entitlements.read',
        entitlements: seen.entitlements.length,
        active: seen.entitlements.filter((e) => e.isActive).length,
        durationMs,
      })
    else if (refusal) emit({ type: 'entitlements.refused', httpStatus: answer.status, code: refusal.code, durationMs })
    return answer
  })
}
