import { IAP } from '@apps-in-toss/web-framework'
import { callWithTimeout } from './bridge.js'
import {
  assertCapability,
  detectCapabilities,
  detectEnvironment,
  type IapCapabilities,
  type IapCapability,
  type IapEnvironment,
} from './environment.js'
import { IapError, requireOrderId, toIapError } from './errors.js'
import { createGrantRegistry, type GrantOutcome, type GrantRegistry } from './grants.js'
import { notify, reportToConsole, type ListenerErrorReporter } from './listeners.js'
import { normalizePendingOrders } from './normalize.js'
import { runPurchase, type PurchaseRequest, type PurchaseResult } from './purchase.js'
import { DEFAULT_TIMEOUTS, monotonicNow, type IapTimeouts } from './timing.js'
import type { GrantFn, GrantOrder, PendingOrder } from './types.js'

export { DEFAULT_TIMEOUTS, monotonicNow, type IapTimeouts }

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
  getPendingOrders(): Promise<PendingOrder[]>
  /** `true` only when Toss confirmed; `false` for `false`, `undefined` or anything else. */
  completeProductGrant(orderId: string): Promise<boolean>
  /** `completeProductGrant` that never rejects: whether Toss confirmed, and why not when it did not. */
  tryComplete(orderId: string): Promise<{ confirmed: boolean; error: IapError | null }>
  /**
   * One bridge call as every call of the client runs: the capability checked first, a timeout,
   * `read` normalising the answer (a throw there is `INVALID_RESPONSE`), `onBridgeCall` told.
   * `getProducts`, `getOrderHistory` and `getSubscriptionInfo` are built on it, in modules of their own.
   */
  request<T>(
    capability: IapCapability,
    name: string,
    run: () => Promise<unknown>,
    read: (answer: unknown) => T,
    detail?: string,
  ): Promise<T>
  /** Runs one purchase; never rejects. */
  purchase(request: PurchaseRequest): Promise<PurchaseResult>
  /** Grants one order through the registry: at most once at a time, never again after `true`. */
  grant(order: GrantOrder): Promise<GrantOutcome>
}

export function createIapClient(options: IapClientOptions): IapClient {
  if (typeof options?.grant !== 'function') {
    throw new IapError('INVALID_ARGUMENT', 'createIapClient needs a grant function')
  }
  const timeouts: IapTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  for (const [name, ms] of Object.entries(timeouts)) {
    if (typeof ms !== 'number' || !(ms > 0)) throw new IapError('INVALID_ARGUMENT', `timeouts.${name} must be a positive number of ms`)
  }
  const report = options.reportError ?? reportToConsole
  const grants = createGrantRegistry(options.grant, options.onGrantSettled, report)

  const observe = (event: BridgeCallEvent) => notify(options.onBridgeCall, [event], 'onBridgeCall', report)
  async function call<T>(
    capability: IapCapability,
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
        throw error instanceof IapError
          ? error
          : new IapError('INVALID_RESPONSE', `${name} answered something unreadable`, { cause: error })
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
    request: call,
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
