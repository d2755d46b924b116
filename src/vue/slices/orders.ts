import { createEventHook } from '@vueuse/core'
import { skipHydrate } from 'pinia'
import { ref, shallowReactive } from 'vue'
import type { IapClient } from '../../core/client.js'
import { IapError } from '../../core/errors.js'
import type { OrderKind, PurchaseReceipt } from '../../core/types.js'
import type { TossIapContext } from '../context.js'

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

export function createOrdersState(client: IapClient, ctx: TossIapContext) {
  // Shallow: each record is replaced whole, never edited in place, so only the keys need tracking.
  const orders = shallowReactive<Record<string, IapOrder>>({})
  const activePurchase = skipHydrate(ref<{ sku: string; kind: OrderKind; startedAt: number } | null>(null))
  /** How the last purchase of this session ended, whatever it was. */
  const lastPurchase = ref<(PurchaseOutcome & { sku: string; finishedAt: number }) | null>(null)
  const events = createEventHook<IapOrderEvent>()

  /** Records a change of one order and announces a change of status. `completed` is final. */
  function track(orderId: string, patch: Partial<IapOrder>, completedBy?: 'recovered'): IapOrder {
    const prev = orders[orderId]
    if (prev?.status === 'completed' && patch.status && patch.status !== 'completed') return prev
    const now = Date.now()
    const base: IapOrder = prev ?? {
      orderId,
      sku: '',
      kind: 'one-time',
      status: 'granting',
      source: 'purchase',
      error: null,
      createdAt: now,
      updatedAt: now,
    }
    orders[orderId] = { ...base, ...patch, updatedAt: now }
    const stored = orders[orderId] as IapOrder
    if (prev?.status !== stored.status) {
      void events.trigger({ type: stored.status === 'completed' ? (completedBy ?? 'completed') : stored.status, order: stored })
    }
    return stored
  }

  ctx.grantSettled = (order, outcome) => {
    const current = orders[order.orderId]
    if (!current) return
    if (outcome.granted && (current.status === 'granting' || current.status === 'pending'))
      track(order.orderId, { status: 'granted', error: null })
    else if (!outcome.granted && current.status === 'granting') track(order.orderId, { status: 'pending', error: outcome.error })
  }

  /** Tells Toss the order is fulfilled. `granted` stays when Toss does not confirm. */
  async function complete(orderId: string, extra: Partial<IapOrder> = {}, completedBy?: 'recovered'): Promise<IapOrder> {
    const { confirmed, error } = await client.tryComplete(orderId)
    return confirmed
      ? track(orderId, { ...extra, status: 'completed', error: null }, completedBy)
      : track(orderId, { ...extra, status: 'granted', error })
  }

  /** Runs one purchase. Only one runs at a time in the whole app. Never rejects. */
  async function purchase(sku: string, options: PurchaseOptions = {}): Promise<PurchaseOutcome> {
    const outcome = await run(sku, options)
    // Canceled and failed purchases have no order; this keeps their outcome visible too.
    lastPurchase.value = { sku, ...outcome, finishedAt: Date.now() }
    return outcome
  }

  async function run(sku: string, options: PurchaseOptions): Promise<PurchaseOutcome> {
    const kind = options.kind ?? 'one-time'
    if (activePurchase.value) {
      const error = new IapError(
        'PURCHASE_IN_PROGRESS',
        `a purchase of ${activePurchase.value.sku} is already open; ${sku} was not started`,
        { sku },
      )
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
        const order = await complete(result.orderId, { receipt: result.receipt })
        return { status: order.status, orderId: order.orderId, error: order.error, receipt: result.receipt }
      }
      if (result.status === 'canceled' || result.status === 'failed') {
        void events.trigger({ type: result.status, sku, error: result.error })
        return { status: result.status, orderId: null, error: result.error }
      }
      const known = orders[result.orderId]
      const status: IapOrder['status'] =
        known?.status ?? (result.granted ? 'granted' : client.grants.isRunning(result.orderId) ? 'granting' : 'pending')
      const order = known ?? track(result.orderId, { sku, kind, source: 'purchase', status, error: result.error })
      return { status: order.status, orderId: order.orderId, error: order.error ?? result.error }
    } finally {
      activePurchase.value = null
    }
  }

  return { orders, activePurchase, lastPurchase, events, track, complete, purchase }
}
