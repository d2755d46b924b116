import { IAP } from '@apps-in-toss/web-framework'
import { callWithTimeout } from './bridge.js'
import { assertCapability, detectCapabilities, detectEnvironment, type IapCapabilities, type IapEnvironment } from './environment.js'
import { IapError, requireOrderId, toIapError } from './errors.js'
import { createGrantRegistry, type GrantOutcome, type GrantRegistry } from './grants.js'
import { notify, reportToConsole, type ListenerErrorReporter } from './listeners.js'
import { normalizeHistory, normalizePendingOrders, normalizeProducts, normalizeSubscription } from './normalize.js'
import { runPurchase, type PurchaseRequest, type PurchaseResult } from './purchase.js'
import type { GrantFn, GrantOrder, IapProduct, OrderHistoryPage, PendingOrder, SubscriptionInfo } from './types.js'

export interface IapTimeouts {
  /** Every bridge call (products, pending orders, complete, history, subscription info). Default 15 s. */
  call: number
  /** The app's `grant`; past it Toss is told `false` and the order waits for recovery. Default 25 s, under Toss's 30 s. */
  grant: number
  /** How long the Toss payment sheet may stay up without an answer. Default 5 min. */
  purchase: number
}

export const DEFAULT_TIMEOUTS: IapTimeouts = { call: 15_000, grant: 25_000, purchase: 300_000 }

export interface IapClientOptions {
  /** The app's server fulfilment. */
  grant: GrantFn
  timeouts?: Partial<IapTimeouts>
  /** Sees every grant's own result when it settles, including one that came after its time budget. */
  onGrantSettled?: (order: GrantOrder, outcome: GrantOutcome) => void
  /** Sees every bridge call start and end (the devtools timeline listens here). */
  onBridgeCall?: (event: BridgeCallEvent) => void
  /**
   * Where an error thrown by a listener (the two above, a purchase's `onPurchased`) is reported.
   * Listeners never change what happens to money. Default: the console.
   */
  reportError?: ListenerErrorReporter
}

/** A clock that only moves forward: a device clock set back never stalls a throttle or a duration. */
export const monotonicNow = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now())

/** One IAP bridge call (or purchase flow), as it starts and as it ends. */
export interface BridgeCallEvent {
  name: string
  phase: 'start' | 'success' | 'error'
  /** What was asked: an orderId, a sku, a history key. */
  detail?: string
  /** On `success` and `error`. */
  durationMs?: number
  error?: IapError
}

/**
 * The framework-free adapter over `IAP` from `@apps-in-toss/web-framework`: every call checks the
 * environment and app version first, has a timeout, and answers normalised data or an `IapError`.
 */
export interface IapClient {
  readonly timeouts: Readonly<IapTimeouts>
  readonly grants: GrantRegistry
  environment(): IapEnvironment
  capabilities(): IapCapabilities
  getProducts(): Promise<IapProduct[]>
  getPendingOrders(): Promise<PendingOrder[]>
  /** `true` only when Toss confirmed; `false` for `false`, `undefined` or anything else. */
  completeProductGrant(orderId: string): Promise<boolean>
  /** `completeProductGrant` that never rejects: whether Toss confirmed, and why not when it did not. */
  tryComplete(orderId: string): Promise<{ confirmed: boolean; error: IapError | null }>
  getOrderHistory(options?: { key?: string | null }): Promise<OrderHistoryPage>
  /** `null` when the host does not know the subscription (it answered `{}`). */
  getSubscriptionInfo(orderId: string): Promise<SubscriptionInfo | null>
  /** Runs one purchase; never rejects. */
  purchase(request: PurchaseRequest): Promise<PurchaseResult>
  /** Grants one order through the registry: at most once at a time, never again after `true`. */
  grant(order: GrantOrder): Promise<GrantOutcome>
}

export function createIapClient(options: IapClientOptions): IapClient {
  if (typeof options?.grant !== 'function') {
    throw new IapError('INVALID_ARGUMENT', 'createIapClient needs a grant function: (order) => boolean | Promise<boolean>')
  }
  const timeouts: IapTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  for (const [name, ms] of Object.entries(timeouts)) {
    if (typeof ms !== 'number' || !(ms > 0)) throw new IapError('INVALID_ARGUMENT', `timeouts.${name} must be a positive number of ms`)
  }
  const report = options.reportError ?? reportToConsole
  const grants = createGrantRegistry(options.grant, options.onGrantSettled, report)

  const observe = (event: BridgeCallEvent) => notify(options.onBridgeCall, [event], 'onBridgeCall', report)
  async function call<T>(
    capability: Parameters<typeof assertCapability>[0],
    name: string,
    run: () => Promise<unknown>,
    read: (v: unknown) => T,
    detail?: string,
  ): Promise<T> {
    const started = monotonicNow()
    observe({ name, phase: 'start', detail })
    try {
      assertCapability(capability)
      const answer = await callWithTimeout(name, run, timeouts.call)
      let value: T
      try {
        value = read(answer)
      } catch (error) {
        throw error instanceof IapError ? error : new IapError('INVALID_RESPONSE', `${name} answered something unreadable`, { cause: error })
      }
      observe({ name, phase: 'success', detail, durationMs: monotonicNow() - started })
      return value
    } catch (error) {
      const iapError = toIapError(error, { during: name })
      observe({ name, phase: 'error', detail, durationMs: monotonicNow() - started, error: iapError })
      throw iapError
    }
  }

  const client: IapClient = {
    timeouts,
    grants,
    environment: detectEnvironment,
    capabilities: () => detectCapabilities(),
    getProducts: () => call('products', 'getProductItemList', () => IAP.getProductItemList(), normalizeProducts),
    getPendingOrders: () => call('pendingOrders', 'getPendingOrders', () => IAP.getPendingOrders(), normalizePendingOrders),
    async completeProductGrant(orderId) {
      const id = requireOrderId(orderId)
      return call(
        'completeProductGrant',
        'completeProductGrant',
        () => IAP.completeProductGrant({ params: { orderId: id } }),
        (v) => v === true,
        id,
      )
    },
    tryComplete(orderId) {
      return client.completeProductGrant(orderId).then(
        (confirmed) => ({ confirmed, error: null }),
        (e: unknown) => ({ confirmed: false, error: toIapError(e, { orderId, during: 'completeProductGrant' }) }),
      )
    },
    getOrderHistory(opts = {}) {
      const key = opts.key ?? null
      // The 2.10.8 types declare no argument, but hosts page with `{ key }` (the official sample does).
      const fetchPage = IAP.getCompletedOrRefundedOrders as (args?: { key: string }) => Promise<unknown>
      return call(
        'orderHistory',
        'getCompletedOrRefundedOrders',
        () => (key ? fetchPage({ key }) : fetchPage()),
        normalizeHistory,
        key ?? undefined,
      )
    },
    async getSubscriptionInfo(orderId) {
      const id = requireOrderId(orderId)
      return call(
        'subscriptions',
        'getSubscriptionInfo',
        () => IAP.getSubscriptionInfo({ params: { orderId: id } }),
        normalizeSubscription,
        id,
      )
    },
    async purchase(request) {
      const name = request.kind === 'subscription' ? 'createSubscriptionPurchaseOrder' : 'createOneTimePurchaseOrder'
      const started = monotonicNow()
      observe({ name, phase: 'start', detail: request.sku })
      const result = await runPurchase(request, { grants, timeouts, report })
      const ok = result.status === 'success'
      observe({
        name,
        phase: ok ? 'success' : 'error',
        detail: request.sku,
        durationMs: monotonicNow() - started,
        ...(!ok && { error: result.error }),
      })
      return result
    },
    grant: (order) => grants.run(order, timeouts.grant),
  }
  return client
}
