import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { vi } from 'vitest'
import { defineComponent, h, watch } from 'vue'
import {
  createTossIap,
  isIapError,
  useEntitlementStore,
  useIapStore,
  usePurchase,
  useSubscriptionPurchase,
  type GrantOrder,
  type IapStore,
  type PurchaseOutcome,
  type RecoveryReport,
  type UsePurchaseReturn,
} from '../../src'
import { installTossSimulator, type TossSimulator } from '../../src/testing'
import { checks, type Finding } from './pending-fixes'
import { HEALTHY_VERSION, type GrantMode, type Schedule, type Step } from './steps'

export const TIMEOUTS = { call: 1_000, grant: 3_000, purchase: 20_000 }
export const THROTTLE = 30_000
/** How long Toss waits for the grant answer. */
export const TOSS_GRANT_WINDOW = 30_000
/** A hung grant ends (throws) after this long, as a hung request finally would. */
export const HANG_MS = 600_000
const SKUS = ['gem-100', 'remove-ads', 'premium-monthly'] as const
const MIN = {
  purchase: { android: '5.231.1', ios: '5.230.0' },
  completeProductGrant: { android: '5.233.0', ios: '5.233.0' },
  pendingOrders: { android: '5.234.0', ios: '5.231.0' },
}

export interface Violation {
  /** Which invariant broke (stable, used by the shrinker to keep the same failure). */
  invariant: string
  detail: string
  /** The index of the step after which it was seen (`steps.length` = the final clean start). */
  step: number
}

interface Install {
  id: number
  entitlements: ReturnType<typeof useEntitlementStore> | null
  wrapper: VueWrapper
  store: IapStore
  buttons: UsePurchaseReturn[]
  alive: boolean
  onVisible: boolean
  saidTrue: Set<string>
  /** Elapsed time when a recovery of this install last started. */
  lastRecoveryStart: number | null
  /** The startup work's deadline. */
  readyDeadline: number
  openPurchases: number
}

interface Tracked {
  what: string
  deadline: number
  settled: boolean
}

interface Attempt {
  install: Install
  sku: string
  paid: Set<string>
  /** A purchase of this install was already open when this one was asked for. */
  openBefore: boolean
}

function compare(a: string, b: string) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

/** What the runs did, so that a long run can show it exercised something. */
export const stats: Record<string, number> = {}
const count = (key: string) => void (stats[key] = (stats[key] ?? 0) + 1)

/**
 * Every run starts at a wall time of its own, so that no two runs share an orderId (the host stamps
 * them with the time): grants still running from an earlier run (stopped at its first failure)
 * stay in the page's running-grant map, and must not meet a later run's orders. The behaviour of a
 * schedule does not depend on its stamp.
 */
let runs = 0
const nextEpoch = () => Date.UTC(2026, 0, 1) + ++runs * 3_600_000

/**
 * Runs one schedule against the real SDK and the simulated host, checking the invariants of
 * issue #9 after every step, then a clean start. Returns what broke (empty when all held).
 * Needs fake timers (`vi.useFakeTimers`) and a happy-dom `window`.
 */
export async function runSchedule(schedule: Schedule, options: { stopAtFirst?: boolean } = {}): Promise<Violation[]> {
  const violations: Violation[] = []
  const epoch = nextEpoch()
  vi.clearAllTimers()
  vi.setSystemTime(epoch)
  let clockShift = 0
  /** Elapsed (monotonic) time of this schedule, in ms. */
  const now = () => Date.now() - epoch - clockShift
  let stepIndex = 0
  const fail = (invariant: string, detail: string, gate?: Finding) => {
    if (gate && !checks(gate)) return
    if (violations.some((v) => v.invariant === invariant && v.detail === detail)) return
    violations.push({ invariant, detail, step: stepIndex })
  }

  // The host's ledger outlives the page's apps (and, for the clean start, the host process).
  const saved = new Map<string, string>()
  const storage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v) }
  let version: string = HEALTHY_VERSION
  let sim!: TossSimulator
  const installs: Install[] = []
  let current: Install | null = null
  /** Payment sheets the page opened and has not closed, by eventId: which install opened them. */
  const openSheets = new Map<string, number>()
  /** Unmounts one app (the current one by default); the newest app still alive becomes current. */
  const kill = (app: Install | null = current) => {
    if (!app?.alive) return
    app.alive = false
    app.wrapper.unmount()
    current = installs.filter((i) => i.alive).at(-1) ?? null
    const left = [...openSheets.values()].filter((id) => id === app.id).length
    if (left) fail('no purchase listener left after unmount', `install ${app.id} left ${left} payment sheets open`)
    if (!current && sim.openSubscriptions() !== 0)
      fail('no purchase listener left after unmount', `${sim.openSubscriptions()} open at the host`)
  }
  /** The mini-app closes: every app of the page goes. */
  const killAll = () => {
    for (const app of [...installs].reverse()) kill(app)
  }

  // What the page tells Toss, seen on the wire.
  const trueAt = new Map<string, number>()
  const purchasedAt = new Map<string, number>()
  const sheets = new Map<string, Attempt>()
  let attempt: Attempt | null = null
  const emitter = window.__GRANITE_NATIVE_EMITTER!
  // A fresh page: nothing an earlier run left on the bridge (a run stopped at its first failure
  // leaves the SDK's listeners of calls whose timers were cleared) counts against this one.
  for (const name of Object.keys(emitter.events ?? {})) delete emitter.events![name]
  const originalEmit = emitter.emit
  emitter.emit = function (this: unknown, event: string, payload: unknown) {
    const m = /^(requestOneTimePurchase|requestSubscriptionPurchase)\/onEvent\/(.+)$/.exec(event)
    const p = payload as { type?: string; data?: { orderId?: string } } | undefined
    if (m && p?.type === 'purchased' && typeof p.data?.orderId === 'string') {
      if (!purchasedAt.has(p.data.orderId)) purchasedAt.set(p.data.orderId, now())
      sheets.get(m[2]!)?.paid.add(p.data.orderId)
    }
    return originalEmit.call(this, event, payload)
  } as typeof emitter.emit

  const capable = (what: keyof typeof MIN) => compare(version, MIN[what][schedule.os]) >= 0
  function installHost() {
    sim = installTossSimulator({
      os: schedule.os,
      appVersion: version,
      pendingOrdersFormat: schedule.pendingOrdersFormat,
      latency: schedule.latency ?? 0,
      persist: { storage },
      onAppClose: () => killAll(),
    })
    const post = window.ReactNativeWebView!.postMessage
    window.ReactNativeWebView = {
      postMessage(raw: string) {
        const msg = JSON.parse(raw) as { type: string; functionName: string; eventId: string; args: unknown }
        const arg = (Array.isArray(msg.args) ? msg.args[0] : undefined) as Record<string, any> | undefined
        if (msg.type === 'method' && msg.functionName === 'completeProductGrant') {
          const id = arg?.params?.orderId
          if (!trueAt.has(id))
            fail('Toss told delivered only after a grant said true', `completeProductGrant(${id}) before any grant said true`)
        }
        if (
          msg.type === 'method' &&
          msg.functionName === 'processProductGrant' &&
          arg?.isProductGranted !== true &&
          trueAt.has(arg?.orderId)
        )
          fail(
            'Toss is not told "not delivered" after a grant said true',
            `processProductGrant(${arg?.orderId}, ${String(arg?.isProductGranted)})`,
          )
        if (msg.type === 'method' && msg.functionName === 'processProductGrant' && arg?.isProductGranted === true) {
          const id = arg.orderId
          if (!trueAt.has(id))
            fail('Toss told delivered only after a grant said true', `processProductGrant(${id}, true) before any grant said true`)
          const since = now() - (purchasedAt.get(id) ?? now())
          if (since > TOSS_GRANT_WINDOW) fail("Toss told delivered within Toss's 30 s", `order ${id} answered true after ${since} ms`)
        }
        if (msg.type === 'addEventListener' && /^request(OneTime|Subscription)Purchase$/.test(msg.functionName)) {
          if (attempt) sheets.set(msg.eventId, attempt)
          openSheets.set(msg.eventId, attempt?.install.id ?? 0)
          if (!capable('pendingOrders') || !capable('completeProductGrant'))
            fail('no purchase where recovery is impossible', `a payment sheet opened on ${schedule.os} ${version}`, 'version-gap')
        }
        if (msg.type === 'removeEventListener') openSheets.delete(msg.eventId)
        post(raw)
      },
    }
  }
  installHost()

  // The app server: an idempotent grant table, instrumented.
  const granted = new Set<string>()
  const inFlight = new Map<string, number[]>() // orderId -> install ids running a grant for it
  let mode: GrantMode = 'ok'
  const grantOf =
    (install: () => Install) =>
    async (order: GrantOrder): Promise<boolean> => {
      const app = install()
      const { orderId } = order
      const host = sim.order(orderId)
      if (!host || !host.paid) fail('no grant for an order the host was not paid for', `grant(${JSON.stringify(orderId)})`)
      else if (host.refunded)
        fail('no grant for an order the host was not paid for', `grant(${orderId}) of an order refunded at Toss`, 'stale-recovery-listing')
      const running = inFlight.get(orderId) ?? []
      if (running.includes(app.id)) fail('never two overlapping grants for one order', `order ${orderId}, twice in install ${app.id}`)
      else if (running.length > 0)
        fail(
          'never two overlapping grants for one order',
          `order ${orderId}, installs ${running.join(',')} and ${app.id}`,
          'page-wide-single-flight',
        )
      if (app.saidTrue.has(orderId)) fail('in one install, no grant after it said true', `order ${orderId} in install ${app.id}`)
      if (host && (order.kind === 'one-time' || order.kind === 'subscription') && order.kind !== host.kind)
        fail('recovery states only the kind it knows', `order ${orderId} is ${host.kind}, granted as ${order.kind}`, 'recovery-kind')
      inFlight.set(orderId, [...running, app.id])
      const m = mode
      let answer: 'ok' | 'false' | 'throw'
      try {
        if (m === 'hang') {
          await new Promise((r) => setTimeout(r, HANG_MS))
          answer = 'throw'
        } else if (typeof m === 'object') {
          await new Promise((r) => setTimeout(r, m.slow))
          answer = m.then
        } else answer = m
      } finally {
        const left = inFlight.get(orderId) ?? []
        left.splice(left.indexOf(app.id), 1)
        if (left.length === 0) inFlight.delete(orderId)
      }
      count(`grant ${order.source} ${answer}`)
      if (answer === 'throw') throw new Error('the app server is down')
      if (answer === 'false') return false
      granted.add(orderId)
      app.saidTrue.add(orderId)
      if (!trueAt.has(orderId)) trueAt.set(orderId, now())
      return true
    }

  // Promises the README says settle, with their deadlines.
  const tracked: Tracked[] = []
  function track<T>(what: string, promise: Promise<T>, deadline: number, check?: (value: T) => void) {
    const entry: Tracked = { what, deadline, settled: false }
    tracked.push(entry)
    promise.then(
      (value) => {
        entry.settled = true
        if (now() > deadline + 1)
          fail('every call settles within its timeouts', `${what} settled after ${now()} ms, deadline ${deadline} ms`)
        check?.(value)
      },
      (error: unknown) => {
        entry.settled = true
        fail('purchase(), recover(), whenReady() and refreshEntitlements() never reject', `${what} rejected: ${String(error)}`)
      },
    )
  }
  const checkDeadlines = () => {
    for (const t of tracked)
      if (!t.settled && now() > t.deadline)
        fail('every call settles within its timeouts', `${t.what} still open at ${now()} ms, deadline ${t.deadline} ms`)
  }
  /** A generous bound on one recovery run, from what the host lists now. */
  const recoveryBound = () => {
    const n = sim.pendingOrders().length + 2
    return (schedule.latency ?? 0) + TIMEOUTS.call + Math.ceil(n / 4) * (2 * TIMEOUTS.call + TIMEOUTS.grant) + 2 * TIMEOUTS.call + 50
  }
  const entitlementBound = () => (sim.orders.length + 4) * TIMEOUTS.call
  const purchaseBound = TIMEOUTS.purchase + TIMEOUTS.grant + 2 * TIMEOUTS.call + 50

  function checkOutcome(a: Attempt, outcome: PurchaseOutcome) {
    count(`purchase ${outcome.status}`)
    const code = outcome.error?.code
    const show = `${a.sku}: ${outcome.status}${code ? ` ${code}` : ''}${outcome.orderId ? ` ${outcome.orderId}` : ''}`
    if (outcome.error !== null && !(isIapError(outcome.error) && typeof outcome.error.code === 'string'))
      fail('every error is a typed IapError', show)
    if (outcome.orderId === null) {
      if (outcome.status === 'canceled') {
        if (code !== 'USER_CANCELED' && code !== 'ABORTED')
          fail('status matches the README', `${show}: canceled by neither the user nor the app`)
        if (code === 'USER_CANCELED' && a.paid.size > 0) fail('status matches the README', `${show}: canceled although paid`)
      } else if (outcome.status === 'failed') {
        if (code === 'USER_CANCELED' || code === 'ABORTED') fail('a cancel is never failed', show)
        if (a.paid.size > 0) fail('a paid order is never failed', `${show}, paid ${[...a.paid].join(',')}`)
        if (code === 'PURCHASE_IN_PROGRESS' && !a.openBefore) fail('status matches the README', `${show} with no purchase open`)
      } else fail('status matches the README', `${show}: no order`)
      return
    }
    const host = sim.order(outcome.orderId)
    if (!host?.paid) fail('status matches the README', `${show}: an order the host did not sell`)
    if (outcome.status === 'completed') {
      if (outcome.error !== null) fail('a completed outcome carries no error', show, 'completed-no-error')
      if (!host?.completed) fail('the store never contradicts the host', `${show}, not completed at the host`)
    } else if (outcome.status === 'granted') {
      if (!trueAt.has(outcome.orderId)) fail('status matches the README', `${show}: no grant said true`)
    } else if (outcome.status === 'pending') {
      if (outcome.error === null) fail('status matches the README', `${show}: pending without a reason`)
    } else if (outcome.status === 'granting') {
      // The README's `granting`: "your grant runs". It does when the app went away mid-grant
      // (ABORTED), or when a recovery is granting the order again as the purchase ends.
      if (!inFlight.has(outcome.orderId)) fail('status matches the README', `${show}: granting, but no grant runs`)
    } else fail('a paid order is pending, granted or completed', show)
  }

  let nextId = 0
  function mountApp(step: Extract<Step, { do: 'mount' }>) {
    if (!step.alongside) killAll()
    else if (installs.some((i) => i.alive)) count('apps mounted alongside another')
    const id = ++nextId
    let app!: Install
    let buttons!: UsePurchaseReturn[]
    let store!: IapStore
    let entitlements: ReturnType<typeof useEntitlementStore> | null = null
    const Host = defineComponent({
      setup() {
        buttons = [usePurchase('gem-100'), usePurchase('remove-ads'), useSubscriptionPurchase('premium-monthly')]
        store = useIapStore()
        if (step.entitlements) entitlements = useEntitlementStore()
        return () => h('div')
      },
    })
    const onOrderEvent = step.listener && failing(step.listener, 'onOrderEvent')
    const onRevoked = step.revoked && failing(step.revoked, 'onRevoked')
    const plugin = createTossIap({
      grant: grantOf(() => app),
      timeouts: TIMEOUTS,
      recovery: { onInstall: step.recover, onVisible: true, throttle: THROTTLE },
      cache: false,
      ...(onOrderEvent && { onOrderEvent: onOrderEvent as () => void }),
      ...(onRevoked && { onRevoked: onRevoked as () => void }),
    })
    const started = now()
    // Odd seeds install the plugin as a production build does: without the development-only
    // bridge-call observer, whose extra promise steps would otherwise decide every ordering.
    const mode = process.env.NODE_ENV
    if (schedule.seed % 2 === 1) process.env.NODE_ENV = 'production'
    let wrapper: VueWrapper
    try {
      wrapper = mount(Host, { global: { plugins: [createPinia(), plugin], config: { errorHandler } } })
    } finally {
      process.env.NODE_ENV = mode
    }
    app = {
      id,
      entitlements,
      wrapper,
      store,
      buttons,
      alive: true,
      onVisible: true,
      saidTrue: new Set(),
      lastRecoveryStart: null,
      readyDeadline: started + (step.recover ? recoveryBound() : 0) + entitlementBound(),
      openPurchases: 0,
    }
    if (store.recovery.status === 'running') app.lastRecoveryStart = started
    watch(
      () => store.recovery.status,
      (status, before) => {
        if (status === 'running' && before !== 'running') app.lastRecoveryStart = now()
      },
      { flush: 'sync' },
    )
    installs.push(app)
    current = app
    track(`whenReady() of install ${id}`, store.whenReady(), app.readyDeadline)
  }

  // Errors thrown by the app's listeners, and how often each reached app.config.errorHandler.
  const listenerErrors = new Map<unknown, number>()
  const errorHandler = (error: unknown) => {
    count('listener errors reported')
    if (listenerErrors.has(error)) listenerErrors.set(error, listenerErrors.get(error)! + 1)
    else fail('only listener errors reach the error handler', String(error).slice(0, 200))
  }
  const failing = (how: 'throw' | 'reject', where: string) => () => {
    count(`${where} listener ${how}s`)
    const error = new Error('analytics is down')
    listenerErrors.set(error, 0)
    if (how === 'throw') throw error
    return Promise.reject(error)
  }
  const checkListenerErrors = () => {
    for (const [error, times] of listenerErrors) {
      if (times !== 1)
        fail(
          'a listener error is reported once to app.config.errorHandler',
          `reported ${times} times: ${String(error)}`,
          'listener-isolation',
        )
      listenerErrors.delete(error)
    }
  }

  function checkStore() {
    for (const app of installs) {
      if (!app.alive) continue
      for (const order of Object.values(app.store.orders)) {
        if (order.status === 'completed' && !sim.order(order.orderId)?.completed)
          fail('the store never contradicts the host', `install ${app.id} shows ${order.orderId} completed; the host does not`)
      }
    }
  }

  let hidden = false
  const setVisibility = (state: 'visible' | 'hidden') => {
    Object.defineProperty(document, 'visibilityState', { value: state, configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
  }
  setVisibility('visible')

  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  const vitestHandlers = process.listeners('unhandledRejection')
  process.removeAllListeners('unhandledRejection')
  process.on('unhandledRejection', onUnhandled)
  const realTurn = () => new Promise<void>((r) => setImmediate(r))
  const advance = async (ms: number) => {
    await vi.advanceTimersByTimeAsync(ms)
    await realTurn()
    checkDeadlines()
  }
  const checkUnhandled = () => {
    for (const reason of unhandled.splice(0)) fail('no unhandled rejection', String(reason).slice(0, 200))
  }

  async function run(step: Step) {
    switch (step.do) {
      case 'mount':
        return mountApp(step)
      case 'kill':
        return kill()
      case 'buy': {
        if (!current) return
        const app = current
        for (let tap = 0; tap < step.taps; tap++) {
          attempt = { install: app, sku: SKUS[step.product], paid: new Set(), openBefore: app.openPurchases > 0 }
          const a = attempt
          app.openPurchases++
          const outcome = app.buttons[step.product]!.purchase()
          attempt = null
          const done = outcome.finally(() => void app.openPurchases--)
          track(`purchase(${a.sku}) in install ${app.id}`, done, now() + purchaseBound, (o) => checkOutcome(a, o))
        }
        return
      }
      case 'script':
        return sim.nextPurchase(step.script)
      case 'server':
        mode = step.mode
        return
      case 'fault':
        return sim.failNext(step.fn, step.fault as never, step.times)
      case 'listen':
        if (!current) return
        current.store.onOrderEvent(failing(step.how, 'onOrderEvent') as () => void)
        return
      case 'abandon':
        current?.buttons[step.product]!.abandon?.() // optional: the API is newer than some fixes
        return
      case 'recover': {
        if (!current) return
        const app = current
        const open = tracked.filter((t) => !t.settled && t.what.startsWith(`recover() of install ${app.id}`))
        const deadline = Math.max(now() + recoveryBound(), ...open.map((t) => t.deadline))
        track(`recover() of install ${app.id}`, app.store.recover(), deadline, (report: RecoveryReport) => {
          if (report.error !== null && !isIapError(report.error)) fail('every error is a typed IapError', String(report.error))
        })
        return
      }
      case 'entitlements': {
        const owned = current?.entitlements
        if (!owned) return
        track(`refreshEntitlements() of install ${current!.id}`, owned.refreshEntitlements(), now() + entitlementBound() + TIMEOUTS.call)
        return
      }
      case 'whenReady':
        // Once ready, the promise has settled already: it is seen settling now, not late.
        if (current)
          track(`whenReady() of install ${current.id}`, current.store.whenReady(), current.store.isReady ? Infinity : current.readyDeadline)
        return
      case 'hide':
        hidden = true
        return setVisibility('hidden')
      case 'show': {
        if (!hidden) return
        hidden = false
        const app = current
        const wasRunning = app?.store.recovery.status === 'running'
        const last = app?.lastRecoveryStart ?? null
        setVisibility('visible')
        if (!app || wasRunning || !checks('monotonic-clock')) return
        const started = app.lastRecoveryStart !== last
        const due = last === null || now() - last >= THROTTLE
        if (started !== due)
          fail(
            'return to the foreground recovers once per throttle of elapsed time',
            `${started ? 'ran' : 'did not run'} ${last === null ? 'with no run before' : `${now() - last} ms after the last run`}`,
            'monotonic-clock',
          )
        return
      }
      case 'clock':
        clockShift += step.ms
        vi.setSystemTime(Date.now() + step.ms)
        return
      case 'wait':
        return advance(step.ms)
      case 'paid':
        sim.addPaidOrder(step.sku)
        return
      case 'refund': {
        // What the user owns is what a refund can take back: those first.
        const completed = sim.orders.filter((o) => o.completed && !o.refunded)
        const owned = completed.filter((o) => o.sku !== 'gem-100')
        const done = owned.length ? owned : completed
        if (done.length) sim.refund(done[step.nth % done.length]!.orderId)
        return
      }
      case 'version':
        version = step.appVersion
        sim.configure({ appVersion: version })
        return
    }
  }

  try {
    for (stepIndex = 0; stepIndex < schedule.steps.length; stepIndex++) {
      await run(schedule.steps[stepIndex]!)
      await advance(5)
      checkStore()
      checkUnhandled()
      checkListenerErrors()
      if (options.stopAtFirst && violations.length) return violations
    }

    // The faults stop: the app is killed, everything under way runs out, then one clean start
    // (a healthy host with the same ledger, a healthy server, a fresh install) must finish every order.
    stepIndex = schedule.steps.length
    killAll()
    mode = 'ok'
    for (let i = 0; i < 12; i++) await advance(60_000)
    checkUnhandled()
    for (const t of tracked) if (!t.settled) fail('every call settles within its timeouts', `${t.what} never settled`)
    if (sim.listenerCount() !== 0 || sim.openSubscriptions() !== 0)
      fail(
        'no purchase listener left after unmount',
        `${sim.listenerCount()} bridge listeners, ${sim.openSubscriptions()} purchase subscriptions`,
      )
    sim.uninstall()
    version = HEALTHY_VERSION
    installHost()
    mountApp({ do: 'mount', recover: true, entitlements: false })
    const app = current as Install | null
    let report: RecoveryReport | null | undefined
    void app!.store.whenReady().then((r) => (report = r))
    for (let i = 0; i < 20 && report === undefined; i++) await advance(1_000)
    checkUnhandled()
    count('clean starts')
    for (const order of sim.orders) {
      count(order.refunded ? 'orders refunded' : 'orders paid')
      if (!order.paid || order.refunded) continue
      if (!granted.has(order.orderId) || !order.completed)
        fail(
          'after the faults stop, one clean start grants and completes every paid order',
          `${order.orderId} (${order.sku}): ${granted.has(order.orderId) ? 'granted' : 'not granted'}, ${order.completed ? 'completed' : 'not completed'}`,
        )
    }
    checkStore()
    killAll()
    for (let i = 0; i < 3; i++) await advance(60_000)
    checkUnhandled()
    checkListenerErrors()
    return violations
  } finally {
    for (const app of installs) if (app.alive) ((app.alive = false), app.wrapper.unmount())
    emitter.emit = originalEmit
    sim.uninstall()
    // Anything left (a listener rejecting late) still belongs to this schedule.
    await realTurn()
    checkUnhandled()
    process.removeListener('unhandledRejection', onUnhandled)
    for (const h of vitestHandlers) process.on('unhandledRejection', h as (...args: unknown[]) => void)
    setVisibility('visible')
  }
}
