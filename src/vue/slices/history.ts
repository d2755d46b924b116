import { ref } from 'vue'
import type { IapClient } from '../../core/client.js'
import { toIapError, type IapError } from '../../core/errors.js'
import type { HistoryOrder } from '../../core/types.js'
import type { LoadStatus } from './products.js'

export interface HistoryState {
  /** Completed and refunded orders, newest first, without duplicates. */
  orders: HistoryOrder[]
  hasNext: boolean
  nextKey: string | null
  status: LoadStatus
  error: IapError | null
}

/** Toss's order history, paged with `{ key }`. */
export function createHistoryState(client: IapClient) {
  const history = ref<HistoryState>({ orders: [], hasNext: false, nextKey: null, status: 'idle', error: null })
  let inFlight: Promise<HistoryOrder[]> | null = null

  function load(key: string | null): Promise<HistoryOrder[]> {
    if (inFlight) return inFlight
    history.value.status = 'loading'
    inFlight = client
      .getOrderHistory({ key })
      .then(
        (page) => {
          const kept = key ? history.value.orders : []
          const seen = new Set(kept.map((o) => o.orderId))
          history.value = {
            orders: [...kept, ...page.orders.filter((o) => !seen.has(o.orderId) && seen.add(o.orderId))],
            hasNext: page.hasNext,
            nextKey: page.nextKey,
            status: 'success',
            error: null,
          }
          return history.value.orders
        },
        (error: unknown) => {
          // A failed load keeps what was there.
          history.value.status = 'error'
          history.value.error = toIapError(error, { during: 'getCompletedOrRefundedOrders' })
          return history.value.orders
        },
      )
      .finally(() => {
        inFlight = null
      })
    return inFlight
  }

  return {
    history,
    /** Reloads the first page; on failure the list stays. Never rejects. */
    refreshHistory: () => load(null),
    /** Appends the next page (nothing to do when there is none). Never rejects. */
    loadMoreHistory: () =>
      history.value.hasNext && history.value.nextKey ? load(history.value.nextKey) : Promise.resolve(history.value.orders),
  }
}
