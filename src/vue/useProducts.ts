import { computed, type ComputedRef } from 'vue'
import type { IapError } from '../core/errors.js'
import { isClient } from '../core/environment.js'
import type { IapProduct } from '../core/types.js'
import { useProductStore } from './productStore.js'

export interface UseProductsReturn {
  /** The last good catalogue (kept when a refresh fails), from the cache until Toss answers. */
  products: ComputedRef<IapProduct[]>
  /** True while the list shown came from the cache and Toss has not confirmed it yet. */
  isStale: ComputedRef<boolean>
  status: ComputedRef<'idle' | 'loading' | 'success' | 'error'>
  isLoading: ComputedRef<boolean>
  error: ComputedRef<IapError | null>
  /** Reloads; concurrent callers share one bridge call. Never rejects. */
  refresh: () => Promise<IapProduct[]>
}

/**
 * The console catalogue, loaded on first use and shared by every component through `useProductStore()`.
 *
 * ```ts
 * const { products, isLoading, error, refresh } = useProducts()
 * ```
 */
export function useProducts(): UseProductsReturn {
  const store = useProductStore()
  // A cached list shows at once; this session still revalidates it, once, in the background.
  if (isClient) void store.ensure()
  return {
    products: computed(() => store.products),
    status: computed(() => store.status),
    isLoading: computed(() => store.status === 'loading'),
    isStale: computed(() => store.source === 'cache'),
    error: computed(() => store.error),
    refresh: () => store.load(),
  }
}
