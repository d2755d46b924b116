import { defineStore } from 'pinia'
import { ref } from 'vue'
import { toIapError, IapError } from '../core/errors.js'
import { getOrderHistory } from '../core/history.js'
import { singleFlight } from '../core/timing.js'
import type { HistoryOrder } from '../core/types.js'
import { useTossIapContext } from './context.js'
import type { LoadStatus } from './types.js'
import { listenInScope } from './events.js'

export interface HistoryState {
  /** Completed and refunded orders, newest first, without duplicates. */
  orders: HistoryOrder[]
  hasNext: boolean
  nextKey: string | null
  status: LoadStatus
  error: IapError | null
}

/**
 * Toss's order history (id `'toss-iap-history'`), paged with `{ key }`. A store of its own,
 * created by the first `useOrderHistory()`, so an app that never shows history never ships it.
 * Once shown, a newly completed order is picked up.
 */
export const useOrderHistoryStore = defineStore('toss-iap-history', () => {
  const ctx = useTossIapContext('useOrderHistory()')
  const { client } = ctx
  const history = ref<HistoryState>({ orders: [], hasNext: false, nextKey: null, status: 'idle', error: null })
  const flight = singleFlight<'history', HistoryOrder[]>()

  function load(key: string | null): Promise<HistoryOrder[]> {
    return flight.run('history', () => {
      history.value.status = 'loading'
      return getOrderHistory(client, { key }).then(
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
    })
  }

  /** Reloads the first page; on failure the list stays. Never rejects. */
  const refreshHistory = () => load(null)
  /** Appends the next page (nothing to do when there is none). Never rejects. */
  const loadMoreHistory = () =>
    history.value.hasNext && history.value.nextKey ? load(history.value.nextKey) : Promise.resolve(history.value.orders)

  // Once the app shows the history, a newly completed order belongs in it.
  listenInScope(ctx.orderEvents, (event) => {
    if ((event.type === 'completed' || event.type === 'recovered') && history.value.status !== 'idle') void refreshHistory()
  })

  return { history, refreshHistory, loadMoreHistory }
})

export type OrderHistoryStore = ReturnType<typeof useOrderHistoryStore>
