import type { MaybeRefOrGetter } from 'vue'
import { usePurchaseOf, type UsePurchaseOptions, type UsePurchaseReturn } from './usePurchase.js'

/**
 * Buys a subscription, optionally with an offer (free trial, intro price).
 *
 * ```ts
 * const { purchase: subscribe, status } = useSubscriptionPurchase('premium-monthly', { offerId })
 * ```
 */
export function useSubscriptionPurchase(sku: MaybeRefOrGetter<string>, options: UsePurchaseOptions = {}): UsePurchaseReturn {
  return usePurchaseOf('subscription', sku, options)
}
