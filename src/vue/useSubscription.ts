import { isClient } from '../core/environment.js'
import { computed, toValue, watch, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import type { IapError } from '../core/errors.js'
import type { SubscriptionInfo, SubscriptionStatus } from '../core/types.js'
import { useEntitlementStore, type SubscriptionRecord } from './entitlementStore.js'

export interface UseSubscriptionReturn {
  /** `null` until loaded, or when the host does not know the subscription (it answered `{}`). */
  info: ComputedRef<SubscriptionInfo | null>
  /** Never true for an unknown subscription. */
  isAccessible: ComputedRef<boolean>
  /** `'UNKNOWN'` while there is no info. */
  status: ComputedRef<SubscriptionStatus>
  isLoading: ComputedRef<boolean>
  error: ComputedRef<IapError | null>
  /** Reloads (one shared call per order). Never rejects. */
  refresh: () => Promise<SubscriptionRecord | null>
}

/**
 * The state of one subscription order, from `getSubscriptionInfo`; loads on first use and when
 * `orderId` changes.
 *
 * ```ts
 * const { isAccessible, status, info } = useSubscription(() => order.value?.orderId)
 * ```
 */
export function useSubscription(orderId: MaybeRefOrGetter<string | null | undefined>): UseSubscriptionReturn {
  const store = useEntitlementStore()
  const record = computed(() => {
    const id = toValue(orderId)
    return id ? store.subscriptions[id] : undefined
  })
  const info = computed(() => record.value?.info ?? null)
  const refresh = () => {
    const id = toValue(orderId)
    return id ? store.loadSubscription(id) : Promise.resolve(null)
  }
  watch(
    () => toValue(orderId),
    (id) => {
      if (id !== null && id !== undefined && !store.subscriptions[id] && isClient) void store.loadSubscription(id)
    },
    { immediate: true },
  )
  return {
    info,
    isAccessible: computed(() => info.value?.isAccessible === true),
    status: computed(() => info.value?.status ?? 'UNKNOWN'),
    isLoading: computed(() => record.value?.status === 'loading'),
    error: computed(() => record.value?.error ?? null),
    refresh,
  }
}
