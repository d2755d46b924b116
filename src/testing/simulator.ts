import type { GraniteEmitter } from '../core/environment.js'
import { IapError } from '../core/errors.js'
import type { OrderKind } from '../core/types.js'
import { DEFAULT_PRODUCTS } from './catalogue.js'
import { simulatedAuthorizationCode } from './loginCode.js'
import { CAPABILITY_OF, compareVersions, createEmitter, MIN_VERSIONS } from './protocol.js'
import type { BridgeCall, MethodFault, PurchaseScript, SimOrder, SimulatorOptions, TossSimulator } from './types.js'

const ACCESSIBLE: ReadonlySet<string> = new Set(['ACTIVE', 'IN_GRACE_PERIOD'])
/**
 * Codes Toss sends only about an order it has already taken payment for. A script with one of
 * them pays, asks for the grant, and then answers the code whatever the page said.
 */
export const POST_PAYMENT_ERROR_CODES: readonly string[] = ['PRODUCT_NOT_GRANTED_BY_PARTNER']
const DAY = 86_400_000

/**
 * Installs a simulated Toss host into the page: the three globals the SDK's bridge talks through,
 * and a host behind them that answers every IAP call from a ledger of orders. The real
 * `@apps-in-toss/web-framework` then runs against it unchanged.
 */
export function installTossSimulator(options: SimulatorOptions = {}): TossSimulator {
  const win = (options.target ?? (typeof window === 'undefined' ? undefined : window)) as (Window & Record<string, unknown>) | undefined
  if (!win) {
    throw new IapError('UNSUPPORTED_ENVIRONMENT', 'installTossSimulator needs a window: run it in a browser, happy-dom or jsdom')
  }
  const products = [...(options.products ?? DEFAULT_PRODUCTS)]
  const grantWindow = options.grantWindow ?? 30_000
  const pageSize = Math.max(1, options.historyPageSize ?? 20)
  const settings = {
    environment: options.environment ?? 'toss',
    appVersion: options.appVersion ?? '5.250.0',
    os: options.os ?? 'android',
    latency: options.latency ?? 0,
  }

  const calls: BridgeCall[] = []
  const ledger: SimOrder[] = []
  const scripts: PurchaseScript[] = []
  const faults = new Map<string, MethodFault[]>()
  const subscriptions = new Map<string, string>() // eventId -> functionName
  const awaitingGrant = new Map<
    string,
    { eventId: string; functionName: string; timer: ReturnType<typeof setTimeout>; close: boolean; refuse: boolean }
  >()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let installed = true
  let seq = 0
  // Unique across simulators in one page, as Toss's UUIDs are: two hosts made in the same
  // millisecond (tests, fake clocks) never hand out the same orderId.
  let stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`
  const persistKey = options.persist?.key ?? 'vue-toss-iap:simulator'
  try {
    const saved = JSON.parse(options.persist?.storage.getItem(persistKey) ?? 'null') as {
      orders?: SimOrder[]
      seq?: number
      stamp?: string
    } | null
    if (saved && Array.isArray(saved.orders)) {
      ledger.push(...saved.orders)
      seq = saved.seq ?? ledger.length
      stamp = saved.stamp ?? stamp
    }
  } catch {
    // A corrupt saved ledger starts empty.
  }
  const save = () => {
    if (options.persist) options.persist.storage.setItem(persistKey, JSON.stringify({ orders: ledger, seq, stamp }))
  }

  const constants: Record<string, unknown> = {}
  const syncConstants = () => {
    constants.getOperationalEnvironment = settings.environment
    constants.getTossAppVersion = settings.appVersion
    constants.getPlatformOS = settings.os
  }
  syncConstants()

  const previous = {
    webView: Object.getOwnPropertyDescriptor(win, 'ReactNativeWebView'),
    constants: Object.getOwnPropertyDescriptor(win, '__CONSTANT_HANDLER_MAP'),
  }
  // The SDK creates its emitter when its module is first evaluated and may replace ours, so the
  // host looks the emitter up on `window` at each emit and only adds one when none is there.
  const ownEmitter = win.__GRANITE_NATIVE_EMITTER ? undefined : createEmitter()
  if (ownEmitter) win.__GRANITE_NATIVE_EMITTER = ownEmitter
  win.__CONSTANT_HANDLER_MAP = constants
  win.ReactNativeWebView = { postMessage: (message: string) => receive(message) }

  const emitter = () => win.__GRANITE_NATIVE_EMITTER as GraniteEmitter | undefined
  const emit = (event: string, payload?: unknown) => {
    if (installed) emitter()?.emit(event, payload)
  }
  const later = (fn: () => void, ms = settings.latency) => {
    if (ms > 0) {
      const t = setTimeout(() => {
        timers.delete(t)
        if (installed) (fn(), save())
      }, ms)
      timers.add(t)
    } else {
      void Promise.resolve().then(() => {
        if (installed) (fn(), save())
      })
    }
  }
  const errorPayload = (code: string, bare = false, detail = '') =>
    bare ? { __isError: true, message: code } : { __isError: true, code, message: `${code}${detail ? `: ${detail}` : ''}` }

  const supports = (functionName: string) => {
    const capability = CAPABILITY_OF[functionName]
    if (!capability || settings.environment === 'sandbox') return true
    return compareVersions(settings.appVersion, MIN_VERSIONS[capability][settings.os]) >= 0
  }
  const isPending = (o: SimOrder) => o.paid && !o.completed && !o.refunded
  const find = (orderId: unknown) => {
    // The newest orders are the ones asked about most.
    for (let i = ledger.length - 1; i >= 0; i--) if (ledger[i]!.orderId === orderId) return ledger[i]
    return undefined
  }

  function createOrder(sku: string, kind: OrderKind): SimOrder {
    const n = ++seq
    const order: SimOrder = {
      orderId: `sim-${stamp}-${n}`,
      sku,
      kind,
      paid: true,
      paidAt: new Date().toISOString(),
      grantAnswers: [],
      completed: false,
      completedAt: null,
      refunded: false,
      refundedAt: null,
    }
    if (kind === 'subscription') {
      order.subscriptionId = `sub-${stamp}-${n}`
      order.subscription = {
        catalogId: products.findIndex((p) => p.sku === sku) + 1,
        status: 'ACTIVE',
        expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
        isAutoRenew: true,
        gracePeriodExpiresAt: null,
        isAccessible: true,
      }
    }
    ledger.push(order)
    return order
  }

  function closeApp() {
    for (const [eventId] of subscriptions) subscriptions.delete(eventId)
    options.onAppClose?.()
  }

  const methods: Record<string, (arg: any) => unknown> = {
    iapGetProductItemList: () => ({ products: structuredClone(products) }),
    getPendingOrders: () => {
      const pending = ledger.filter(isPending)
      const format = options.pendingOrdersFormat ?? 'orders'
      const result: Record<string, unknown> = {}
      if (format !== 'orderIds') result.orders = pending.map((o) => ({ orderId: o.orderId, sku: o.sku, paymentCompletedDate: o.paidAt }))
      if (format !== 'orders') result.orderIds = pending.map((o) => o.orderId)
      return result
    },
    completeProductGrant: (arg: { params?: { orderId?: string } }) => {
      const order = find(arg?.params?.orderId)
      if (!order || !order.paid || order.refunded) return false
      if (!order.completed) {
        order.completed = true
        order.completedAt = new Date().toISOString()
      }
      return true
    },
    getCompletedOrRefundedOrders: (arg?: { key?: string }) => {
      const all = ledger
        .filter((o) => o.completed || o.refunded)
        .reverse()
        .map((o) => ({
          orderId: o.orderId,
          sku: o.sku,
          status: o.refunded ? 'REFUNDED' : 'COMPLETED',
          date: (o.refunded ? o.refundedAt : o.completedAt) ?? o.paidAt,
        }))
      const start = arg?.key ? Number.parseInt(arg.key.replace(/^page-/, ''), 10) || 0 : 0
      const orders = all.slice(start, start + pageSize)
      const hasNext = start + pageSize < all.length
      return { hasNext, nextKey: hasNext ? `page-${start + pageSize}` : null, orders }
    },
    getSubscriptionInfo: (arg: { params?: { orderId?: string } }) => {
      const order = find(arg?.params?.orderId)
      return order?.subscription ? { subscription: { ...order.subscription } } : {}
    },
    // Toss login: a code (10 minutes, once) that names the user, and where the app runs.
    appLogin: () => {
      const referrer = settings.environment === 'sandbox' ? 'SANDBOX' : 'DEFAULT'
      return {
        authorizationCode: simulatedAuthorizationCode({ userKey: options.userKey ?? 'sim-user', referrer, issuedAt: Date.now() }),
        referrer,
      }
    },
    processProductGrant: (arg: { orderId?: string; isProductGranted?: unknown }) => {
      const order = find(arg?.orderId)
      if (!order) return false
      const waiting = awaitingGrant.get(order.orderId)
      if (waiting) {
        clearTimeout(waiting.timer)
        timers.delete(waiting.timer)
      }
      if (waiting?.close) {
        // The page is gone: this answer never reaches Toss.
        awaitingGrant.delete(order.orderId)
        closeApp()
        return HANG
      }
      const granted = arg.isProductGranted === true
      order.grantAnswers.push(granted)
      if (waiting) {
        awaitingGrant.delete(order.orderId)
        later(() => {
          if (!subscriptions.has(waiting.eventId)) return
          if (granted && !waiting.refuse)
            emit(`${waiting.functionName}/onEvent/${waiting.eventId}`, { type: 'success', data: receipt(order) })
          else
            emit(
              `${waiting.functionName}/onError/${waiting.eventId}`,
              errorPayload('PRODUCT_NOT_GRANTED_BY_PARTNER', false, 'the partner did not grant the product'),
            )
        })
      }
      return true
    },
  }
  const HANG = Symbol('hang')

  function receipt(order: SimOrder) {
    const product = products.find((p) => p.sku === order.sku)
    const amount = Number((product?.displayAmount ?? '').replace(/[^0-9]/g, '')) || 0
    return {
      orderId: order.orderId,
      displayName: product?.displayName ?? order.sku,
      displayAmount: product?.displayAmount ?? '',
      amount,
      currency: 'KRW',
      fraction: 0,
      miniAppIconUrl: null,
    }
  }

  function answerMethod(msg: BridgeCall) {
    const queue = faults.get(msg.functionName)
    const fault = queue?.shift()
    if (queue && queue.length === 0) faults.delete(msg.functionName)
    if (fault === 'hang') return
    const resolve = (value: unknown) => emit(`${msg.functionName}/resolve/${msg.eventId}`, value)
    const reject = (code: string, bare?: boolean, detail?: string) =>
      emit(`${msg.functionName}/reject/${msg.eventId}`, errorPayload(code, bare, detail))
    later(() => {
      if (fault && 'error' in fault) return reject(fault.error, fault.bare)
      if (fault && 'respond' in fault) return resolve(fault.respond)
      if (!supports(msg.functionName)) return resolve(undefined)
      const handler = methods[msg.functionName]
      if (!handler) return reject('INTERNAL_ERROR', false, `the simulator does not know ${msg.functionName}`)
      const value = handler(Array.isArray(msg.args) ? msg.args[0] : undefined)
      if (value !== HANG) resolve(value)
    })
  }

  function startPurchase(msg: BridgeCall) {
    const { eventId, functionName } = msg
    const kind: OrderKind = functionName === 'requestSubscriptionPurchase' ? 'subscription' : 'one-time'
    const script = scripts.shift() ?? 'success'
    const sku = (msg.args as { sku?: unknown } | null)?.sku
    const onEvent = (payload: unknown) => {
      if (subscriptions.has(eventId)) emit(`${functionName}/onEvent/${eventId}`, payload)
    }
    const onError = (code: string, bare?: boolean) => {
      if (subscriptions.has(eventId)) emit(`${functionName}/onError/${eventId}`, errorPayload(code, bare))
    }
    later(() => {
      if (!subscriptions.has(eventId) || script === 'hang') return
      if (script === 'cancel') return onError('USER_CANCELED')
      // A post-payment code comes after an order exists (below); every other code means nothing was paid.
      const refuse = typeof script === 'object' && POST_PAYMENT_ERROR_CODES.includes(script.error)
      if (typeof script === 'object' && !refuse) return onError(script.error, script.bare)
      const product = products.find((p) => p.sku === sku)
      if (!product || (product.type === 'SUBSCRIPTION') !== (kind === 'subscription')) return onError('INVALID_PRODUCT_ID')
      // Toss refuses to sell a non-consumable twice; a refund makes it buyable again.
      if (product.type === 'NON_CONSUMABLE' && ledger.some((o) => o.sku === product.sku && o.paid && !o.refunded))
        return onError('ITEM_ALREADY_OWNED')
      const order = createOrder(product.sku, kind)
      if (script === 'close-after-pay') return closeApp()
      const timer = setTimeout(() => {
        timers.delete(timer)
        awaitingGrant.delete(order.orderId)
        onError('PRODUCT_NOT_GRANTED_BY_PARTNER')
      }, grantWindow)
      timers.add(timer)
      awaitingGrant.set(order.orderId, { eventId, functionName, timer, close: script === 'close-during-grant', refuse })
      const purchased = {
        type: 'purchased',
        data: { orderId: order.orderId, ...(order.subscriptionId && { subscriptionId: order.subscriptionId }) },
      }
      onEvent(purchased)
      if (script === 'duplicate-purchased') onEvent(structuredClone(purchased))
    })
  }

  function receive(raw: string) {
    if (!installed) return
    let msg: BridgeCall
    try {
      msg = { ...(JSON.parse(raw) as Omit<BridgeCall, 'at'>), at: Date.now() }
    } catch {
      return
    }
    calls.push(msg)
    if (msg.type === 'method') answerMethod(msg)
    else if (msg.type === 'addEventListener') {
      subscriptions.set(msg.eventId, msg.functionName)
      startPurchase(msg)
    } else if (msg.type === 'removeEventListener') subscriptions.delete(msg.eventId)
  }

  const requireOrder = (orderId: string) => {
    const order = find(orderId)
    if (!order) throw new IapError('INVALID_ARGUMENT', `the simulator has no order ${orderId}`)
    return order
  }

  return {
    calls,
    callsTo: (name) => calls.filter((c) => c.functionName === name),
    orders: ledger,
    order: find,
    pendingOrders: () => ledger.filter(isPending),
    nextPurchase: (...next) => void scripts.push(...next),
    queuedPurchases: () => [...scripts],
    failNext(functionName, fault, times = 1) {
      const queue = faults.get(functionName) ?? []
      for (let i = 0; i < times; i++) queue.push(fault)
      faults.set(functionName, queue)
    },
    addPaidOrder(sku) {
      const product = products.find((p) => p.sku === sku)
      if (!product) throw new IapError('INVALID_PRODUCT_ID', `the simulator's catalogue has no ${sku}`)
      const order = createOrder(sku, product.type === 'SUBSCRIPTION' ? 'subscription' : 'one-time')
      save()
      return order
    },
    refund(orderId) {
      const order = requireOrder(orderId)
      order.refunded = true
      order.refundedAt = new Date().toISOString()
      if (order.subscription) Object.assign(order.subscription, { status: 'REVOKED', isAccessible: false, isAutoRenew: false })
      save()
    },
    setSubscription(orderId, patch) {
      const order = requireOrder(orderId)
      if (!order.subscription) throw new IapError('INVALID_ARGUMENT', `order ${orderId} is not a subscription`)
      const status = patch.status ?? order.subscription.status
      Object.assign(order.subscription, { isAccessible: ACCESSIBLE.has(status) }, patch)
      save()
    },
    configure(patch) {
      Object.assign(settings, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)))
      syncConstants()
    },
    listenerCount() {
      const events = emitter()?.events ?? {}
      return Object.values(events).reduce((n, list) => n + (list?.length ?? 0), 0)
    },
    openSubscriptions: () => subscriptions.size,
    clearLedger() {
      ledger.length = 0
      save()
    },
    uninstall() {
      if (!installed) return
      installed = false
      for (const t of timers) clearTimeout(t)
      for (const { timer } of awaitingGrant.values()) clearTimeout(timer)
      timers.clear()
      awaitingGrant.clear()
      subscriptions.clear()
      scripts.length = 0
      faults.clear()
      const restore = (key: string, descriptor: PropertyDescriptor | undefined) => {
        if (descriptor) Object.defineProperty(win, key, descriptor)
        else delete win[key]
      }
      restore('ReactNativeWebView', previous.webView)
      restore('__CONSTANT_HANDLER_MAP', previous.constants)
      if (ownEmitter && win.__GRANITE_NATIVE_EMITTER === ownEmitter) delete win.__GRANITE_NATIVE_EMITTER
    },
  }
}
