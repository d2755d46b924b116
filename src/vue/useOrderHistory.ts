import { computed, type ComputedRef } from 'vue'
import type { IapError } from '../core/errors.js'
import type { HistoryOrder } from '../core/types.js'
import { useOrderHistoryStore } from './historyStore.js'
import { isClient } from '../core/environment.js'

export interface UseOrderHistoryReturn {
  /** Completed and refunded orders, newest first, without duplicates across pages. */
  orders: ComputedRef<HistoryOrder[]>
  hasNext: ComputedRef<boolean>
  isLoading: ComputedRef<boolean>
  /** Why the last load failed (what was there stays). */
  error: ComputedRef<IapError | null>
  /** Appends the next page (`{ key: nextKey }`). Never rejects. */
  loadMore: () => Promise<HistoryOrder[]>
  /** Reloads from the first page. Never rejects. */
  refresh: () => Promise<HistoryOrder[]>
}

/**
 * Toss's completed and refunded orders, loaded on first use.
 *
 * ```ts
 * const { orders, hasNext, loadMore } = useOrderHistory()
 * ```
 */
export function useOrderHistory(): UseOrderHistoryReturn {
  const store = useOrderHistoryStore()
  if (store.history.status === 'idle' && isClient) void store.refreshHistory()
  return {
    orders: computed(() => store.history.orders),
    hasNext: computed(() => store.history.hasNext),
    isLoading: computed(() => store.history.status === 'loading'),
    error: computed(() => store.history.error),
    loadMore: () => store.loadMoreHistory(),
    refresh: () => store.refreshHistory(),
  }
}
