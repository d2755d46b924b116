import {
  computed,
  getCurrentScope,
  hasInjectionContext,
  inject,
  onScopeDispose,
  shallowRef,
  toValue,
  type ComputedRef,
  type MaybeRefOrGetter,
} from 'vue'
import type { IapError } from '../core/errors.js'
import type { OrderKind } from '../core/types.js'
import { TOSS_IAP_KEY } from './context.js'
import { useIapStore, type IapStore } from './store.js'
import type { IapOrder, PurchaseOutcome, PurchaseStatus } from './types.js'

export interface UsePurchaseOptions {
  /** Subscriptions only: the offer to apply (a ref or getter is read at each `purchase()`). */
  offerId?: MaybeRefOrGetter<string | null | undefined>
}

export interface UsePurchaseReturn {
  /** Opens the Toss payment sheet and runs the whole flow. Never rejects; resolves to the outcome. */
  purchase: () => Promise<PurchaseOutcome>
  /** `'idle'`, `'purchasing'`, then the order's live status (it follows recovery too). */
  status: ComputedRef<PurchaseStatus>
  /** The order record in the store, once Toss created one. */
  order: ComputedRef<IapOrder | null>
  error: ComputedRef<IapError | null>
  /** True while the sheet is up or the grant runs. */
  isPending: ComputedRef<boolean>
  /** Back to `'idle'` (does nothing while a purchase is open). */
  reset: () => void
  /**
   * Lets the user out of a payment sheet that hangs: closes this purchase's flow. Before payment
   * it ends `canceled` (`ABORTED`); a payment Toss already took is not lost: its grant goes on and
   * recovery completes the order. Does nothing when this composable has no purchase open.
   */
  abandon: () => void
}

/** @internal shared by usePurchase and useSubscriptionPurchase */
export function usePurchaseOf(kind: OrderKind, sku: MaybeRefOrGetter<string>, options: UsePurchaseOptions = {}): UsePurchaseReturn {
  // The store is reached on first need (a purchase, an order to show), not during the component's
  // first render; outside a component it is the active Pinia's, as usual.
  const ctx = hasInjectionContext() ? inject(TOSS_IAP_KEY, null) : null
  let reached: IapStore | undefined = ctx ? undefined : useIapStore()
  const store = () => (reached ??= useIapStore(ctx!.pinia))
  const localStatus = shallowRef<PurchaseStatus>('idle')
  const localError = shallowRef<IapError | null>(null)
  const orderId = shallowRef<string | null>(null)
  let controller: AbortController | null = null
  let disposed = false

  const order = computed(() => (orderId.value ? (store().orders[orderId.value] ?? null) : null))
  const status = computed<PurchaseStatus>(() => order.value?.status ?? localStatus.value)
  const error = computed(() => (order.value ? order.value.error : localError.value))
  const isPending = computed(() => localStatus.value === 'purchasing' || status.value === 'granting')

  async function purchase(): Promise<PurchaseOutcome> {
    if (controller) return store().purchase(toValue(sku), { kind }) // answers PURCHASE_IN_PROGRESS, touches nothing here
    controller = new AbortController()
    localStatus.value = 'purchasing'
    localError.value = null
    orderId.value = null
    let outcome: PurchaseOutcome
    try {
      outcome = await store().purchase(toValue(sku), {
        kind,
        offerId: toValue(options.offerId),
        signal: controller.signal,
        onPurchased: (id) => {
          if (!disposed) orderId.value = id
        },
      })
    } finally {
      controller = null
    }
    if (!disposed) {
      orderId.value = outcome.orderId
      localStatus.value = outcome.status
      localError.value = outcome.error
    }
    return outcome
  }

  function abandon() {
    controller?.abort()
  }

  function reset() {
    if (controller) return
    localStatus.value = 'idle'
    localError.value = null
    orderId.value = null
  }

  if (getCurrentScope()) {
    // Closing the scope removes the purchase's bridge listeners. A payment Toss already took is
    // not lost: the grant finishes in the store, and recovery completes the order.
    onScopeDispose(() => {
      disposed = true
      controller?.abort()
    })
  } else if (process.env.NODE_ENV !== 'production') {
    console.warn(
      '[vue-toss-iap] usePurchase() was called outside a component or effect scope; an open purchase will not be closed for you.',
    )
  }

  return { purchase, status, order, error, isPending, reset, abandon }
}

/**
 * Buys a one-time product (consumable or non-consumable).
 *
 * ```ts
 * const { purchase, status, error, isPending } = usePurchase('gem-100')
 * ```
 */
export function usePurchase(sku: MaybeRefOrGetter<string>): UsePurchaseReturn {
  return usePurchaseOf('one-time', sku)
}
