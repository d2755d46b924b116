import { describe, expect, it, vi } from 'vitest'
import { getCurrentInstance, isReactive } from 'vue'
import { useEntitlement, useProductStore, usePurchase } from '../src'
import { server } from './session'
import { TOSS_IAP_KEY } from '../src/vue/context'
import { installDevtools, type SetupDevtools } from '../src/vue/devtools'
import { mountWithIap } from './helpers'

/** A devtools stand-in that records what the plugin tells it, and answers its hooks on demand. */
function recordingDevtools() {
  const timeline: Array<{ title: string; subtitle?: string; groupId?: string }> = []
  const layers: unknown[] = []
  const inspectors: unknown[] = []
  const hooks: Record<string, (payload: any) => void> = {}
  let descriptor: any
  let setupFn: ((api: any) => void) | undefined
  let api: any
  const setup: SetupDevtools = (d, fn) => {
    descriptor = d
    setupFn = fn
    fn(
      (api = {
        addTimelineLayer: (l: unknown) => layers.push(l),
        addInspector: (i: unknown) => inspectors.push(i),
        addTimelineEvent: ({ event }: any) => timeline.push(event),
        sendInspectorTree() {},
        sendInspectorState() {},
        now: () => Date.now(),
        on: {
          getInspectorTree: (h: any) => (hooks.tree = h),
          getInspectorState: (h: any) => (hooks.state = h),
        },
      } as any),
    )
  }
  /** The real DevTools runs the plugin's setup again when its client connects. */
  const reconnect = () => setupFn!(api)
  return { setup, reconnect, timeline, layers, inspectors, hooks, descriptor: () => descriptor }
}

describe('Vue devtools', () => {
  it('records every bridge call and order transition on a "Toss IAP" timeline, and inspects orders and entitlements', async () => {
    const devtools = recordingDevtools()

    const { result, store, wrapper, pinia } = mountWithIap(
      () => {
        const instance = getCurrentInstance()!
        return {
          buy: usePurchase('remove-ads'),
          owned: useEntitlement('remove-ads'),
          app: instance.appContext.app,
          ctx: instance.appContext.provides[TOSS_IAP_KEY as symbol],
        }
      },
      { grant: server.grant, recovery: { onInstall: false }, entitlements: { refreshOnInstall: false } },
    )
    void wrapper
    await vi.waitFor(() => expect(result.owned.isLoading.value).toBe(false)) // the first entitlement refresh, before devtools
    installDevtools(result.app, () => store, result.ctx, devtools.setup)
    // Identity, not deep equality: walking an app's component instance makes Vue warn.
    expect(devtools.descriptor()).toMatchObject({ id: 'vue-toss-iap', label: 'Toss IAP' })
    expect(devtools.descriptor().app).toBe(result.app)
    expect(devtools.layers).toEqual([expect.objectContaining({ id: 'toss-iap', label: 'Toss IAP' })])
    expect(devtools.inspectors).toEqual([expect.objectContaining({ id: 'toss-iap', label: 'Toss IAP' })])

    devtools.reconnect()
    devtools.layers.length = 0
    devtools.inspectors.length = 0
    await useProductStore(pinia).load()
    const outcome = await result.buy.purchase()
    const titles = devtools.timeline.map((e) => `${e.title} ${e.subtitle}`)
    expect(titles).toEqual([
      'getProductItemList start',
      'getProductItemList success',
      'createOneTimePurchaseOrder start remove-ads',
      'order granting ' + outcome.orderId,
      'order granted ' + outcome.orderId,
      'createOneTimePurchaseOrder success remove-ads',
      'completeProductGrant start ' + outcome.orderId,
      'completeProductGrant success ' + outcome.orderId,
      'order completed ' + outcome.orderId,
    ])

    const tree: any = { app: result.app, inspectorId: 'toss-iap', filter: '', rootNodes: [] }
    devtools.hooks.tree!(tree)
    expect(tree.rootNodes.map((n: any) => n.label)).toEqual(['Orders (1)', 'Entitlements (2)'])
    expect(tree.rootNodes[0].children[0]).toMatchObject({
      id: `order:${outcome.orderId}`,
      tags: [expect.objectContaining({ label: 'completed' })],
    })
    expect(tree.rootNodes[1].children[0]).toMatchObject({
      id: 'entitlement:remove-ads',
      tags: [expect.objectContaining({ label: 'active' })],
    })
    const state: any = { app: result.app, inspectorId: 'toss-iap', nodeId: `order:${outcome.orderId}` }
    devtools.hooks.state!(state)
    expect(state.state.order).toContainEqual({ key: 'status', value: 'completed' })
    // The root node's state is plain data the pane can show, not an opaque reactive object.
    const root: any = { app: result.app, inspectorId: 'toss-iap', nodeId: 'orders' }
    devtools.hooks.state!(root)
    expect(root.state.recovery).toContainEqual({ key: 'runs', value: 0 })
    expect(isReactive(root.state.recovery.find((f: any) => f.key === 'lastReport')?.value)).toBe(false)
    expect(root.state.environment).toContainEqual({ key: 'kind', value: 'toss' })
  })
})
