import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { describe, expect, it, vi } from 'vitest'
import { createApp, defineComponent, effectScope, ref } from 'vue'
import { createTossIap, useIapStore, useProducts, usePurchase, useSubscriptionPurchase, type IapOrderEvent } from '../src'
import { sim, server, reinstall } from './session'
import { expectEveryPaidOrderGrantedOnceAndCompleted, mountWithIap } from './helpers'

const noRecovery = { onInstall: false, onVisible: false }

describe('createTossIap', () => {
  it('says clearly when Pinia is missing', () => {
    const app = createApp({ render: () => null })
    expect(() => app.use(createTossIap({ grant: server.grant }))).toThrow(/needs Pinia: app\.use\(createPinia\(\)\) first/)
  })

  it('refuses to be created without a grant function', () => {
    expect(() => createTossIap({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('refuses a timeout that is not a positive number of ms when created, before any app uses it', () => {
    expect(() => createTossIap({ grant: server.grant, timeouts: { grant: 0 } })).toThrow(/timeouts\.grant must be a positive number of ms/)
    expect(() => createTossIap({ grant: server.grant, timeouts: { call: '5' as never } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('useIapStore says clearly when the plugin is missing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const Host = defineComponent({ setup: () => (useIapStore(), () => null) })
    expect(() => mount(Host, { global: { plugins: [createPinia()] } })).toThrow(/needs the plugin: .*createTossIap/)
    // Setup threw before it returned a render function, and Vue says so: that is the app's bug to see.
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining('Component is missing template or render function')])
    warn.mockRestore()
  })
})

describe('usePurchase', () => {
  it('goes purchasing → granting → granted → completed, with one grant and Toss confirmed', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const grant = async (order: Parameters<typeof server.grant>[0]) => (await gate, server.grant(order))
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant, recovery: noRecovery })
    const seen: string[] = []
    store.onOrderEvent((e) => seen.push(e.type))
    expect(result.status.value).toBe('idle')
    const done = result.purchase()
    expect(result.status.value).toBe('purchasing')
    expect(result.isPending.value).toBe(true)
    await flushPromises()
    expect(result.status.value).toBe('granting')
    expect(result.order.value).toMatchObject({ sku: 'gem-100', kind: 'one-time', source: 'purchase', status: 'granting' })
    release()
    const outcome = await done
    expect(outcome).toMatchObject({
      status: 'completed',
      orderId: sim.orders[0]!.orderId,
      error: null,
      receipt: { displayName: '보석 100개' },
    })
    expect(result.status.value).toBe('completed')
    expect(result.isPending.value).toBe(false)
    expect(result.error.value).toBeNull()
    expect(seen).toEqual(['granting', 'granted', 'completed'])
    expect(store.orders[outcome.orderId!]!.status).toBe('completed')
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
    expect(sim.listenerCount()).toBe(0)
  })

  it('reads the sku from a ref at each purchase', async () => {
    const sku = ref('gem-100')
    const { result } = mountWithIap(() => usePurchase(sku), { grant: server.grant, recovery: noRecovery })
    await result.purchase()
    sku.value = 'remove-ads'
    await result.purchase()
    expect(sim.orders.map((o) => o.sku)).toEqual(['gem-100', 'remove-ads'])
  })

  it('buys a subscription with its offer and passes the subscriptionId to the grant', async () => {
    const offerId = ref<string | null>('trial-7d')
    const { result } = mountWithIap(() => useSubscriptionPurchase('premium-monthly', { offerId }), {
      grant: server.grant,
      recovery: noRecovery,
    })
    expect(await result.purchase()).toMatchObject({ status: 'completed' })
    expect(sim.callsTo('requestSubscriptionPurchase')[0]!.args).toEqual({ sku: 'premium-monthly', offerId: 'trial-7d' })
    expect(server.calls[0]).toMatchObject({ kind: 'subscription', subscriptionId: sim.orders[0]!.subscriptionId })
    expect(result.order.value).toMatchObject({ kind: 'subscription', subscriptionId: sim.orders[0]!.subscriptionId })
  })

  it('shows a user cancel as canceled, not as a failure, and a refusal as failed', async () => {
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const seen: IapOrderEvent[] = []
    store.onOrderEvent((e) => seen.push(e))
    sim.nextPurchase('cancel', { error: 'KOREAN_ACCOUNT_ONLY' })
    expect(await result.purchase()).toMatchObject({ status: 'canceled', orderId: null, error: { code: 'USER_CANCELED' } })
    expect(result.status.value).toBe('canceled')
    expect(store.lastPurchase).toMatchObject({ sku: 'gem-100', status: 'canceled', orderId: null, error: { code: 'USER_CANCELED' } })
    expect(result.error.value?.code).toBe('USER_CANCELED')
    expect(await result.purchase()).toMatchObject({ status: 'failed', error: { code: 'KOREAN_ACCOUNT_ONLY' } })
    expect(result.status.value).toBe('failed')
    expect(seen.map((e) => e.type)).toEqual(['canceled', 'failed'])
    expect(server.calls).toHaveLength(0)
    result.reset()
    expect(result.status.value).toBe('idle')
    expect(result.error.value).toBeNull()
  })

  it('PRODUCT_NOT_GRANTED_BY_PARTNER never shows as failed: the order exists, and recovery completes it', async () => {
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    sim.nextPurchase({ error: 'PRODUCT_NOT_GRANTED_BY_PARTNER' })
    const outcome = await result.purchase()
    expect(outcome).toMatchObject({ status: 'granted', error: { code: 'PRODUCT_NOT_GRANTED_BY_PARTNER' } })
    expect(outcome.orderId).toBeTruthy()
    expect(result.status.value).toBe('granted')
    expect(store.orders[outcome.orderId!]?.status).toBe('granted')
    await store.recover()
    expect(result.status.value).toBe('completed')
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('an owned non-consumable is refused with ITEM_ALREADY_OWNED, nothing paid twice', async () => {
    const { result } = mountWithIap(() => usePurchase('remove-ads'), { grant: server.grant, recovery: noRecovery })
    expect((await result.purchase()).status).toBe('completed')
    expect(await result.purchase()).toMatchObject({ status: 'failed', orderId: null, error: { code: 'ITEM_ALREADY_OWNED' } })
    expect(sim.orders).toHaveLength(1)
    expect(server.calls).toHaveLength(1)
  })

  it('runs one purchase at a time in the whole app: a second resolves PURCHASE_IN_PROGRESS and opens no sheet', async () => {
    sim.nextPurchase('hang')
    const { result, store } = mountWithIap(() => ({ a: usePurchase('gem-100'), b: usePurchase('remove-ads') }), {
      grant: server.grant,
      recovery: noRecovery,
    })
    void result.a.purchase()
    await flushPromises()
    expect(store.activePurchase).toMatchObject({ sku: 'gem-100' })
    expect(await result.b.purchase()).toMatchObject({ status: 'failed', error: { code: 'PURCHASE_IN_PROGRESS' } })
    expect(await result.a.purchase()).toMatchObject({ status: 'failed', error: { code: 'PURCHASE_IN_PROGRESS' } })
    expect(result.a.status.value).toBe('purchasing') // the open purchase's state is untouched
    expect(sim.callsTo('requestOneTimePurchase').filter((c) => c.type === 'addEventListener')).toHaveLength(1)
  })

  it('removes its bridge listeners when its component goes away while the sheet is up', async () => {
    sim.nextPurchase('hang')
    const { result, wrapper, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = result.purchase()
    await flushPromises()
    expect(sim.openSubscriptions()).toBe(1)
    wrapper.unmount()
    expect(await outcome).toMatchObject({ status: 'canceled', error: { code: 'ABORTED' } })
    expect(sim.openSubscriptions()).toBe(0)
    expect(sim.listenerCount()).toBe(0)
    expect(store.activePurchase).toBeNull()
  })

  it('unmounted during the grant, the paid order is not lost: the grant finishes and recovery only completes it', async () => {
    server.respond({ delay: 20 })
    const { result, wrapper, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = result.purchase()
    await flushPromises()
    expect(result.status.value).toBe('granting')
    wrapper.unmount()
    expect(await outcome).toMatchObject({ status: 'granting', error: { code: 'ABORTED' } })
    await new Promise((r) => setTimeout(r, 40))
    const orderId = sim.orders[0]!.orderId
    expect(store.orders[orderId]!.status).toBe('granted')
    expect(sim.order(orderId)!.completed).toBe(false)
    const report = await store.recover()
    expect(report).toMatchObject({ completed: [orderId], pending: [], error: null })
    expect(server.calls).toHaveLength(1)
    expect(store.orders[orderId]!.status).toBe('completed')
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('warns in development when called outside a scope', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const app = createApp({ render: () => null })
    app.use(createPinia()).use(createTossIap({ grant: server.grant, recovery: noRecovery }))
    app.runWithContext(() => usePurchase('gem-100'))
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^\[vue-toss-iap\] usePurchase\(\) was called outside/))
    warn.mockRestore()
  })

  it('stops with its effect scope', async () => {
    sim.nextPurchase('hang')
    const app = createApp({ render: () => null })
    app.use(createPinia()).use(createTossIap({ grant: server.grant, recovery: noRecovery }))
    const scope = effectScope()
    const purchase = app.runWithContext(() => scope.run(() => usePurchase('gem-100')))!
    const outcome = purchase.purchase()
    await flushPromises()
    scope.stop()
    expect((await outcome).error?.code).toBe('ABORTED')
    expect(sim.callsTo('requestOneTimePurchase').map((c) => c.type)).toEqual(['addEventListener', 'removeEventListener'])
  })
})

describe('money rules', () => {
  it.each([
    ['says false', 'false', 'GRANT_FAILED'],
    ['throws', 'throw', 'GRANT_FAILED'],
  ] as const)('a grant that %s leaves the order pending; the next recovery grants and completes it', async (_, mode, code) => {
    server.respond(mode)
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = await result.purchase()
    expect(outcome).toMatchObject({ status: 'pending', error: { code } })
    expect(result.status.value).toBe('pending')
    expect(sim.pendingOrders()).toHaveLength(1)
    server.respond('ok')
    const report = await store.recover()
    expect(report.completed).toEqual([outcome.orderId])
    expect(result.status.value).toBe('completed') // the composable follows its order
    expect(server.calls.map((c) => c.source)).toEqual(['purchase', 'recovery'])
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('a grant that times out leaves the order pending; its late true makes recovery only complete it', async () => {
    vi.useFakeTimers()
    server.respond({ delay: 30_000 })
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = result.purchase()
    await vi.advanceTimersByTimeAsync(25_000)
    expect(await outcome).toMatchObject({ status: 'pending', error: { code: 'TIMEOUT' } })
    await vi.advanceTimersByTimeAsync(5_000)
    expect(result.status.value).toBe('granted')
    const report = await store.recover()
    expect(report.completed).toHaveLength(1)
    expect(server.calls).toHaveLength(1)
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it.each([
    ['rejects', { error: 'NETWORK_ERROR' }, 'NETWORK_ERROR'],
    ['answers false', { respond: false }, null],
    ['answers undefined', { respond: undefined }, null],
  ] as const)('completeProductGrant that %s leaves the order granted, and recovery only completes it', async (_, fault, code) => {
    sim.failNext('completeProductGrant', fault)
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = await result.purchase()
    expect(outcome.status).toBe('granted')
    expect(outcome.error?.code ?? null).toBe(code)
    expect(store.orders[outcome.orderId!]!.status).toBe('granted')
    expect(sim.order(outcome.orderId!)!.completed).toBe(false)
    await store.recover()
    expect(store.orders[outcome.orderId!]!.status).toBe('completed')
    expect(server.calls).toHaveLength(1) // not granted again
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('a live purchase and a recovery never grant the same order at the same time', async () => {
    server.respond({ delay: 30 })
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = result.purchase()
    await flushPromises()
    expect(sim.pendingOrders()).toHaveLength(1) // Toss lists the order while the grant runs
    const report = store.recover()
    expect((await outcome).status).toBe('completed')
    expect((await report).completed).toEqual([sim.orders[0]!.orderId])
    expect(server.calls).toHaveLength(1)
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('"the app closes after paying": a new session grants the order once and completes it', async () => {
    let first: ReturnType<typeof mountWithIap<ReturnType<typeof usePurchase>>> | undefined
    reinstall({ onAppClose: () => first?.wrapper.unmount() })
    sim.nextPurchase('close-after-pay')
    first = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const outcome = first.result.purchase()
    await flushPromises()
    expect(await outcome).toMatchObject({ status: 'canceled', error: { code: 'ABORTED' } }) // the page went away
    expect(sim.pendingOrders()).toHaveLength(1)
    expect(server.calls).toHaveLength(0)

    // The new session shows its catalogue, so recovery can tell the order's kind.
    const second = mountWithIap(() => useProducts(), { grant: server.grant })
    expect(second.store.isReady).toBe(false) // install does not wait for recovery
    const report = await second.store.whenReady()
    expect(second.store.isReady).toBe(true)
    expect(report?.completed).toEqual([sim.orders[0]!.orderId])
    expect(second.store.orders[sim.orders[0]!.orderId]).toMatchObject({ status: 'completed', source: 'recovery', sku: 'gem-100' })
    expect(server.calls).toEqual([expect.objectContaining({ source: 'recovery', sku: 'gem-100', kind: 'one-time' })])
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('"the app closes during the grant": the server saw the grant, Toss did not; the next session completes it without a second grant row', async () => {
    let first: ReturnType<typeof mountWithIap<ReturnType<typeof usePurchase>>> | undefined
    reinstall({ onAppClose: () => first?.wrapper.unmount() })
    sim.nextPurchase('close-during-grant')
    first = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    void first.result.purchase()
    await flushPromises()
    expect(server.grants.size).toBe(1)
    expect(sim.order(sim.orders[0]!.orderId)!.grantAnswers).toEqual([]) // the answer never reached Toss
    const second = mountWithIap(() => null, { grant: server.grant })
    await second.store.whenReady()
    // A remount in the same page knows the grant said true and only completes the order; a reloaded
    // page would ask again, and the server answers that repeat from its ledger.
    expect(server.calls).toHaveLength(1)
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it.each([
    ['an app too old for IAP', () => sim.configure({ appVersion: '5.200.0' }), 'UNSUPPORTED_APP_VERSION'],
    // The purchase flow exists here, but getPendingOrders (Android) or completeProductGrant (iOS)
    // does not: an order whose grant failed could never be recovered, so nothing is sold.
    ['Android 5.233.x, which cannot recover', () => sim.configure({ appVersion: '5.233.9', os: 'android' }), 'UNSUPPORTED_APP_VERSION'],
    ['iOS 5.230.x, which cannot recover', () => sim.configure({ appVersion: '5.230.5', os: 'ios' }), 'UNSUPPORTED_APP_VERSION'],
    ['a plain browser', () => sim.uninstall(), 'UNSUPPORTED_ENVIRONMENT'],
  ])('in %s, purchase() resolves with the reason and opens nothing', async (_, arrange, code) => {
    arrange()
    const { result } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant })
    expect(await result.purchase()).toMatchObject({ status: 'failed', error: { code } })
    expect(result.status.value).toBe('failed')
    expect(result.error.value?.code).toBe(code)
    expect(sim.calls.filter((c) => c.type === 'addEventListener')).toHaveLength(0)
  })
})

describe('SSR hydration', () => {
  it('takes the server-rendered state but re-reads the page it runs in', async () => {
    // The whole state as a server serialises it (taken from a real store), with what the server knew of its page.
    const rendered = createPinia()
    mount(defineComponent({ setup: () => () => null }), {
      global: { plugins: [rendered, createTossIap({ grant: server.grant, recovery: noRecovery })] },
    })
    await flushPromises() // the plugin creates its store just after the first render
    const serverState = JSON.parse(JSON.stringify(rendered.state.value))
    // The page's facts are getters, never part of the state a server sends; a state that carries
    // them anyway (an older server, a hand-made payload) must not override the page.
    expect(serverState['toss-iap']).not.toHaveProperty('environment')
    Object.assign(serverState['toss-iap'], {
      environment: { kind: 'server', appVersion: null, os: null },
      capabilities: { purchase: false },
      isReady: true,
    })
    const pinia = createPinia()
    pinia.state.value = JSON.parse(JSON.stringify(serverState))
    let products!: ReturnType<typeof useProducts>
    const Host = defineComponent({ setup: () => ((products = useProducts()), () => null) })
    // Nothing at install re-reads the page here (no recovery, no entitlement refresh).
    const plugin = createTossIap({ grant: server.grant, recovery: noRecovery, entitlements: { refreshOnInstall: false } })
    const wrapper = mount(Host, { global: { plugins: [pinia, plugin] } })
    const store = useIapStore(pinia)
    expect(store.environment.kind).toBe('toss')
    expect(store.capabilities.purchase).toBe(true)
    await flushPromises()
    expect(products.products.value).toHaveLength(3) // it loaded: the page is not the server
    expect(store.isReady).toBe(true)
    wrapper.unmount()
  })
})

describe('the store the plugin builds after the first render', () => {
  const Buy = defineComponent({
    setup() {
      const buy = usePurchase('gem-100')
      return { buy }
    },
    render: () => null,
  })

  it('finds its plugin when a second app installed the same Pinia in between, recovers, and sells', async () => {
    const pending = sim.addPaidOrder('remove-ads')
    const pinia = createPinia()
    const shop = mount(Buy, { global: { plugins: [pinia, createTossIap({ grant: server.grant })] } })
    // A second app on the page (a toast, a modal) shares the Pinia before the store exists.
    const toast = createApp({ render: () => null }).use(pinia)
    toast.mount(document.createElement('div'))
    await flushPromises()
    expect(pinia.state.value['toss-iap']).toBeDefined() // the plugin built it, in the toast's context
    const store = useIapStore(pinia)
    expect((await store.whenReady())?.completed).toEqual([pending.orderId])
    expect(await shop.vm.buy.purchase()).toMatchObject({ status: 'completed', error: null })
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
    toast.unmount()
  })

  it('an app unmounted before its store was built asks Toss nothing, and the order waits for the next start', async () => {
    const pending = sim.addPaidOrder('gem-100')
    const pinia = createPinia()
    mount(Buy, { global: { plugins: [pinia, createTossIap({ grant: server.grant })] } }).unmount()
    await flushPromises()
    expect(pinia.state.value['toss-iap']).toBeUndefined()
    expect(sim.callsTo('getPendingOrders')).toEqual([])
    expect(sim.pendingOrders().map((o) => o.orderId)).toEqual([pending.orderId])
    expect(server.calls).toEqual([])
  })
})
