import { IAP } from '@apps-in-toss/web-framework'
import { createPinia } from 'pinia'
import { afterEach, describe, expect, it } from 'vitest'
import { createApp, defineComponent, h, type App } from 'vue'
import { createTossIap, useIapStore, useProducts, usePurchase, type GrantOrder } from '../../src'
import { installTossSimulator, type TossSimulator } from '../../src/testing'

// These run in a real Chromium: the real SDK, real DOM events, real timers.
let sim: TossSimulator | undefined
let app: App | undefined
afterEach(() => {
  app?.unmount()
  sim?.uninstall()
  document.body.innerHTML = ''
})

const until = async (check: () => boolean, ms = 2000) => {
  const start = performance.now()
  while (!check()) {
    if (performance.now() - start > ms) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('in Chromium', () => {
  it('is a real browser', () => {
    expect(navigator.userAgent).toMatch(/Chrome/)
  })

  it('the raw SDK talks to the simulated host through the real bridge globals', async () => {
    sim = installTossSimulator({ latency: 5 })
    const result = await IAP.getProductItemList()
    expect(result?.products).toHaveLength(3)
  })

  it('a click buys, grants once and completes', async () => {
    sim = installTossSimulator({ latency: 5 })
    const granted: GrantOrder[] = []
    const Shop = defineComponent({
      setup() {
        const { products } = useProducts()
        const { purchase, status } = usePurchase('gem-100')
        const store = useIapStore()
        return () =>
          h('div', [
            h(
              'ul',
              products.value.map((p) => h('li', p.displayName)),
            ),
            h('button', { onClick: purchase }, 'buy'),
            h('output', { id: 'status' }, status.value),
            h('output', { id: 'ready' }, String(store.isReady)),
          ])
      },
    })
    const root = document.createElement('div')
    document.body.append(root)
    app = createApp(Shop)
      .use(createPinia())
      .use(createTossIap({ grant: (order) => (granted.push(order), true) }))
    app.mount(root)
    await until(() => root.querySelector('#ready')!.textContent === 'true')
    await until(() => root.querySelectorAll('li').length === 3)
    expect(root.querySelector('li')!.textContent).toBe('보석 100개')
    root.querySelector('button')!.click()
    expect(root.querySelector('#status')!.textContent).toBe('idle') // the DOM updates on the next tick
    await until(() => root.querySelector('#status')!.textContent === 'completed')
    expect(granted).toHaveLength(1)
    expect(sim.orders[0]).toMatchObject({ completed: true, grantAnswers: [true] })
    expect(sim.listenerCount()).toBe(0)
  })

  it('the first frame comes before the store and recovery, which then finish the order left half-way', async () => {
    sim = installTossSimulator()
    const order = sim.addPaidOrder('gem-100')
    const granted: string[] = []
    const pinia = createPinia()
    const root = document.createElement('div')
    document.body.append(root)
    let framed = false
    let storeAtFirstFrame: unknown = 'not yet'
    requestAnimationFrame(() => {
      framed = true
      storeAtFirstFrame = pinia.state.value['toss-iap']
    })
    app = createApp({ render: () => h('p', 'shop') })
      .use(pinia)
      .use(createTossIap({ grant: (o) => (granted.push(o.orderId), true) }))
    app.mount(root)
    await Promise.resolve()
    expect(pinia.state.value['toss-iap']).toBeUndefined() // not in a microtask: Chromium can wait for the frame
    await until(() => framed)
    expect(storeAtFirstFrame).toBeUndefined()
    await until(() => sim!.order(order.orderId)!.completed)
    expect(granted).toEqual([order.orderId])
  })

  it('recovers an order left half-way when the tab comes back', async () => {
    sim = installTossSimulator()
    const granted: string[] = []
    const root = document.createElement('div')
    document.body.append(root)
    app = createApp({ render: () => null })
      .use(createPinia())
      .use(createTossIap({ grant: (order) => (granted.push(order.orderId), true), recovery: { throttle: 0 } }))
    app.mount(root)
    const store = app.runWithContext(() => useIapStore())
    await store.whenReady()
    const order = sim.addPaidOrder('remove-ads')
    // Chromium decides visibility itself; drive the same event the page would get.
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    await until(() => sim!.order(order.orderId)!.completed)
    expect(granted).toEqual([order.orderId])
    delete (document as { visibilityState?: unknown }).visibilityState
  })
})
