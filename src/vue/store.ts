import { defineStore, skipHydrate } from 'pinia'
import { computed, onScopeDispose, ref } from 'vue'
import { isClient, type IapCapabilities, type IapEnvironment } from '../core/environment.js'
import { reportSafely } from '../core/listeners.js'
import type { RecoveryReport } from '../core/recovery.js'
import { useTossIapContext } from './context.js'
import { listenInScope } from './events.js'
import { createOrdersState } from './slices/orders.js'
import { createRecoveryState } from './slices/recovery.js'
import type { IapOrderEvent } from './types.js'

export type { IapOrder, IapOrderEvent, OrderStatus, PurchaseOptions, PurchaseOutcome, PurchaseStatus } from './types.js'
export type { RecoveryState } from './slices/recovery.js'

/**
 * The Pinia store (id `'toss-iap'`) behind every composable: environment, orders and recovery,
 * all visible in Vue devtools. The plugin creates it just after the app's first render, and it
 * starts the startup work (recovery, then the entitlement refresh) once it exists. The catalogue,
 * what the user owns and the order history have stores of their own, `useProductStore()`,
 * `useEntitlementStore()` and `useOrderHistoryStore()`, created on first use.
 */
export const useIapStore = defineStore('toss-iap', () => {
  const ctx = useTossIapContext('useIapStore()')
  const { client } = ctx

  // Facts of this page (getters: never taken from the server's state when an SSR app hydrates),
  // read on first use, not at store creation: an app that never asks pays no version checks.
  // `refreshEnvironment()` reads them again.
  const pageRead = ref(0)
  const environment = computed<IapEnvironment>(() => (pageRead.value, client.environment()))
  const capabilities = computed<IapCapabilities>(() => (pageRead.value, client.capabilities()))
  const isReady = skipHydrate(ref(false))

  const ordersState = createOrdersState(client, ctx)
  const recoveryState = createRecoveryState(client, ctx, ordersState)
  const { orders, activePurchase, isPurchaseOpen, lastPurchase, abandonPurchase } = ordersState

  /**
   * Runs one purchase; only one runs at a time in the whole app. Never rejects. A host that
   * reports success for an order it never reported as paid gets a recovery run: if Toss really
   * took payment, recovery finds the order.
   */
  async function purchase(...args: Parameters<typeof ordersState.purchase>) {
    const outcome = await ordersState.purchase(...args)
    if (outcome.status === 'failed' && outcome.error?.code === 'INVALID_RESPONSE') void recoveryState.recover()
    return outcome
  }

  /** Re-reads the environment and app version (they change only in tests and the playground). */
  function refreshEnvironment() {
    pageRead.value++
  }

  /** What runs after recovery: the entitlement refresh, once entitlements are in use. Never rejects. */
  async function afterRecovery(entitlements: boolean) {
    try {
      if (entitlements) await Promise.all([...ctx.afterRecovery].map((task) => task()))
    } catch (error) {
      reportSafely(ctx.reportError, error, 'the entitlement refresh after recovery')
    }
  }

  /** Recovery, then the entitlement refresh: what the return to the foreground runs. */
  async function sync(): Promise<RecoveryReport> {
    refreshEnvironment()
    const report = await recoveryState.recover()
    await afterRecovery(true)
    return report
  }

  // The startup work begins once the code that created the store has run (a microtask, so fake
  // timers in tests do not hold it), and the entitlement step after recovery, when the components
  // mounted with the app (and the entitlement store, if they use it) are in place.
  const { startup } = ctx
  const ready: Promise<RecoveryReport | null> = Promise.resolve()
    .then(() => (startup.recover ? recoveryState.recover() : null))
    .then(async (report) => (await afterRecovery(startup.entitlements), report))
    .finally(() => {
      isReady.value = true
    })

  // Back from hidden to visible: recover and refresh, at most once per throttle, from the store's
  // creation (with the startup work, after the app's first frame) until the app unmounts or the
  // store is disposed.
  if (isClient && ctx.recovery.onVisible && !ctx.unmounted.aborted) {
    let last = document.visibilityState
    const onVisibility = () => {
      const before = last
      last = document.visibilityState
      if (last !== 'visible' || before !== 'hidden') return
      const since = recoveryState.sinceLastRecovery()
      if (since === null || since >= ctx.recovery.throttle) void sync()
    }
    const stop = () => {
      document.removeEventListener('visibilitychange', onVisibility)
      ctx.unmounted.removeEventListener('abort', stop)
    }
    document.addEventListener('visibilitychange', onVisibility)
    ctx.unmounted.addEventListener('abort', stop, { once: true })
    onScopeDispose(stop)
  }

  /** Listens to every order transition; the listener is removed with the calling scope. */
  function onOrderEvent(listener: (event: IapOrderEvent) => unknown): { off: () => void } {
    return listenInScope(ctx.orderEvents, listener)
  }

  /** Resolves, with the recovery report (`null` when recovery was off), once the startup work is done. */
  function whenReady(): Promise<RecoveryReport | null> {
    return ready
  }

  return {
    environment,
    capabilities,
    isReady,
    orders,
    activePurchase,
    isPurchaseOpen,
    lastPurchase,
    purchase,
    abandonPurchase,
    ...recoveryState,
    refreshEnvironment,
    sync,
    whenReady,
    onOrderEvent,
  }
})

export type IapStore = ReturnType<typeof useIapStore>
