export type ProductType = 'CONSUMABLE' | 'NON_CONSUMABLE' | 'SUBSCRIPTION'

export interface IapOffer {
  type: 'FREE_TRIAL' | 'NEW_SUBSCRIPTION' | 'RETURNING'
  offerId: string
  period: string
  displayAmount?: string
}

/** A product from the console catalogue, as `IAP.getProductItemList` lists it. */
export interface IapProduct {
  sku: string
  type: ProductType
  displayName: string
  displayAmount: string
  iconUrl: string
  description: string
  renewalCycle?: 'WEEKLY' | 'MONTHLY' | 'YEARLY'
  offers?: IapOffer[]
}

export type OrderKind = 'one-time' | 'subscription'

/**
 * What an order is, as far as the page knows. A live purchase always knows; recovery may not (the
 * catalogue did not load, or the host listed the order by id only): then it is `'unknown'`, and
 * the server tells from its own records (the sku Toss returns for the order).
 */
export type GrantOrderKind = OrderKind | 'unknown'

/** What the app's `grant` receives: one paid order to fulfil on its server. */
export interface GrantOrder {
  orderId: string
  /** `''` when a recovered order came without one (some iOS builds list ids only). */
  sku: string
  kind: GrantOrderKind
  subscriptionId?: string
  /** `'purchase'` while the user is buying; `'recovery'` for an order found by `getPendingOrders`. */
  source: 'purchase' | 'recovery'
}

/** The app's server fulfilment: `true` only once the server has durably recorded the grant. */
export type GrantFn = (order: GrantOrder) => boolean | Promise<boolean>

/** An order Toss took payment for that the app has not completed. */
export interface PendingOrder {
  orderId: string
  /** `''` when the host only sent `orderIds` (some iOS builds). */
  sku: string
  paymentCompletedDate: string | null
}

export interface HistoryOrder {
  orderId: string
  sku: string
  status: 'COMPLETED' | 'REFUNDED'
  date: string
}

export interface OrderHistoryPage {
  orders: HistoryOrder[]
  hasNext: boolean
  nextKey: string | null
}

export type SubscriptionStatus = 'ACTIVE' | 'EXPIRED' | 'IN_GRACE_PERIOD' | 'ON_HOLD' | 'PAUSED' | 'REVOKED' | 'UNKNOWN'

export interface SubscriptionInfo {
  catalogId: number | null
  status: SubscriptionStatus
  expiresAt: string | null
  isAutoRenew: boolean
  gracePeriodExpiresAt: string | null
  isAccessible: boolean
}

/** What Toss shows the user after a successful purchase. */
export interface PurchaseReceipt {
  orderId: string
  displayName: string
  displayAmount: string
  amount: number | null
  currency: string
  fraction: number | null
  miniAppIconUrl: string | null
}
