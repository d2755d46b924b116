import type { TossErrorCode } from '../core/errors.js'
import type { IapProduct, OrderKind, SubscriptionStatus } from '../core/types.js'

/** How the next purchase goes. */
export type PurchaseScript =
  /** Toss takes payment, asks for the grant, and reports success when it says true. */
  | 'success'
  /** The user closes the payment sheet: `USER_CANCELED`, nothing paid. */
  | 'cancel'
  /** The host never answers. */
  | 'hang'
  /** Like `success`, but the `purchased` event arrives twice. */
  | 'duplicate-purchased'
  /** Toss takes the money, then the page goes away before it hears of the order. */
  | 'close-after-pay'
  /** Toss takes the money and asks for the grant; the page goes away before Toss hears the answer. */
  | 'close-during-grant'
  /**
   * Toss refuses with this code before any order exists; nothing is paid. `bare` sends it as a bare
   * `Error` (newer hosts). `PRODUCT_NOT_GRANTED_BY_PARTNER` is a post-payment code and comes after
   * an order: Toss takes payment, asks for the grant, then answers the code whatever the page said,
   * and the order stays pending at Toss (as when the grant answer never reached it in time).
   * Buying a non-consumable the ledger already holds (paid, not refunded) always answers
   * `ITEM_ALREADY_OWNED`, with no script.
   */
  | { error: TossErrorCode | (string & {}); bare?: boolean }

/** What the next call to a bridge method gets instead of its normal answer. */
export type MethodFault = 'hang' | { error: TossErrorCode | (string & {}); bare?: boolean } | { respond: unknown }

export type BridgeFunction =
  | 'iapGetProductItemList'
  | 'getPendingOrders'
  | 'completeProductGrant'
  | 'getCompletedOrRefundedOrders'
  | 'getSubscriptionInfo'
  | 'processProductGrant'
  | 'requestOneTimePurchase'
  | 'requestSubscriptionPurchase'
  | 'appLogin'

export interface SimulatorOptions {
  /**
   * Who `appLogin()` logs in: the Toss `userKey` its authorization codes stand for (a dev server's
   * fake Toss reads it from the code). Default `'sim-user'`. Faults: `failNext('appLogin', …)`
   * (`{ error: 'USER_CANCELED' }` is a user who closed the sheet, `'hang'` one who never answers).
   */
  userKey?: string
  /** The console catalogue. Default: `gem-100` (consumable), `remove-ads` (non-consumable), `premium-monthly` (subscription). */
  products?: IapProduct[]
  /** Default `'toss'`. In `'sandbox'` the SDK treats every version as supported. */
  environment?: 'toss' | 'sandbox'
  /** Default `'5.250.0'`, which supports everything. */
  appVersion?: string
  /** Default `'android'`. */
  os?: 'ios' | 'android'
  /** Milliseconds before each answer; `0` (default) answers on the next microtask. */
  latency?: number
  /** How long Toss waits for the grant answer before giving up on it. Default 30 s. */
  grantWindow?: number
  /** Orders per page of `getCompletedOrRefundedOrders`. Default 20. */
  historyPageSize?: number
  /** How `getPendingOrders` lists orders: `orders` (default), `orderIds` (some iOS builds) or both. */
  pendingOrdersFormat?: 'orders' | 'orderIds' | 'both'
  /** Called when a script closes the app (`close-after-pay`, `close-during-grant`); unmount or reload there. */
  onAppClose?: () => void
  /** The window to install into. Default: the global `window`. */
  target?: Window
  /**
   * Keeps the host's ledger in a storage across page loads, as the real Toss keeps its orders
   * when the mini-app is closed (the playground uses this). Off by default: tests start empty.
   */
  persist?: { storage: Pick<Storage, 'getItem' | 'setItem'>; key?: string }
}

export interface SimSubscription {
  catalogId: number
  status: Exclude<SubscriptionStatus, 'UNKNOWN'>
  expiresAt: string | null
  isAutoRenew: boolean
  gracePeriodExpiresAt: string | null
  isAccessible: boolean
}

/** One order in the host's ledger. */
export interface SimOrder {
  orderId: string
  sku: string
  kind: OrderKind
  paid: boolean
  paidAt: string
  /** Every answer the page gave to Toss's grant question, in order. */
  grantAnswers: boolean[]
  completed: boolean
  completedAt: string | null
  refunded: boolean
  refundedAt: string | null
  subscriptionId?: string
  subscription?: SimSubscription
}

export interface BridgeCall {
  type: 'method' | 'addEventListener' | 'removeEventListener'
  functionName: string
  eventId: string
  args: unknown
  at: number
}

export interface TossSimulator {
  /** Every message the page posted, oldest first. */
  readonly calls: readonly BridgeCall[]
  callsTo(functionName: BridgeFunction | (string & {})): BridgeCall[]
  /** The ledger: every order the host knows, oldest first. */
  readonly orders: readonly SimOrder[]
  order(orderId: string): SimOrder | undefined
  /** Paid, not completed, not refunded: what `getPendingOrders` answers. */
  pendingOrders(): SimOrder[]
  /** Queues scripts for the next purchases; once used up, purchases succeed. */
  nextPurchase(...scripts: PurchaseScript[]): void
  /** The scripts still queued, next first: a purchase takes its script off when it starts. */
  queuedPurchases(): PurchaseScript[]
  /** The next `times` calls of `functionName` get `fault`. */
  failNext(functionName: BridgeFunction, fault: MethodFault, times?: number): void
  /** Adds a paid order the page never heard of, as if an earlier session had been killed. */
  addPaidOrder(sku: string): SimOrder
  refund(orderId: string): void
  setSubscription(orderId: string, patch: Partial<SimSubscription>): void
  /** Changes the environment, version, OS or latency from now on. */
  configure(patch: Pick<SimulatorOptions, 'environment' | 'appVersion' | 'os' | 'latency'>): void
  /** Callbacks the page has registered on the bridge emitter right now. */
  listenerCount(): number
  /** Purchase event subscriptions the page opened and has not removed. */
  openSubscriptions(): number
  /** Forgets every order (and the persisted ledger, if any). */
  clearLedger(): void
  /** Puts the page's globals back as they were and drops all state. */
  uninstall(): void
}
