import { flushPromises } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, defineComponent, h, type App } from 'vue'
import { createIapClient, createTossIap, toIapError, useEntitlementStore, useIapStore, usePurchase, type GrantOrder } from '../src'
import { expectEveryPaidOrderGrantedOnceAndCompleted, mountWithIap } from './helpers'
import { reinstall, server, sim } from './session'

// Issue #9: each finding of the fault search, as a test that fails without its fix.

const noRecovery = { onInstall: false, onVisible: false }

/** The page's emitter, as the SDK sees it (the SDK replaces it at import, so look it up each time). */
const hostEmit = (event: string, payload: unknown) => window.__GRANITE_NATIVE_EMITTER!.emit(event, payload)

/** Every unhandled rejection during the test: there must be none, whatever a listener does. */
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})
afterEach(() => {
  process.off('unhandledRejection', onUnhandled)
})
async function expectNoUnhandledRejection() {
  await new Promise((r) => setTimeout(r, 10)) // Node reports them after the microtask queue drains
  expect(unhandled).toEqual([])
}

/** Apps mounted by hand: unmounted after each test, so that none answers a later test's host. */
const mounted = new Set<App>()
afterEach(() => {
  for (const app of mounted) app.unmount()
  mounted.clear()
})

/** Mounts an app whose `app.config.errorHandler` records what reaches it. */
function mountWithErrorHandler<T>(setup: () => T, options: Parameters<typeof createTossIap>[0]) {
  const reported: Array<{ error: unknown; info: string }> = []
  let result!: T
  const app = createApp(defineComponent({ setup: () => ((result = setup()), () => h('div')) }))
  app.config.errorHandler = (error, _instance, info) => void reported.push({ error, info })
  app.use(createPinia()).use(createTossIap(options))
  const root = document.createElement('div')
  app.mount(root)
  mounted.add(app)
  const store = app.runWithContext(() => useIapStore())
  return { app, store, result, reported }
}

describe('a listener that throws never touches the money path (finding 1)', () => {
  it.each([
    [
      'throws',
      () => {
        throw new Error('analytics is down')
      },
    ],
    ['rejects', () => Promise.reject(new Error('analytics is down'))],
  ])('an onOrderEvent listener that %s: the grant runs, Toss hears true, the purchase completes', async (_, listener) => {
    const { app, store, result, reported } = mountWithErrorHandler(() => usePurchase('gem-100'), {
      grant: server.grant,
      recovery: noRecovery,
      onOrderEvent: listener,
    })
    const outcome = await result.purchase()
    expect(outcome).toMatchObject({ status: 'completed', error: null })
    expect(server.calls).toHaveLength(1)
    expect(sim.orders[0]!.grantAnswers).toEqual([true])
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
    await flushPromises()
    // granting, granted, completed: each throw reported once, where Vue apps look for errors.
    expect(reported).toHaveLength(3)
    expect(reported[0]).toMatchObject({ error: { message: 'analytics is down' }, info: expect.stringMatching(/onOrderEvent/) })
    expect(store.orders[outcome.orderId!]!.status).toBe('completed')
    app.unmount()
    mounted.delete(app)
    await expectNoUnhandledRejection()
  })

  it('recover() and whenReady() resolve although every listener throws', async () => {
    sim.addPaidOrder('gem-100')
    sim.addPaidOrder('remove-ads')
    const { store, reported } = mountWithErrorHandler(() => null, {
      grant: server.grant,
      onOrderEvent: () => {
        throw new Error('listener bug')
      },
    })
    const report = await store.whenReady()
    expect(report?.completed).toHaveLength(2)
    expect(await store.recover()).toMatchObject({ error: null })
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
    expect(reported.length).toBeGreaterThan(0)
    await expectNoUnhandledRejection()
  })

  it('a canceled purchase with a throwing listener leaves the composable able to buy again', async () => {
    sim.nextPurchase('cancel')
    const { result } = mountWithErrorHandler(() => usePurchase('gem-100'), {
      grant: server.grant,
      recovery: noRecovery,
      onOrderEvent: () => {
        throw new Error('listener bug')
      },
    })
    expect(await result.purchase()).toMatchObject({ status: 'canceled' })
    expect(await result.purchase()).toMatchObject({ status: 'completed' })
    expect(server.grants.size).toBe(1)
    await expectNoUnhandledRejection()
  })

  it('without an errorHandler the error goes to the console, once per throw', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const boom = new Error('listener bug')
    const { result } = mountWithIap(() => usePurchase('gem-100'), {
      grant: server.grant,
      recovery: noRecovery,
      onOrderEvent: (e) => {
        if (e.type === 'completed') throw boom
      },
    })
    expect(await result.purchase()).toMatchObject({ status: 'completed' })
    expect(error).toHaveBeenCalledTimes(1)
    expect(error.mock.calls[0]).toContain(boom)
    error.mockRestore()
  })

  it('an onRevoked listener that throws does not stop the entitlement refresh', async () => {
    const { app, store, reported } = mountWithErrorHandler(() => useEntitlementStore(), {
      grant: server.grant,
      onRevoked: () => {
        throw new Error('revoked listener bug')
      },
    })
    await store.whenReady()
    const { orderId } = await store.purchase('remove-ads')
    const owned = app.runWithContext(() => useEntitlementStore())
    await owned.refreshEntitlements()
    expect(owned.entitlements['remove-ads']?.isActive).toBe(true)
    sim.refund(orderId!)
    await owned.refreshEntitlements()
    expect(owned.entitlements['remove-ads']?.isActive).toBe(false)
    expect(owned.entitlementsStatus).toBe('success')
    expect(reported.map((r) => r.info)).toEqual([expect.stringMatching(/onRevoked/)])
    await expectNoUnhandledRejection()
  })
})

describe('two installs in one page grant one order once at a time (finding 5)', () => {
  it('a remount while a grant runs joins it instead of granting again', async () => {
    let inFlight = 0
    let overlaps = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const grant = async (order: GrantOrder) => {
      if (++inFlight > 1) overlaps++
      await gate
      inFlight--
      return server.grant(order)
    }
    const first = mountWithIap(() => usePurchase('gem-100'), { grant, recovery: noRecovery })
    const buying = first.result.purchase()
    await flushPromises()
    expect(server.calls).toHaveLength(0)
    expect(inFlight).toBe(1)
    first.wrapper.unmount()
    // A new app (HMR, a remount) recovers at install: the order is pending at Toss.
    const second = mountWithIap(() => null, { grant })
    await flushPromises()
    expect(inFlight).toBe(1)
    release()
    await buying
    await second.store.whenReady()
    expect(overlaps).toBe(0)
    expect(server.calls).toHaveLength(1)
    await second.store.recover()
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })
})

describe('throttles follow a monotonic clock (finding 6)', () => {
  it('a device clock set back does not suppress recovery on return to the foreground', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout'] })
    const { store } = mountWithIap(() => null, { grant: server.grant })
    await store.whenReady()
    vi.setSystemTime(Date.now() - 24 * 3600_000) // the user sets the clock back a day
    vi.advanceTimersByTime(31_000)
    sim.addPaidOrder('gem-100')
    setVisibility('hidden')
    setVisibility('visible')
    await vi.waitFor(() => expect(sim.callsTo('getPendingOrders')).toHaveLength(2), { timeout: 5000 })
    await store.recover()
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })
})

function setVisibility(state: 'visible' | 'hidden') {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true })
  document.dispatchEvent(new Event('visibilitychange'))
}

describe('orderIds are checked the same way everywhere they enter (finding 7)', () => {
  it.each([' ', '\n', '', 'a b', 'x'.repeat(201)])('%j from getPendingOrders reaches no grant', async (orderId) => {
    sim.failNext('getPendingOrders', {
      respond: { orders: [{ orderId, sku: 'gem-100', paymentCompletedDate: null }], orderIds: [orderId] },
    })
    const { store } = mountWithIap(() => null, { grant: server.grant })
    const report = await store.whenReady()
    expect(report).toMatchObject({ completed: [], pending: [], error: null })
    expect(server.calls).toEqual([])
    expect(sim.callsTo('completeProductGrant')).toEqual([])
  })

  it('a purchased event with a blank orderId reaches no grant and tells Toss false', async () => {
    sim.nextPurchase('hang')
    const { result } = mountWithIap(() => usePurchase('gem-100'), {
      grant: server.grant,
      recovery: noRecovery,
      timeouts: { purchase: 200, call: 100 },
    })
    const buying = result.purchase()
    await flushPromises()
    const [open] = sim.callsTo('requestOneTimePurchase')
    hostEmit(`requestOneTimePurchase/onEvent/${open!.eventId}`, { type: 'purchased', data: { orderId: ' \n' } })
    await flushPromises()
    expect(server.calls).toEqual([])
    expect(sim.callsTo('processProductGrant').map((c) => c.args)).toEqual([[{ orderId: ' \n', isProductGranted: false }]])
    expect(await buying).toMatchObject({ status: 'failed', orderId: null, error: { code: 'TIMEOUT' } })
  })

  it('completeProductGrant refuses a blank orderId with INVALID_ARGUMENT before any bridge call', async () => {
    const client = createIapClient({ grant: server.grant })
    await expect(client.completeProductGrant(' ')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(await client.grant({ orderId: '\t', sku: 'gem-100', kind: 'one-time', source: 'recovery' })).toMatchObject({
      granted: false,
      error: { code: 'INVALID_ARGUMENT' },
    })
    expect(sim.calls).toEqual([])
    expect(server.calls).toEqual([])
  })
})

describe('a success Toss never reported as purchased is no paid order (finding 8)', () => {
  it('is failed with INVALID_RESPONSE, makes no order, and runs recovery', async () => {
    sim.nextPurchase('hang')
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const buying = result.purchase()
    await flushPromises()
    const [open] = sim.callsTo('requestOneTimePurchase')
    hostEmit(`requestOneTimePurchase/onEvent/${open!.eventId}`, { type: 'success', data: { orderId: 'never-sold' } })
    expect(await buying).toMatchObject({ status: 'failed', orderId: null, error: { code: 'INVALID_RESPONSE' } })
    expect(store.orders).toEqual({})
    expect(server.calls).toEqual([])
    await vi.waitFor(() => expect(sim.callsTo('getPendingOrders')).toHaveLength(1))
  })
})

describe('turning anything into an IapError never throws (finding 9)', () => {
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('field access throws')
      },
    },
  )
  const throwingFields = Object.defineProperties(
    {},
    {
      code: {
        get() {
          throw new Error('code getter')
        },
      },
      message: {
        get() {
          throw new Error('message getter')
        },
      },
    },
  )

  it.each([
    ['a proxy that throws on every read', hostile],
    ['an error whose code and message throw', throwingFields],
  ])('%s becomes UNKNOWN', (_, value) => {
    expect(toIapError(value)).toMatchObject({ code: 'UNKNOWN' })
  })

  it('a bridge call rejected with such an error settles, and recover() after it still runs', async () => {
    sim.failNext('getPendingOrders', 'hang')
    const { store } = mountWithIap(() => null, { grant: server.grant, recovery: noRecovery, timeouts: { call: 200 } })
    const [first] = await Promise.all([
      store.recover(),
      flushPromises().then(() => {
        const [call] = sim.callsTo('getPendingOrders')
        hostEmit(`getPendingOrders/reject/${call!.eventId}`, throwingFields)
      }),
    ])
    expect(first.error).toMatchObject({ code: 'UNKNOWN' })
    sim.addPaidOrder('gem-100')
    expect((await store.recover()).completed).toHaveLength(1)
  })
})

describe('recovery does not state what it does not know (finding 10)', () => {
  it("a pending order of a catalogue that failed to load is granted as kind 'unknown'", async () => {
    const order = sim.addPaidOrder('premium-monthly')
    sim.failNext('iapGetProductItemList', { error: 'NETWORK_ERROR' }, 3)
    const { store } = mountWithIap(() => null, { grant: server.grant, entitlements: { refreshOnInstall: false } })
    await store.whenReady()
    expect(server.calls).toEqual([{ orderId: order.orderId, sku: 'premium-monthly', kind: 'unknown', source: 'recovery' }])
    expect(store.orders[order.orderId]).toMatchObject({ kind: 'unknown', status: 'completed' })
  })
})

describe('a completed outcome carries no error (finding 11)', () => {
  it('a purchase that timed out waiting for Toss, completed by recovery meanwhile, reports completed without TIMEOUT', async () => {
    reinstall({ latency: 0 })
    sim.failNext('processProductGrant', 'hang')
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), {
      grant: server.grant,
      recovery: noRecovery,
      timeouts: { call: 50 },
    })
    const buying = result.purchase()
    await vi.waitFor(() => expect(server.grants.size).toBe(1))
    // While the flow waits for Toss's confirmation, a recovery completes the order.
    await store.recover()
    const outcome = await buying
    expect(outcome).toMatchObject({ status: 'completed', error: null })
  })
})

describe('abandoning a hung payment sheet (issue #13)', () => {
  it('before payment: canceled with ABORTED, listeners removed, isPurchaseOpen back to false', async () => {
    sim.nextPurchase('hang')
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const buying = result.purchase()
    await flushPromises()
    expect(store.isPurchaseOpen).toBe(true)
    result.abandon()
    expect(await buying).toMatchObject({ status: 'canceled', error: { code: 'ABORTED' } })
    expect(store.isPurchaseOpen).toBe(false)
    expect(sim.openSubscriptions()).toBe(0)
    expect(await result.purchase()).toMatchObject({ status: 'completed' })
  })

  it('after payment: the grant goes on and recovery completes the order', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const grant = async (order: GrantOrder) => (await gate, server.grant(order))
    const { result, store } = mountWithIap(() => usePurchase('gem-100'), { grant, recovery: noRecovery })
    const buying = result.purchase()
    await vi.waitFor(() => expect(store.orders[sim.orders[0]?.orderId ?? '']?.status).toBe('granting'))
    store.abandonPurchase()
    expect(await buying).toMatchObject({ status: 'granting', error: { code: 'ABORTED' } })
    release()
    await vi.waitFor(() => expect(server.grants.size).toBe(1))
    await store.recover()
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })
})

describe('a host event the SDK cannot read (found by the hostile-input search)', () => {
  it.each([null, undefined])(
    'a %s purchase event is reported, never an unhandled rejection; the purchase ends in time',
    async (payload) => {
      sim.nextPurchase('hang')
      const { result, reported } = mountWithErrorHandler(() => usePurchase('gem-100'), {
        grant: server.grant,
        recovery: noRecovery,
        timeouts: { purchase: 100 },
      })
      const buying = result.purchase()
      await flushPromises()
      const [open] = sim.callsTo('requestOneTimePurchase')
      hostEmit(`requestOneTimePurchase/onEvent/${open!.eventId}`, payload)
      expect(await buying).toMatchObject({ status: 'failed', orderId: null, error: { code: 'TIMEOUT' } })
      expect(server.calls).toEqual([])
      expect(reported).toEqual([{ error: expect.anything(), info: expect.stringMatching(/unreadable event/) }])
      await expectNoUnhandledRejection()
    },
  )
})

describe('an error the host sends that cannot be read', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    [
      'an object whose fields throw',
      Object.defineProperty({}, 'code', {
        enumerable: true,
        get() {
          throw new Error('unreadable')
        },
      }),
    ],
  ])('%s ends the purchase at once as a failure with a typed error, not by the 5-minute timeout', async (_, payload) => {
    sim.nextPurchase('hang')
    const { result } = mountWithIap(() => usePurchase('gem-100'), { grant: server.grant, recovery: noRecovery })
    const buying = result.purchase()
    await flushPromises()
    const [open] = sim.callsTo('requestOneTimePurchase')
    hostEmit(`requestOneTimePurchase/onError/${open!.eventId}`, payload)
    expect(await buying).toMatchObject({ status: 'failed', orderId: null, error: { code: 'UNKNOWN' } })
    expect(sim.openSubscriptions()).toBe(0)
  })
})
