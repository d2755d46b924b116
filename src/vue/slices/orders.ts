import { skipHydrate } from 'pinia'
import { computed, ref, shallowReactive } from 'vue'
import type { IapClient } from '../../core/client.js'
import { IapError } from '../../core/errors.js'
import { notify } from '../../core/listeners.js'
import type { OrderKind } from '../../core/types.js'
import type { TossIapContext } from '../context.js'
import type { IapOrder, PurchaseOptions, PurchaseOutcome } from '../types.js'

export function createOrdersState(client: IapClient, ctx: TossIapContext) {
  // Shallow: each record is replaced whole, never edited in place, so only the keys need tracking.
  const orders = shallowReactive<Record<string, IapOrder>>({})
  const activePurchase = skipHydrate(ref<{ sku: string; kind: OrderKind; startedAt: number } | null>(null))
  /** True while a purchase is open anywhere in the app: other buy buttons can disable on it. */
  const isPurchaseOpen = computed(() => activePurchase.value !== null)
  let abandon: AbortController | null = null
  /** How the last purchase of this session ended, whatever it was. */
  const lastPurchase = ref<(PurchaseOutcome & { sku: string; finishedAt: number }) | null>(null)
  const events = ctx.orderEvents

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
      events.emit({ type: stored.status === 'completed' ? (completedBy ?? 'completed') : stored.status, order: stored })
    }
    return stored
  }

  ctx.grantSettled.add(({ order, outcome }) => {
    const current = orders[order.orderId]
    if (!current) return
    if (outcome.granted && (current.status === 'granting' || current.status === 'pending'))
      track(order.orderId, { status: 'granted', error: null })
    else if (!outcome.granted && current.status === 'granting') track(order.orderId, { status: 'pending', error: outcome.error })
  })

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
    const controller = (abandon = new AbortController())
    const forward = () => controller.abort()
    if (options.signal?.aborted) controller.abort()
    else options.signal?.addEventListener('abort', forward, { once: true })
    try {
      const result = await client.purchase({
        sku,
        kind,
        offerId: options.offerId,
        signal: controller.signal,
        onPurchased: ({ orderId, subscriptionId }) => {
          track(orderId, { sku, kind, source: 'purchase', status: 'granting', error: null, ...(subscriptionId && { subscriptionId }) })
          notify(options.onPurchased, [orderId], 'onPurchased', ctx.reportError)
        },
        onGrantAnswer: (orderId, outcome) =>
          track(orderId, outcome.granted ? { status: 'granted', error: null } : { status: 'pending', error: outcome.error }),
      })
      if (result.status === 'success') {
        // Tells Toss the order is fulfilled; it stays `granted` when Toss does not confirm.
        const { confirmed, error } = await client.tryComplete(result.orderId)
        const { receipt } = result
        const order = track(result.orderId, confirmed ? { receipt, status: 'completed', error: null } : { receipt, status: 'granted', error })
        return { status: order.status, orderId: order.orderId, error: order.error, receipt }
      }
      if (result.status === 'canceled' || result.status === 'failed') {
        events.emit({ type: result.status, sku, error: result.error })
        return { status: result.status, orderId: null, error: result.error }
      }
      const known = orders[result.orderId]
      const status: IapOrder['status'] =
        known?.status ?? (result.granted ? 'granted' : client.grants.isRunning(result.orderId) ? 'granting' : 'pending')
      const order = known ?? track(result.orderId, { sku, kind, source: 'purchase', status, error: result.error })
      // The order's own record speaks: a completed order carries no error, whatever ended the flow.
      return { status: order.status, orderId: order.orderId, error: order.status === 'completed' ? null : (order.error ?? result.error) }
    } finally {
      options.signal?.removeEventListener('abort', forward)
      if (abandon === controller) abandon = null
      activePurchase.value = null
    }
  }

  /**
   * Lets the user out of a payment sheet that hangs: closes the open purchase's flow and removes
   * its listeners. Before payment it ends `canceled` (`ABORTED`); a payment Toss already took is
   * not lost: its grant goes on, and recovery completes the order. Does nothing when no purchase is open.
   */
  function abandonPurchase(): void {
    abandon?.abort()
  }

  return { orders, activePurchase, isPurchaseOpen, lastPurchase, track, purchase, abandonPurchase }
}
