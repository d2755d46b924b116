import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { createTossIap, DEFAULT_RECOVERY_CONCURRENCY, useProducts, usePurchase, type GrantOrder, type TossIapOptions } from '../src'
import { server, sim } from './session'
import { expectEveryPaidOrderGrantedOnceAndCompleted, mountWithIap } from './helpers'

// The hard properties behind `npm run bench` (BENCHMARKS.md), asserted so that CI fails when one
// breaks. The bench measures the same things at full scale.

const quiet = {
  recovery: { onInstall: false, onVisible: false },
  entitlements: { refreshOnInstall: false },
} satisfies Partial<TossIapOptions>

function mountMany(count: number, options: TossIapOptions, seen?: (n: number) => void) {
  const Child = defineComponent({
    props: { index: { type: Number, required: true } },
    setup(props) {
      const { products } = useProducts()
      if (props.index === 0) seen?.(products.value.length)
      return () => h('i')
    },
  })
  const Parent = defineComponent({ setup: () => () => Array.from({ length: count }, (_, i) => h(Child, { index: i, key: i })) })
  return mount(Parent, { global: { plugins: [createPinia(), createTossIap(options)] } })
}

describe('bridge economy', () => {
  it('100 components mounting useProducts() make exactly 1 getProductItemList call', async () => {
    mountMany(100, { grant: () => true, ...quiet })
    await flushPromises()
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(1)
  })

  it('with a warm cache the products are readable at mount and exactly 1 revalidation follows', async () => {
    mountMany(1, { grant: () => true, ...quiet }).unmount()
    await flushPromises()
    const before = sim.callsTo('iapGetProductItemList').length
    let atMount = -1
    mountMany(100, { grant: () => true, ...quiet }, (n) => (atMount = n))
    expect(atMount).toBe(3)
    await flushPromises()
    expect(sim.callsTo('iapGetProductItemList').length - before).toBe(1)
  })

  it(`recovery of 50 orders makes 1 getPendingOrders call, and 1 grant and 1 completion per order, ${DEFAULT_RECOVERY_CONCURRENCY} at a time`, async () => {
    for (let i = 0; i < 50; i++) sim.addPaidOrder(i % 2 ? 'gem-100' : 'remove-ads')

    let running = 0
    let peak = 0
    const grant = async (order: GrantOrder) => {
      peak = Math.max(peak, ++running)
      await new Promise((r) => setTimeout(r, 1))
      running--
      return server.grant(order)
    }
    const { store } = mountWithIap(() => null, { grant, recovery: { onVisible: false }, entitlements: { refreshOnInstall: false } })
    const report = await store.whenReady()
    expect(report?.completed).toHaveLength(50)
    expect(sim.callsTo('getPendingOrders')).toHaveLength(1)
    expect(server.calls).toHaveLength(50)
    expect(sim.callsTo('completeProductGrant')).toHaveLength(50)
    expect(peak).toBe(DEFAULT_RECOVERY_CONCURRENCY)
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })
})

describe('leaks', () => {
  it('mount → start a purchase → unmount, at each stage, leaves 0 listeners on the bridge', async () => {
    const stages = ['sheet up', 'grant running', 'awaiting confirmation'] as const
    for (let i = 0; i < 90; i++) {
      const stage = stages[i % 3]!
      let releaseGrant: ((v: boolean) => void) | undefined
      const grant = stage === 'grant running' ? () => new Promise<boolean>((r) => (releaseGrant = r)) : () => true
      if (stage === 'sheet up') sim.nextPurchase('hang')
      sim.configure({ latency: stage === 'awaiting confirmation' ? 2 : 0 })
      const { result, wrapper } = mountWithIap(() => usePurchase('gem-100'), { grant, ...quiet, timeouts: { call: 50 } })
      const outcome = result.purchase()
      await new Promise((r) => setTimeout(r, stage === 'awaiting confirmation' ? 3 : 0))
      wrapper.unmount()
      await outcome
      releaseGrant?.(true)
    }
    await new Promise((r) => setTimeout(r, 60)) // what the host may still answer
    expect(sim.openSubscriptions()).toBe(0)
    expect(sim.listenerCount()).toBe(0)
    // Nor does the SDK's emitter keep an entry per call (it would grow for ever).
    expect(Object.keys(window.__GRANITE_NATIVE_EMITTER!.events ?? {})).toEqual([])
  })
})

describe('startup', () => {
  it('install and the first render of a buy button build no store and call no bridge; the store and recovery follow a microtask later', async () => {
    sim.addPaidOrder('gem-100')
    const pinia = createPinia()
    let status = ''
    const Buy = defineComponent({
      setup() {
        const { isPending, status: s } = usePurchase('gem-100')
        return () => ((status = s.value), h('button', { disabled: isPending.value }, 'buy'))
      },
    })
    const added = vi.spyOn(document, 'addEventListener')
    const watchesVisibility = () => added.mock.calls.some(([type]) => type === 'visibilitychange')
    mount(Buy, { global: { plugins: [pinia, createTossIap({ grant: server.grant })] } })
    expect(status).toBe('idle') // rendered
    expect(pinia.state.value['toss-iap']).toBeUndefined()
    expect(sim.calls).toEqual([])
    expect(watchesVisibility()).toBe(false) // the return to the foreground is watched from the store on
    await Promise.resolve()
    expect(pinia.state.value['toss-iap']).toBeDefined()
    expect(watchesVisibility()).toBe(true)
    added.mockRestore()
    await flushPromises()
    await vi.waitFor(() => expect(sim.pendingOrders()).toEqual([]))
    expectEveryPaidOrderGrantedOnceAndCompleted(sim, server)
  })
})
