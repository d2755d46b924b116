import { computed, type ComputedRef } from 'vue'
import type { IapError } from '../core/errors.js'
import type { IapProduct } from '../core/types.js'
import { useIapStore } from './store.js'

export interface UseProductsReturn {
  /** The last good catalogue (kept when a refresh fails). */
  products: ComputedRef<IapProduct[]>
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
  if (store.productsStatus === 'idle' && store.environment.kind !== 'server') void store.loadProducts()
  return {
    products: computed(() => store.products),
    status: computed(() => store.productsStatus),
    isLoading: computed(() => store.productsStatus === 'loading'),
    error: computed(() => store.productsError),
    refresh: () => store.loadProducts(),
  }
}
