import type { HistoryOrder, IapProduct, SubscriptionInfo } from './types.js'

/** Why the user has (or had) a product. */
export type EntitlementSource = 'order' | 'history' | 'subscription' | 'server'

/** What the user may use, per sku (non-consumables and subscriptions; consumables are never owned). */
export interface Entitlement {
  sku: string
  isActive: boolean
  /** `order`: an order of this session; `history`: Toss's order history; `subscription`: `getSubscriptionInfo`; `server`: the app's own source. */
  source: EntitlementSource
  /** The order behind it, when known. */
  orderId: string | null
  /** For subscriptions: status, `expiresAt`, `isAutoRenew`, grace period, `isAccessible`. */
  subscription: SubscriptionInfo | null
  /** Painted from the cache and not yet confirmed by a refresh: never proof of purchase. */
  isStale: boolean
  updatedAt: number
}

/** An entitlement that went from active to inactive. Fires once per loss. */
export interface RevokedEvent {
  sku: string
  reason: RevokeReason
  previous: Entitlement
  entitlement: Entitlement
}

export type RevokeReason = 'refunded' | 'expired' | 'revoked' | 'inaccessible' | 'server'

/** What an app-supplied entitlement source answers, per sku. */
export interface ServerEntitlement {
  sku: string
  isActive: boolean
  orderId?: string | null
  subscription?: SubscriptionInfo | null
}

export interface DeriveInput {
  products: readonly IapProduct[]
  /** Completed and refunded orders, newest first. */
  history: readonly HistoryOrder[]
  /** Orders of this session that the server granted, newest first. */
  session: ReadonlyArray<{ orderId: string; sku: string }>
  subscriptionInfo: (orderId: string) => Promise<SubscriptionInfo | null>
}

/** How many of a subscription's orders are asked about before it is called inactive. */
const MAX_SUBSCRIPTION_LOOKUPS = 5

/**
 * Derives entitlements from Toss alone: a non-consumable is owned through a completed order that
 * was not refunded; a subscription is active while `getSubscriptionInfo` says `isAccessible`.
 */
export async function deriveEntitlements(input: DeriveInput): Promise<Record<string, Entitlement>> {
  const now = Date.now()
  const refunded = new Set(input.history.filter((o) => o.status === 'REFUNDED').map((o) => o.orderId))
  const result: Record<string, Entitlement> = {}
  await Promise.all(
    input.products
      .filter((p) => p.type !== 'CONSUMABLE')
      .map(async (product) => {
        const seen = new Set<string>()
        const candidates: Array<{ orderId: string; source: EntitlementSource }> = []
        for (const o of input.session) {
          if (o.sku === product.sku && !refunded.has(o.orderId) && !seen.has(o.orderId)) {
            seen.add(o.orderId)
            candidates.push({ orderId: o.orderId, source: 'order' })
          }
        }
        for (const o of input.history) {
          if (o.sku === product.sku && o.status === 'COMPLETED' && !refunded.has(o.orderId) && !seen.has(o.orderId)) {
            seen.add(o.orderId)
            candidates.push({ orderId: o.orderId, source: 'history' })
          }
        }
        const lastRefund = input.history.find((o) => o.sku === product.sku && o.status === 'REFUNDED')?.orderId ?? null
        const base = { sku: product.sku, isStale: false, updatedAt: now }
        if (product.type === 'NON_CONSUMABLE') {
          const owner = candidates[0]
          result[product.sku] = owner
            ? { ...base, isActive: true, source: owner.source, orderId: owner.orderId, subscription: null }
            : { ...base, isActive: false, source: 'history', orderId: lastRefund, subscription: null }
          return
        }
        let first: { orderId: string; info: SubscriptionInfo | null } | null = null
        for (const candidate of candidates.slice(0, MAX_SUBSCRIPTION_LOOKUPS)) {
          const info = await input.subscriptionInfo(candidate.orderId)
          first ??= { orderId: candidate.orderId, info }
          if (info?.isAccessible) {
            result[product.sku] = { ...base, isActive: true, source: 'subscription', orderId: candidate.orderId, subscription: info }
            return
          }
        }
        result[product.sku] = {
          ...base,
          isActive: false,
          source: 'subscription',
          orderId: first?.orderId ?? lastRefund,
          subscription: first?.info ?? null,
        }
      }),
  )
  return result
}

/** Entitlements from the app's own source; what it leaves out of the catalogue is inactive. */
export function fromServer(list: readonly ServerEntitlement[], products: readonly IapProduct[]): Record<string, Entitlement> {
  const now = Date.now()
  const result: Record<string, Entitlement> = {}
  for (const p of products) {
    if (p.type !== 'CONSUMABLE')
      result[p.sku] = { sku: p.sku, isActive: false, source: 'server', orderId: null, subscription: null, isStale: false, updatedAt: now }
  }
  for (const e of list) {
    if (typeof e?.sku !== 'string') continue
    result[e.sku] = {
      sku: e.sku,
      isActive: e.isActive === true,
      source: 'server',
      orderId: e.orderId ?? null,
      subscription: e.subscription ?? null,
      isStale: false,
      updatedAt: now,
    }
  }
  return result
}

/** Why an entitlement that was active is not any more. */
export function revokeReason(previous: Entitlement, next: Entitlement, history: readonly HistoryOrder[]): RevokeReason {
  if (next.source === 'server') return 'server'
  const refunded = (id: string | null) => id !== null && history.some((o) => o.orderId === id && o.status === 'REFUNDED')
  if (refunded(previous.orderId) || refunded(next.orderId)) return 'refunded'
  if (next.subscription?.status === 'EXPIRED') return 'expired'
  if (next.subscription?.status === 'REVOKED') return 'revoked'
  return 'inaccessible'
}

export function parseCachedEntitlements(raw: unknown): Record<string, Entitlement> | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null
  const result: Record<string, Entitlement> = {}
  for (const [sku, e] of Object.entries(raw as Record<string, Partial<Entitlement>>)) {
    if (typeof e !== 'object' || e === null || e.sku !== sku || typeof e.isActive !== 'boolean') return null
    result[sku] = {
      sku,
      isActive: e.isActive,
      source: e.source ?? 'history',
      orderId: typeof e.orderId === 'string' ? e.orderId : null,
      subscription: e.subscription ?? null,
      isStale: true,
      updatedAt: typeof e.updatedAt === 'number' ? e.updatedAt : 0,
    }
  }
  return result
}
