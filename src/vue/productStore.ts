import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { createCache } from '../core/cache.js'
import { IapError, toIapError } from '../core/errors.js'
import { getProducts, normalizeProducts } from '../core/products.js'
import type { IapProduct } from '../core/types.js'
import { useTossIapContext } from './context.js'
import type { LoadStatus } from './types.js'

/**
 * The console catalogue (id `'toss-iap-products'`): shown at once from the cache, revalidated
 * with one shared bridge call; recovery reads it to tell a pending order's kind. A store of its own, created by the first `useProducts()` (or
 * `useEntitlement()`), so an app that only sells ships neither it nor the cache.
 */
export const useProductStore = defineStore('toss-iap-products', () => {
  const ctx = useTossIapContext('useProductStore()')
  const { catalogue, client } = ctx
  const cache = createCache(ctx.cacheOptions)
  const products = shallowRef<IapProduct[]>([])
  const status = ref<LoadStatus>('idle')
  const error = shallowRef<IapError | null>(null)
  /** When the list last came from Toss (or from the cache, when `source` is `'cache'`). */
  const updatedAt = ref<number | null>(null)
  /** `'cache'` until this session has heard from Toss: shown, not yet revalidated. */
  const source = ref<'cache' | 'bridge' | null>(null)

  cache.read(
    'products',
    (raw) => normalizeProducts({ products: raw }),
    (entry) => {
      if (source.value === 'bridge') return // Toss answered first
      products.value = entry.value
      source.value = 'cache'
      updatedAt.value = entry.savedAt
      if (status.value === 'idle') status.value = 'success'
    },
  )

  /** The load this store follows, while it runs: every caller joins it (one state and cache write). */
  let following: Promise<IapProduct[]> | null = null
  /** Follows one answer of the shared catalogue; a failure keeps the last good list. */
  function follow(): Promise<IapProduct[]> {
    if (following) return following
    status.value = 'loading'
    following = catalogue
      .load(() => getProducts(client))
      .then(
        (list) => {
          products.value = list
          error.value = null
          status.value = 'success'
          source.value = 'bridge'
          updatedAt.value = Date.now()
          cache.write('products', list)
          return list
        },
        (reason: unknown) => {
          error.value = toIapError(reason, { during: 'getProductItemList' })
          status.value = 'error'
          return products.value
        },
      )
      .finally(() => {
        following = null
      })
    return following
  }

  /** Asks Toss again (or joins the load under way); concurrent callers share one bridge call. Never rejects. */
  function load(): Promise<IapProduct[]> {
    return follow()
  }

  /**
   * Toss's list for this session: loads it (or joins the load under way) unless it is here
   * already or, unless `retry`, a load already failed. Never rejects.
   */
  function ensure(retry = false): Promise<IapProduct[]> {
    if (!following && (source.value === 'bridge' || (!retry && status.value === 'error'))) return Promise.resolve(products.value)
    return follow()
  }

  return { products, status, error, updatedAt, source, load, ensure }
})

export type ProductStore = ReturnType<typeof useProductStore>
