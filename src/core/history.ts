import { IAP } from '@apps-in-toss/web-framework'
import type { IapClient } from './client.js'
import { readOrderId } from './errors.js'
import { invalid, isObj, str } from './normalize.js'
import type { HistoryOrder, OrderHistoryPage } from './types.js'

// Toss's order history, in a module of its own: an app that only sells never ships it.

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

/**
 * One page of Toss's completed and refunded orders. Pass the previous page's `nextKey` as `key`
 * for the next (the 2.10.8 types declare no argument, but hosts page with `{ key }`, as the
 * official sample does).
 */
export function getOrderHistory(client: IapClient, options: { key?: string | null } = {}): Promise<OrderHistoryPage> {
  const key = options.key ?? null
  const fetchPage = IAP.getCompletedOrRefundedOrders as (args?: { key: string }) => Promise<unknown>
  return client.request(
    'orderHistory',
    'getCompletedOrRefundedOrders',
    () => (key ? fetchPage({ key }) : fetchPage()),
    normalizeHistory,
    key ?? undefined,
  )
}
