import { createEventHook } from '@vueuse/core'
import { defineStore } from 'pinia'
import { inject, ref, shallowRef } from 'vue'
import type { IapCapabilities, IapEnvironment } from '../core/environment.js'
import { IapError, toIapError } from '../core/errors.js'
import { recoverPendingOrders, type RecoveryReport, type RecoveryStep } from '../core/recovery.js'
import type { IapProduct, OrderKind, PendingOrder, PurchaseReceipt } from '../core/types.js'
import { TOSS_IAP_KEY } from './context.js'

/**
 * Where an order stands.
 * - `purchasing`: the Toss payment sheet is up (composables only: there is no orderId yet).
 * - `granting`: Toss took payment; the app's grant runs.
 * - `granted`: the server granted; Toss has not confirmed yet (recovery will).
 * - `completed`: `completeProductGrant` confirmed. Final.
 * - `pending`: the grant said false, threw or timed out; the order waits at Toss for recovery.
 * - `canceled`: the user backed out (or the app aborted before payment).
 * - `failed`: Toss refused; nothing was paid.
 */
export type OrderStatus = 'purchasing' | 'granting' | 'granted' | 'completed' | 'pending' | 'canceled' | 'failed'
export type PurchaseStatus = 'idle' | OrderStatus

/** An order this session has seen, as the store keeps it. */
export interface IapOrder {
  orderId: string
  sku: string
  kind: OrderKind
  status: Extract<OrderStatus, 'granting' | 'granted' | 'completed' | 'pending'>
  /** How this session met the order: a live purchase, or recovery of a pending one. */
  source: 'purchase' | 'recovery'
  subscriptionId?: string
  error: IapError | null
  receipt?: PurchaseReceipt
  createdAt: number
  updatedAt: number
}

/** What `purchase()` resolves to. It never rejects. */
export interface PurchaseOutcome {
  status: Exclude<OrderStatus, 'purchasing'>
  orderId: string | null
  error: IapError | null
  receipt?: PurchaseReceipt
}

/**
 * One order transition, for analytics or for refreshing a balance. `completed` is a live purchase
 * confirmed; `recovered` an order completed by recovery. `canceled` and `failed` carry no order.
 */
export type IapOrderEvent =
  | { type: 'granting' | 'granted' | 'pending' | 'completed' | 'recovered'; order: IapOrder }
  | { type: 'canceled' | 'failed'; sku: string; error: IapError }

export interface PurchaseOptions {
  kind?: OrderKind
  offerId?: string | null
  signal?: AbortSignal
  /** Toss took payment and created this order. */
  onPurchased?: (orderId: string) => void
}

export interface RecoveryState {
  status: 'idle' | 'running' | 'done' | 'failed'
  lastReport: RecoveryReport | null
  lastStartedAt: number | null
  runs: number
}

const TERMINAL = 'completed'

export const useIapStore = defineStore('toss-iap', () => {
  const ctx = inject(TOSS_IAP_KEY, null)
  if (!ctx) {
    throw new IapError('NOT_INSTALLED', 'useIapStore() needs the plugin: app.use(createPinia()) then app.use(createTossIap({ grant }))')
  }
  const { client } = ctx

  const environment = shallowRef<IapEnvironment>(client.environment())
  const capabilities = shallowRef<IapCapabilities>(client.capabilities())

  const products = shallowRef<IapProduct[]>([])
  const productsStatus = ref<'idle' | 'loading' | 'success' | 'error'>('idle')
  const productsError = shallowRef<IapError | null>(null)
  const productsUpdatedAt = ref<number | null>(null)

  const orders = ref<Record<string, IapOrder>>({})
  const activePurchase = ref<{ sku: string; kind: OrderKind; startedAt: number } | null>(null)
  const recovery = ref<RecoveryState>({ status: 'idle', lastReport: null, lastStartedAt: null, runs: 0 })
  const isReady = ref(false)

  const events = createEventHook<IapOrderEvent>()
  let readyPromise: Promise<RecoveryReport | null> = Promise.resolve(null)

  /** Re-reads the environment and app version (they only change in tests and the playground). */
  function refreshEnvironment() {
    environment.value = client.environment()
    capabilities.value = client.capabilities()
  }

  function track(orderId: string, patch: Partial<IapOrder>, eventType?: 'recovered'): IapOrder {
    const prev = orders.value[orderId]
    const now = Date.now()
    // `completed` is final: a late or repeated answer never takes it back.
    if (prev?.status === TERMINAL && patch.status && patch.status !== TERMINAL) return prev
    const base: IapOrder = prev ?? { orderId, sku: '', kind: 'one-time', status: 'granting', source: 'purchase', error: null, createdAt: now, updatedAt: now }
    const next: IapOrder = { ...base, ...patch, updatedAt: now }
    orders.value[orderId] = next
    const stored = orders.value[orderId] as IapOrder
    if (prev?.status !== next.status) {
      const type = next.status === 'completed' ? (eventType ?? 'completed') : next.status
      void events.trigger({ type, order: stored })
    }
    return stored
  }

  ctx.grantSettled = (order, outcome) => {
    const current = orders.value[order.orderId]
    if (!current) return
    if (outcome.granted && (current.status === 'granting' || current.status === 'pending')) track(order.orderId, { status: 'granted', error: null })
    else if (!outcome.granted && current.status === 'granting') track(order.orderId, { status: 'pending', error: outcome.error })
  }

  let productsInFlight: Promise<IapProduct[]> | null = null
  /** Loads the catalogue; concurrent callers share one bridge call. Never rejects: a failure keeps the last good list. */
  function loadProducts(): Promise<IapProduct[]> {
    if (productsInFlight) return productsInFlight
    productsStatus.value = 'loading'
    productsInFlight = client
      .getProducts()
      .then(
        (list) => {
          products.value = list
          productsError.value = null
          productsStatus.value = 'success'
          productsUpdatedAt.value = Date.now()
          return list
        },
        (error: unknown) => {
          productsError.value = toIapError(error, { during: 'getProductItemList' })
          productsStatus.value = 'error'
          return products.value
        },
      )
      .finally(() => {
        productsInFlight = null
      })
    return productsInFlight
  }

  async function complete(orderId: string, receipt?: PurchaseReceipt, eventType?: 'recovered'): Promise<IapOrder> {
    let error: IapError | null = null
    const confirmed = await client.completeProductGrant(orderId).catch((e: unknown) => {
      error = toIapError(e, { orderId, during: 'completeProductGrant' })
      return false
    })
    const extra = receipt ? { receipt } : {}
    return confirmed ? track(orderId, { status: 'completed', error: null, ...extra }, eventType) : track(orderId, { status: 'granted', error, ...extra })
  }

  /** Runs one purchase. Only one runs at a time in the whole app. Never rejects. */
  async function purchase(sku: string, options: PurchaseOptions = {}): Promise<PurchaseOutcome> {
    const kind = options.kind ?? 'one-time'
    if (activePurchase.value) {
      const error = new IapError('PURCHASE_IN_PROGRESS', `a purchase of ${activePurchase.value.sku} is already open; ${sku} was not started`, { sku })
      return { status: 'failed', orderId: null, error }
    }
    activePurchase.value = { sku, kind, startedAt: Date.now() }
    try {
      const result = await client.purchase({
        sku,
        kind,
        offerId: options.offerId,
        signal: options.signal,
        onPurchased: ({ orderId, subscriptionId }) => {
          track(orderId, { sku, kind, source: 'purchase', status: 'granting', error: null, ...(subscriptionId && { subscriptionId }) })
          options.onPurchased?.(orderId)
        },
        onGrantAnswer: (orderId, outcome) =>
          track(orderId, outcome.granted ? { status: 'granted', error: null } : { status: 'pending', error: outcome.error }),
      })
      if (result.status === 'success') {
        const order = await complete(result.orderId, result.receipt)
        return { status: order.status, orderId: order.orderId, error: order.error, receipt: result.receipt }
      }
      if (result.status === 'canceled' || result.status === 'failed') {
        void events.trigger({ type: result.status, sku, error: result.error })
        return { status: result.status, orderId: null, error: result.error }
      }
      const known = orders.value[result.orderId]
      const status: IapOrder['status'] =
        known?.status ?? (result.granted ? 'granted' : client.grants.isRunning(result.orderId) ? 'granting' : 'pending')
      const order = known ?? track(result.orderId, { sku, kind, source: 'purchase', status, error: result.error })
      return { status: order.status, orderId: order.orderId, error: order.error ?? result.error }
    } finally {
      activePurchase.value = null
    }
  }

  async function describe(listed: PendingOrder): Promise<{ sku: string; kind: OrderKind }> {
    const known = orders.value[listed.orderId]
    const sku = listed.sku || known?.sku || ''
    if (known) return { sku, kind: known.kind }
    if (productsStatus.value !== 'success') await loadProducts()
    const product = products.value.find((p) => p.sku === sku)
    return { sku, kind: product?.type === 'SUBSCRIPTION' ? 'subscription' : 'one-time' }
  }

  function onStep(step: RecoveryStep) {
    const { orderId } = step.order
    const base = orders.value[orderId] ? {} : { sku: step.order.sku, kind: step.kind, source: 'recovery' as const }
    if (step.phase === 'completed') track(orderId, { ...base, status: 'completed', error: null }, 'recovered')
    else track(orderId, { ...base, status: step.phase, error: step.error })
  }

  let recovering: Promise<RecoveryReport> | null = null
  /**
   * Grants and completes every pending order. Always runs, or joins the run under way.
   * Never rejects: the report says what was completed, what is still pending, and why not.
   */
  function recover(): Promise<RecoveryReport> {
    if (recovering) return recovering
    refreshEnvironment()
    recovery.value = { ...recovery.value, status: 'running', lastStartedAt: Date.now() }
    recovering = recoverPendingOrders(client, { concurrency: ctx!.recovery.concurrency, describe, onStep })
      .then((report) => {
        recovery.value = { ...recovery.value, status: report.error ? 'failed' : 'done', lastReport: report, runs: recovery.value.runs + 1 }
        return report
      })
      .finally(() => {
        recovering = null
      })
    return recovering
  }

  /** @internal The plugin's start: recovery in the background, never blocking the first render. */
  function start(runRecovery: boolean) {
    readyPromise = (runRecovery ? recover() : Promise.resolve(null)).finally(() => {
      isReady.value = true
    })
  }

  /** Resolves when the startup recovery has finished (with its report, or `null` when it was off). */
  function whenReady(): Promise<RecoveryReport | null> {
    return readyPromise
  }

  return {
    environment,
    capabilities,
    products,
    productsStatus,
    productsError,
    productsUpdatedAt,
    orders,
    activePurchase,
    recovery,
    isReady,
    refreshEnvironment,
    loadProducts,
    purchase,
    recover,
    whenReady,
    start,
    /** Listens to every order transition; the listener is removed with the calling scope. */
    onOrderEvent: events.on,
  }
})

export type IapStore = ReturnType<typeof useIapStore>
