import { computed, type ComputedRef } from 'vue'
import type { IapError } from '../core/errors.js'
import type { IapProduct } from '../core/types.js'
import { useIapStore } from './store.js'

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
 * The console catalogue, loaded on first use and shared by every component through the store.
 *
 * ```ts
 * const { products, isLoading, error, refresh } = useProducts()
 * ```
 */
export function useProducts(): UseProductsReturn {
  const store = useIapStore()
  // A cached list shows at once; this session still revalidates it, once, in the background.
  if (store.environment.kind !== 'server') void store.ensureProducts()
  return {
    products: computed(() => store.products),
    status: computed(() => store.productsStatus),
    isLoading: computed(() => store.productsStatus === 'loading'),
    isStale: computed(() => store.productsSource === 'cache'),
    error: computed(() => store.productsError),
    refresh: () => store.loadProducts(),
  }
}
