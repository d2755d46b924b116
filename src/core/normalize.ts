import { describeValue, IapError, readOrderId } from './errors.js'
import type { PendingOrder, PurchaseReceipt } from './types.js'

// Old apps answer `undefined`, odd hosts `{}` or fields of the wrong type. Everything the bridge
// answers passes through a normaliser (here, and beside the history and subscription calls), so
// nothing deeper has to guess.

export type Obj = Record<string, unknown>
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
export const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback)
export const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null)
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

export function invalid(call: string, value: unknown): IapError {
  return new IapError('INVALID_RESPONSE', `${call} answered ${describeValue(value)}, which is not what Toss documents`)
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
      if (orderId)
        byId.set(orderId, { orderId, sku: str((o as Obj).sku), paymentCompletedDate: strOrNull((o as Obj).paymentCompletedDate) })
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
