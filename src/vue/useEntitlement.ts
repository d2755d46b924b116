import { computed, toValue, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import type { Entitlement } from '../core/entitlements.js'
import { describeValue, IapError } from '../core/errors.js'
import type { IapProduct } from '../core/types.js'
import { useEntitlementStore } from './entitlementStore.js'
import { useProductStore } from './productStore.js'

export interface UseEntitlementReturn {
  /** Whether the user may use the product now (a stale cached answer counts until the refresh decides). */
  isActive: ComputedRef<boolean>
  /** The record: why, the order behind it, and for subscriptions status, `expiresAt`, `isAutoRenew`, grace period. */
  entitlement: ComputedRef<Entitlement | null>
  /** True while the answer shown came from the cache and is not confirmed yet. */
  isStale: ComputedRef<boolean>
  isLoading: ComputedRef<boolean>
  /** `INVALID_PRODUCT_ID` for a sku the catalogue does not know, `INVALID_ARGUMENT` for a consumable, or why the refresh failed. */
  error: ComputedRef<IapError | null>
  /** Refreshes every entitlement (one shared run). Never rejects. */
  refresh: () => Promise<unknown>
}

function skuError(sku: string, product: IapProduct | undefined, catalogueKnown: boolean): IapError | null {
  if (typeof sku !== 'string' || sku === '')
    return new IapError('INVALID_ARGUMENT', `useEntitlement needs a sku, got ${describeValue(sku)}`)
  if (!product) {
    return catalogueKnown ? new IapError('INVALID_PRODUCT_ID', `the catalogue has no product ${sku}`, { sku }) : null
  }
  if (product.type === 'CONSUMABLE') {
    return new IapError(
      'INVALID_ARGUMENT',
      `${sku} is a consumable: it is never owned. Keep its balance on your server and refresh it from onOrderEvent.`,
      { sku },
    )
  }
  return null
}

/**
 * Whether the user owns a non-consumable or has an active subscription.
 *
 * ```ts
 * const { isActive, entitlement } = useEntitlement('remove-ads')
 * ```
 */
export function useEntitlement(sku: MaybeRefOrGetter<string>): UseEntitlementReturn {
  const catalogue = useProductStore()
  const owned = useEntitlementStore()
  owned.ensureFresh()

  const product = computed(() => catalogue.products.find((p) => p.sku === toValue(sku)))
  const invalidSku = computed(() => skuError(toValue(sku), product.value, catalogue.source !== null))
  // A failed refresh keeps the last answer; a sku that cannot be owned never is.
  const error = computed(() => invalidSku.value ?? (product.value ? null : catalogue.error) ?? owned.entitlementsError)
  const entitlement = computed(() => (invalidSku.value ? null : (owned.entitlements[toValue(sku)] ?? null)))
  return {
    isActive: computed(() => entitlement.value?.isActive === true),
    entitlement,
    isStale: computed(() => entitlement.value?.isStale === true),
    isLoading: computed(() => owned.entitlementsStatus === 'loading'),
    error,
    refresh: () => owned.refreshEntitlements(),
  }
}
