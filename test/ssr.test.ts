// @vitest-environment node
import { createPinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { createSSRApp, defineComponent, h } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { createTossIap, detectCapabilities, detectEnvironment, useIapStore, useProducts, usePurchase } from '../src'

describe('the server side of SSR', () => {
  it('has no window here, so the test means something', () => {
    expect(typeof window).toBe('undefined')
  })

  it('installs, renders the composables and touches no window', async () => {
    const grants: unknown[] = []
    const Page = defineComponent({
      setup() {
        const { products, isLoading } = useProducts()
        const { status } = usePurchase('gem-100')
        const store = useIapStore()
        return () => h('p', `${store.environment.kind}:${status.value}:${products.value.length}:${isLoading.value}`)
      },
    })
    const pinia = createPinia()
    const app = createSSRApp(Page)
      .use(pinia)
      .use(createTossIap({ grant: (o) => (grants.push(o), true) }))
    expect(await renderToString(app)).toBe('<p>server:idle:0:false</p>')
    const store = useIapStore(pinia)
    expect(await store.whenReady()).toBeNull()
    expect(store.recovery.status).toBe('idle')
    expect(grants).toEqual([])
    // The state serialises for hydration.
    const state = JSON.parse(JSON.stringify(pinia.state.value))
    expect(state['toss-iap']).toMatchObject({ orders: {} })
    expect(state['toss-iap-products']).toMatchObject({ status: 'idle', products: [] })
  })

  it('answers purchase() with UNSUPPORTED_ENVIRONMENT instead of throwing', async () => {
    const pinia = createPinia()
    const app = createSSRApp({ render: () => null })
      .use(pinia)
      .use(createTossIap({ grant: () => true }))
    const store = app.runWithContext(() => useIapStore())
    expect(await store.purchase('gem-100')).toMatchObject({
      status: 'failed',
      error: { code: 'UNSUPPORTED_ENVIRONMENT', message: expect.stringContaining('server') },
    })
  })

  it('the simulator refuses to install without a window, with a clear error', async () => {
    const { installTossSimulator } = await import('../src/testing')
    expect(() => installTossSimulator()).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_ENVIRONMENT', message: expect.stringContaining('needs a window') }),
    )
  })

  it('reports the server environment and no capabilities', () => {
    expect(detectEnvironment()).toEqual({ kind: 'server', appVersion: null, os: null })
    expect(Object.values(detectCapabilities()).some(Boolean)).toBe(false)
  })
})
