import { ref, shallowRef } from 'vue'
import type { IapCache } from '../../core/cache.js'
import type { IapClient } from '../../core/client.js'
import { toIapError, type IapError } from '../../core/errors.js'
import { normalizeProducts } from '../../core/normalize.js'
import { singleFlight } from '../../core/timing.js'
import type { IapProduct } from '../../core/types.js'

export type LoadStatus = 'idle' | 'loading' | 'success' | 'error'

/** The catalogue: cached, shown at once, revalidated with one shared bridge call. */
export function createProductsState(client: IapClient, cache: IapCache) {
  const products = shallowRef<IapProduct[]>([])
  const productsStatus = ref<LoadStatus>('idle')
  const productsError = shallowRef<IapError | null>(null)
  /** When the list last came from Toss (or from the cache, when `productsSource` is `'cache'`). */
  const productsUpdatedAt = ref<number | null>(null)
  /** `'cache'` until this session has heard from Toss: shown, not yet revalidated. */
  const productsSource = ref<'cache' | 'bridge' | null>(null)

  cache.read(
    'products',
    (raw) => normalizeProducts({ products: raw }),
    ({ value, savedAt }) => {
      if (productsSource.value === 'bridge') return // Toss answered first
      products.value = value
      productsSource.value = 'cache'
      productsUpdatedAt.value = savedAt
      if (productsStatus.value === 'idle') productsStatus.value = 'success'
    },
  )

  const flight = singleFlight<'products', IapProduct[]>()
  /** Loads the catalogue; concurrent callers share one bridge call. Never rejects: a failure keeps the last good list. */
  function loadProducts(): Promise<IapProduct[]> {
    return flight.run('products', () => {
      productsStatus.value = 'loading'
      return client.getProducts().then(
        (list) => {
          products.value = list
          productsError.value = null
          productsStatus.value = 'success'
          productsSource.value = 'bridge'
          productsUpdatedAt.value = Date.now()
          cache.write('products', list)
          return list
        },
        (error: unknown) => {
          productsError.value = toIapError(error, { during: 'getProductItemList' })
          productsStatus.value = 'error'
          return products.value
        },
      )
    })
  }

  /** Loads unless this session already has Toss's list (or, unless `retry`, a load already failed). */
  function ensureProducts(retry = false): Promise<IapProduct[]> {
    if (flight.has('products')) return loadProducts()
    if (productsSource.value === 'bridge' || (!retry && productsStatus.value === 'error')) return Promise.resolve(products.value)
    return loadProducts()
  }

  return { products, productsStatus, productsError, productsUpdatedAt, productsSource, loadProducts, ensureProducts }
}
