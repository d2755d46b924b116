import type { IapError } from '../core/errors.js'
import type { GrantOrderKind, OrderKind, PurchaseReceipt } from '../core/types.js'

// The order types of the Vue layer, apart from the code, so that the context (which carries the
// order-event channel) and the stores can share them without importing each other.

/**
 * Where an order stands.
 * - `purchasing`: the Toss payment sheet is up (composables only: there is no orderId yet).
 * - `granting`: Toss took payment; the app's grant runs.
 * - `granted`: the server granted; Toss has not confirmed yet (recovery will).
 * - `completed`: `completeProductGrant` confirmed. Final.
 * - `pending`: the grant said false, threw or timed out; the order waits at Toss for recovery.
 * - `canceled`: the user backed out (or the app aborted before payment).
 * - `failed`: Toss refused; nothing was paid.
 */
export type OrderStatus = 'purchasing' | 'granting' | 'granted' | 'completed' | 'pending' | 'canceled' | 'failed'
export type PurchaseStatus = 'idle' | OrderStatus

/** An order this session has seen, as the store keeps it. */
export interface IapOrder {
  orderId: string
  sku: string
  /** `'unknown'` for an order recovery found whose product the page could not tell. */
  kind: GrantOrderKind
  status: Extract<OrderStatus, 'granting' | 'granted' | 'completed' | 'pending'>
  /** How this session met the order: a live purchase, or recovery of a pending one. */
  source: 'purchase' | 'recovery'
  subscriptionId?: string
  error: IapError | null
  receipt?: PurchaseReceipt
  createdAt: number
  updatedAt: number
}

/** What `purchase()` resolves to. It never rejects. */
export interface PurchaseOutcome {
  status: Exclude<OrderStatus, 'purchasing'>
  orderId: string | null
  error: IapError | null
  receipt?: PurchaseReceipt
}

/**
 * One order transition, for analytics or for refreshing a balance. `completed` is a live purchase
 * confirmed; `recovered` an order completed by recovery. `canceled` and `failed` carry no order.
 */
export type IapOrderEvent =
  | { type: 'granting' | 'granted' | 'pending' | 'completed' | 'recovered'; order: IapOrder }
  | { type: 'canceled' | 'failed'; sku: string; error: IapError }

export interface PurchaseOptions {
  kind?: OrderKind
  offerId?: string | null
  /** Aborting closes the payment sheet's flow (see `abandonPurchase`). */
  signal?: AbortSignal
  /** Toss took payment and created this order. A listener: what it throws is reported, never in the way. */
  onPurchased?: (orderId: string) => void
}

export type LoadStatus = 'idle' | 'loading' | 'success' | 'error'
