import { describeValue, IapError, readOrderId } from './errors.js'
import type {
  HistoryOrder,
  IapOffer,
  IapProduct,
  OrderHistoryPage,
  PendingOrder,
  ProductType,
  PurchaseReceipt,
  SubscriptionInfo,
  SubscriptionStatus,
} from './types.js'

// Old apps answer `undefined`, odd hosts `{}` or fields of the wrong type. Everything the bridge
// answers passes through here, so nothing deeper has to guess.

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback)
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function invalid(call: string, value: unknown): IapError {
  return new IapError('INVALID_RESPONSE', `${call} answered ${describeValue(value)}, which is not what Toss documents`)
}

const PRODUCT_TYPES: ReadonlySet<string> = new Set(['CONSUMABLE', 'NON_CONSUMABLE', 'SUBSCRIPTION'])
const CYCLES: ReadonlySet<string> = new Set(['WEEKLY', 'MONTHLY', 'YEARLY'])
const OFFER_TYPES: ReadonlySet<string> = new Set(['FREE_TRIAL', 'NEW_SUBSCRIPTION', 'RETURNING'])

function toOffer(v: unknown): IapOffer | null {
  if (!isObj(v) || typeof v.offerId !== 'string' || !OFFER_TYPES.has(str(v.type))) return null
  const offer: IapOffer = { type: v.type as IapOffer['type'], offerId: v.offerId, period: str(v.period) }
  if (typeof v.displayAmount === 'string') offer.displayAmount = v.displayAmount
  return offer
}

/** Items without a string `sku` or a known `type` are dropped: nothing could be bought with them. */
export function normalizeProducts(value: unknown): IapProduct[] {
  if (!isObj(value) || !Array.isArray(value.products)) throw invalid('getProductItemList', value)
  const products: IapProduct[] = []
  for (const item of value.products) {
    if (!isObj(item) || typeof item.sku !== 'string' || !item.sku || !PRODUCT_TYPES.has(str(item.type))) continue
    const product: IapProduct = {
      sku: item.sku,
      type: item.type as ProductType,
      displayName: str(item.displayName, item.sku),
      displayAmount: str(item.displayAmount),
      iconUrl: str(item.iconUrl),
      description: str(item.description),
    }
    if (product.type === 'SUBSCRIPTION') {
      if (CYCLES.has(str(item.renewalCycle))) product.renewalCycle = item.renewalCycle as IapProduct['renewalCycle']
      if (Array.isArray(item.offers)) product.offers = item.offers.map(toOffer).filter((o): o is IapOffer => o !== null)
    }
    products.push(product)
  }
  return products
}

/**
 * Accepts `orders` and the `orderIds` some iOS builds send; `{}` means none pending. An entry
 * without a valid orderId (see `readOrderId`) is dropped: it could never be granted or completed.
 */
export function normalizePendingOrders(value: unknown): PendingOrder[] {
  if (!isObj(value)) throw invalid('getPendingOrders', value)
  const byId = new Map<string, PendingOrder>()
  if (Array.isArray(value.orders)) {
    for (const o of value.orders) {
      const orderId = isObj(o) ? readOrderId(o.orderId) : null
      if (orderId) byId.set(orderId, { orderId, sku: str((o as Obj).sku), paymentCompletedDate: strOrNull((o as Obj).paymentCompletedDate) })
    }
  }
  if (Array.isArray(value.orderIds)) {
    for (const raw of value.orderIds) {
      const id = readOrderId(raw)
      if (id && !byId.has(id)) byId.set(id, { orderId: id, sku: '', paymentCompletedDate: null })
    }
  }
  if (value.orders !== undefined && !Array.isArray(value.orders) && value.orderIds === undefined) throw invalid('getPendingOrders', value)
  return [...byId.values()]
}

export function normalizeHistory(value: unknown): OrderHistoryPage {
  if (!isObj(value) || (value.orders !== undefined && !Array.isArray(value.orders))) throw invalid('getCompletedOrRefundedOrders', value)
  const orders: HistoryOrder[] = []
  for (const o of (value.orders as unknown[] | undefined) ?? []) {
    const orderId = isObj(o) ? readOrderId(o.orderId) : null
    if (orderId && isObj(o) && (o.status === 'COMPLETED' || o.status === 'REFUNDED')) {
      orders.push({ orderId, sku: str(o.sku), status: o.status, date: str(o.date) })
    }
  }
  const nextKey = typeof value.nextKey === 'string' && value.nextKey ? value.nextKey : null
  // A page that says it has more but gives no key cannot be followed: treat it as the last.
  return { orders, hasNext: value.hasNext === true && nextKey !== null, nextKey }
}

const SUB_STATUSES: ReadonlySet<string> = new Set(['ACTIVE', 'EXPIRED', 'IN_GRACE_PERIOD', 'ON_HOLD', 'PAUSED', 'REVOKED'])

/** `null` when the host answered `{}` or nothing usable: the subscription is unknown, not active. */
export function normalizeSubscription(value: unknown): SubscriptionInfo | null {
  const sub = isObj(value) ? value.subscription : undefined
  if (!isObj(sub)) return null
  const status = str(sub.status)
  return {
    catalogId: num(sub.catalogId),
    status: (SUB_STATUSES.has(status) ? status : 'UNKNOWN') as SubscriptionStatus,
    expiresAt: strOrNull(sub.expiresAt),
    isAutoRenew: sub.isAutoRenew === true,
    gracePeriodExpiresAt: strOrNull(sub.gracePeriodExpiresAt),
    isAccessible: sub.isAccessible === true,
  }
}

export function normalizeReceipt(value: unknown, orderId: string): PurchaseReceipt {
  const v = isObj(value) ? value : {}
  return {
    orderId: str(v.orderId, orderId),
    displayName: str(v.displayName),
    displayAmount: str(v.displayAmount),
    amount: num(v.amount),
    currency: str(v.currency),
    fraction: num(v.fraction),
    miniAppIconUrl: strOrNull(v.miniAppIconUrl),
  }
}
