import { flushPromises } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { createIapClient, recoverPendingOrders, useEntitlementStore, useProductStore, useProducts, type IapOrderEvent } from '../src'
import { sim, server, reinstall } from './session'
import { expectEveryPaidOrderGrantedOnceAndCompleted, mountWithIap } from './helpers'

function setVisibility(state: 'visible' | 'hidden') {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true })
  document.dispatchEvent(new Event('visibilitychange'))
}

describe('recovery on install', () => {
  it('grants and completes every pending order in the background, with the kind the catalogue tells', async () => {
    const a = sim.addPaidOrder('gem-100')
    const b = sim.addPaidOrder('premium-monthly')
    const { store } = mountWithIap(() => useProducts(), { grant: server.grant })
    expect(store.recovery.status).toBe('idle') // install and mount start nothing; recovery follows at once
    expect(sim.callsTo('getPendingOrders')).toHaveLength(0)
    await Promise.resolve()
    expect(store.recovery.status).toBe('running')
    const report = await store.whenReady()
    expect(report).toMatchObject({ completed: [a.orderId, b.orderId], pending: [], error: null })
    expect(server.calls.map((c) => [c.sku, c.kind, c.source])).toEqual([
      ['gem-100', 'one-time', 'recovery'],
      ['premium-monthly', 'subscription', 'recovery'],
    ])
    expect(store.recovery).toMatchObject({ status: 'done', runs: 1, lastReport: report })
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('an app that never loads its catalogue recovers every order as kind unknown, never a guess', async () => {
    const a = sim.addPaidOrder('gem-100')
    const b = sim.addPaidOrder('premium-monthly')
    const { store } = mountWithIap(() => null, { grant: server.grant })
    const report = await store.whenReady()
    expect(report).toMatchObject({ completed: [a.orderId, b.orderId], pending: [], error: null })
    expect(server.calls.map((c) => [c.sku, c.kind, c.source])).toEqual([
      ['gem-100', 'unknown', 'recovery'],
      ['premium-monthly', 'unknown', 'recovery'],
    ])
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(0) // recovery asks Toss for no catalogue of its own
    expect(store.orders[a.orderId]).toMatchObject({ kind: 'unknown', status: 'completed' })
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('fills in the sku when the host lists only orderIds', async () => {
    reinstall({ pendingOrdersFormat: 'orderIds' })
    const order = sim.addPaidOrder('remove-ads')
    const { store } = mountWithIap(() => null, { grant: server.grant })
    await store.whenReady()
    // Only the orderId is known: the grant gets an empty sku and an unknown kind (never a guess),
    // and must look the order up by id.
    expect(server.calls).toEqual([{ orderId: order.orderId, sku: '', kind: 'unknown', source: 'recovery' }])
    expect(sim.order(order.orderId)!.completed).toBe(true)
  })

  it('leaves an order pending when its grant fails, and reports why', async () => {
    const order = sim.addPaidOrder('gem-100')
    server.respond('false')
    const events: IapOrderEvent[] = []
    const { store } = mountWithIap(() => null, { grant: server.grant, onOrderEvent: (e) => events.push(e) })
    const report = await store.whenReady()
    expect(report).toMatchObject({ completed: [], pending: [order.orderId] })
    expect(store.orders[order.orderId]).toMatchObject({ status: 'pending', error: { code: 'GRANT_FAILED' } })
    expect(events.map((e) => e.type)).toEqual(['granting', 'pending'])
    server.respond('ok')
    await store.recover()
    expect(events.map((e) => e.type)).toEqual(['granting', 'pending', 'granting', 'granted', 'recovered'])
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('reports an app too old for pending orders instead of failing silently', async () => {
    sim.configure({ appVersion: '5.232.0' })
    const { store } = mountWithIap(() => null, { grant: server.grant })
    const report = await store.whenReady()
    expect(report?.error?.code).toBe('UNSUPPORTED_APP_VERSION')
    expect(store.recovery.status).toBe('failed')
  })

  it('reports a host error and a timeout of getPendingOrders', async () => {
    vi.useFakeTimers()
    sim.failNext('getPendingOrders', { error: 'INTERNAL_ERROR' })
    const { store } = mountWithIap(() => null, { grant: server.grant, timeouts: { call: 1000 } })
    expect((await store.whenReady())?.error?.code).toBe('INTERNAL_ERROR')
    sim.failNext('getPendingOrders', 'hang')
    const report = store.recover()
    await vi.advanceTimersByTimeAsync(1000)
    expect((await report).error?.code).toBe('TIMEOUT')
    expect(sim.listenerCount()).toBe(0)
  })

  it('can be switched off', async () => {
    sim.addPaidOrder('gem-100')
    const { store } = mountWithIap(() => null, { grant: server.grant, recovery: { onInstall: false } })
    expect(await store.whenReady()).toBeNull()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(0)
  })
})

describe('recover()', () => {
  it('shares one run between concurrent callers', async () => {
    sim.addPaidOrder('gem-100')
    const { store } = mountWithIap(() => null, { grant: server.grant, recovery: { onInstall: false, onVisible: false } })
    const [a, b] = [store.recover(), store.recover()]
    expect(await a).toBe(await b) // the same report object
    expect(sim.callsTo('getPendingOrders')).toHaveLength(1)
    expect(server.calls).toHaveLength(1)
  })

  it('always runs when called by hand, even right after another run', async () => {
    const { store } = mountWithIap(() => null, { grant: server.grant })
    await store.whenReady()
    await store.recover()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(2)
  })

  it('grants at most `concurrency` orders at once, each exactly once', async () => {
    for (let i = 0; i < 10; i++) sim.addPaidOrder('gem-100')
    let running = 0
    let peak = 0
    const grant = async (order: Parameters<typeof server.grant>[0]) => {
      peak = Math.max(peak, ++running)
      await new Promise((r) => setTimeout(r, 5))
      running--
      return server.grant(order)
    }
    const { store } = mountWithIap(() => null, { grant, recovery: { concurrency: 3 } })
    const report = await store.whenReady()
    expect(report?.completed).toHaveLength(10)
    expect(peak).toBe(3)
    expect(sim.callsTo('getPendingOrders')).toHaveLength(1)
    expect(sim.callsTo('completeProductGrant')).toHaveLength(10)
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('works on the framework-free core too', async () => {
    const order = sim.addPaidOrder('gem-100')
    const client = createIapClient({ grant: server.grant })
    const steps: string[] = []
    const report = await recoverPendingOrders(client, { onStep: (s) => steps.push(`${s.phase}:${s.order.orderId}`) })
    expect(report.completed).toEqual([order.orderId])
    expect(steps).toEqual([`granting:${order.orderId}`, `granted:${order.orderId}`, `completed:${order.orderId}`])
  })
})

describe('recovery on return to the foreground', () => {
  it('runs when the page becomes visible after being hidden, at most once per 30 s', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout'] })
    const { store, result: owned } = mountWithIap(() => useEntitlementStore(), { grant: server.grant })
    await store.whenReady()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(1)
    expect(sim.callsTo('getCompletedOrRefundedOrders')).toHaveLength(1) // the entitlement refresh after it

    vi.advanceTimersByTime(31_000)
    sim.addPaidOrder('gem-100')
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    await vi.waitFor(() => expect(store.recovery.status).toBe('done'))
    expect(sim.callsTo('getPendingOrders')).toHaveLength(2)
    expect(server.calls).toHaveLength(1)
    await vi.waitFor(() => expect(owned.entitlementsStatus).toBe('success'))
    expect(sim.callsTo('getCompletedOrRefundedOrders')).toHaveLength(2) // entitlements refresh with it

    vi.advanceTimersByTime(10_000) // within the throttle
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(2)

    vi.advanceTimersByTime(21_000) // past it
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(3)
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })

  it('can be switched off, and stops with the app', async () => {
    const off = mountWithIap(() => null, { grant: server.grant, recovery: { onInstall: false, onVisible: false } })
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(0)
    off.wrapper.unmount()

    const on = mountWithIap(() => null, { grant: server.grant, recovery: { onInstall: false, throttle: 0 } })
    on.wrapper.unmount()
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(0)
  })
})

describe('the foreground watch', () => {
  it('starts with the store and stops when the store is disposed', async () => {
    const { store } = mountWithIap(() => null, { grant: server.grant, recovery: { onInstall: false, throttle: 0 } })
    await flushPromises()
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(1)
    store.$dispose()
    setVisibility('hidden')
    setVisibility('visible')
    await flushPromises()
    expect(sim.callsTo('getPendingOrders')).toHaveLength(1)
  })
})

describe('useProducts', () => {
  it('loads once for many components and shares the list', async () => {
    const { result } = mountWithIap(() => Array.from({ length: 5 }, () => useProducts()), {
      grant: server.grant,
      recovery: { onInstall: false },
    })
    expect(result[0]!.isLoading.value).toBe(true)
    await flushPromises()
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(1)
    for (const r of result) expect(r.products.value.map((p) => p.sku)).toEqual(['gem-100', 'remove-ads', 'premium-monthly'])
    expect(result[0]!.status.value).toBe('success')
  })

  it('keeps the last good list when a refresh fails, and shows the error', async () => {
    const { result, pinia } = mountWithIap(() => useProducts(), { grant: server.grant, recovery: { onInstall: false } })
    await flushPromises()
    sim.failNext('iapGetProductItemList', { error: 'NETWORK_ERROR' })
    const [a, b] = [result.refresh(), result.refresh()]
    expect(await a).toBe(await b)
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(2)
    expect(result.products.value).toHaveLength(3)
    expect(result.error.value?.code).toBe('NETWORK_ERROR')
    expect(result.status.value).toBe('error')
    await result.refresh()
    expect(result.error.value).toBeNull()
    expect(useProductStore(pinia).updatedAt).toBeTypeOf('number')
  })

  it('shows why there are no products in a plain browser', async () => {
    sim.uninstall()
    const { result } = mountWithIap(() => useProducts(), { grant: server.grant })
    await flushPromises()
    expect(result.products.value).toEqual([])
    expect(result.error.value?.code).toBe('UNSUPPORTED_ENVIRONMENT')
  })
})

describe('onOrderEvent', () => {
  it('stops listening when the listening component goes away', async () => {
    const events: string[] = []
    const listener = mountWithIap(() => null, { grant: server.grant, recovery: { onInstall: false } })
    const { store } = listener
    const { effectScope } = await import('vue')
    const scope = effectScope()
    scope.run(() => store.onOrderEvent((e) => events.push(e.type)))
    sim.addPaidOrder('gem-100')
    await store.recover()
    scope.stop()
    sim.addPaidOrder('gem-100')
    await store.recover()
    expect(events).toEqual(['granting', 'granted', 'recovered'])
  })
})

describe('bridge calls an app does not need', () => {
  it('a catalogue that has nothing to own reads no order history', async () => {
    reinstall({
      products: [{ sku: 'gem-100', type: 'CONSUMABLE', displayName: 'Gems', displayAmount: '1,100원', iconUrl: '', description: '' }],
    })
    const { store, result: owned } = mountWithIap(() => useEntitlementStore(), { grant: server.grant })
    await store.whenReady()
    expect(owned.entitlementsStatus).toBe('success')
    expect(sim.callsTo('getCompletedOrRefundedOrders')).toHaveLength(0)
  })

  it('without entitlements in use, returning to the foreground only recovers', async () => {
    const { store } = mountWithIap(() => null, {
      grant: server.grant,
      recovery: { throttle: 0 },
      entitlements: { refreshOnInstall: false },
    })
    await store.whenReady()
    setVisibility('hidden')
    setVisibility('visible')
    await vi.waitFor(() => expect(store.recovery.runs).toBe(2))
    await flushPromises()
    expect(sim.callsTo('getCompletedOrRefundedOrders')).toHaveLength(0)
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(0)
  })
})
