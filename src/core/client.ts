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
import { reportToConsole, type ListenerErrorReporter } from './listeners.js'
import { normalizePendingOrders } from './normalize.js'
import { observeBridgeCalls, type BridgeCallEvent, type Observer } from './observe.js'
import { REFUSE_PAYMENT, type RefusePayment } from './endpointUrl.js'
import { runPurchase, type PurchaseRequest, type PurchaseResult } from './purchase.js'
import { DEFAULT_TIMEOUTS, monotonicNow, type IapTimeouts } from './timing.js'
import type { GrantFn, GrantOrder, PendingOrder } from './types.js'

export { DEFAULT_TIMEOUTS, monotonicNow, type BridgeCallEvent, type IapTimeouts }

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
  /**
   * Runs before each purchase reaches Toss (the login's gate): a result ends the purchase there
   * (`canceled` or `failed`), and nothing is paid.
   */
  beforePurchase?: () => Promise<PurchaseResult | null>
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

/**
 * The client. `onBridgeCall`, when given, sees every bridge call and purchase start and end (the
 * Vue plugin passes it in development builds only, so production bundles ship no observer).
 */
export function createIapClient(options: IapClientOptions): IapClient {
  if (typeof options?.grant !== 'function') {
    throw new IapError('INVALID_ARGUMENT', 'createIapClient needs a grant function')
  }
  const { onBridgeCall, ...rest } = options
  const observe = onBridgeCall && observeBridgeCalls(onBridgeCall, options.reportError ?? reportToConsole)
  return createClient({ ...rest, timeouts: resolveTimeouts(options.timeouts) }, observe)
}

/** The timeouts with the defaults filled in. Throws `INVALID_ARGUMENT` for one that is not a positive number of ms. */
export function resolveTimeouts(partial?: Partial<IapTimeouts>): IapTimeouts {
  const timeouts: IapTimeouts = { ...DEFAULT_TIMEOUTS, ...partial }
  for (const [name, ms] of Object.entries(timeouts)) {
    if (typeof ms !== 'number' || !(ms > 0)) throw new IapError('INVALID_ARGUMENT', `timeouts.${name} must be a positive number of ms`)
  }
  return timeouts
}

/**
 * @internal `createIapClient` with an optional observer of its own calls, and none by default.
 * The caller has checked the options: `grant` is a function, `timeouts` come from `resolveTimeouts`
 * (`createIapClient`, `createTossIap`).
 */
export function createClient(
  options: Omit<IapClientOptions, 'onBridgeCall' | 'timeouts'> & { timeouts: IapTimeouts },
  observe: Observer = (_name, _detail, work) => work(),
): IapClient {
  const { timeouts } = options
  const report = options.reportError ?? reportToConsole
  const grants = createGrantRegistry(options.grant, options.onGrantSettled, report)

  function call<T>(
    capability: IapCapability,
    name: string,
    run: () => Promise<unknown>,
    read: (v: unknown) => T,
    detail?: string,
  ): Promise<T> {
    return observe(name, detail, async () => {
      try {
        assertCapability(capability)
        const answer = await callWithTimeout(name, run, timeouts.call)
        try {
          return read(answer)
        } catch (error) {
          throw error instanceof IapError
            ? error
            : new IapError('INVALID_RESPONSE', `${name} answered something unreadable`, { cause: error })
        }
      } catch (error) {
        throw toIapError(error, { during: name })
      }
    })
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
    purchase: (request) => {
      const start = () =>
        observe(
          request?.kind === 'subscription' ? 'createSubscriptionPurchaseOrder' : 'createOneTimePurchaseOrder',
          request?.sku,
          () => runPurchase(request, { grants, timeouts, report, refuse: (options.grant as { [REFUSE_PAYMENT]?: RefusePayment })[REFUSE_PAYMENT] }),
          (result) => (result.status === 'success' ? null : result.error),
        )
      const gate = options.beforePurchase
      return gate ? gate().then((refused) => refused ?? start()) : start()
    },
    grant: (order) => grants.run(order, timeouts.grant),
  }
  return client
}
