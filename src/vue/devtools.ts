import { setupDevtoolsPlugin } from '@vue/devtools-api'
import type { Pinia } from 'pinia'
import { toRaw, type App } from 'vue'
import type { BridgeCallEvent } from '../core/client.js'
import type { Entitlement } from '../core/entitlements.js'
import type { TossIapContext } from './context.js'
import type { RevokedEvent } from './entitlementStore.js'
import type { IapStore } from './store.js'

// Loaded only in development builds (see plugin.ts): a timeline of every bridge call and order
// transition, and an inspector of orders and entitlements.

const LAYER = 'toss-iap'
const INSPECTOR = 'toss-iap'
const BLUE = 0x3182f6
const RED = 0xf04452

type DevtoolsApi = Parameters<Parameters<typeof setupDevtoolsPlugin>[1]>[0]
export type SetupDevtools = (descriptor: Parameters<typeof setupDevtoolsPlugin>[0], setup: (api: DevtoolsApi) => void) => unknown

/** The entitlement store's state, read from Pinia without creating the store (an app may not use it). */
function ownedBy(app: App): Record<string, Entitlement> {
  const pinia = app.config.globalProperties.$pinia as Pinia | undefined
  const state = pinia?.state.value['toss-iap-entitlements'] as { entitlements?: Record<string, Entitlement> } | undefined
  return state?.entitlements ?? {}
}

/** A plain copy for the state pane, which shows a reactive object as an opaque "Reactive". */
function plain(value: unknown): unknown {
  const raw = toRaw(value)
  if (raw instanceof Error) return { name: raw.name, message: raw.message, ...(raw as { code?: string }) }
  if (Array.isArray(raw)) return raw.map(plain)
  if (raw !== null && typeof raw === 'object') return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, plain(v)]))
  return raw
}
const fields = (record: object) => Object.entries(plain(record) as object).map(([key, value]) => ({ key, value }))

/** `store` is reached only when the inspector is open: attaching devtools never creates the store early. */
export function installDevtools(app: App, store: () => IapStore, ctx: TossIapContext, setup: SetupDevtools = setupDevtoolsPlugin) {
  // The real DevTools runs this setup again when its client connects; the listeners of the
  // previous run go first, or every order event would show twice on the timeline.
  let detach: Array<() => void> = []
  setup(
    {
      id: 'vue-toss-iap',
      label: 'Toss IAP',
      packageName: 'vue-toss-iap',
      homepage: 'https://github.com/vue-toss-iap/vue-toss-iap',
      componentStateTypes: [],
      app: app as never,
    },
    (api) => {
      for (const off of detach) off()
      detach = []
      api.addTimelineLayer({ id: LAYER, label: 'Toss IAP', color: BLUE })
      api.addInspector({ id: INSPECTOR, label: 'Toss IAP', icon: 'payments', treeFilterPlaceholder: 'orderId or sku' })
      const refresh = () => {
        api.sendInspectorTree(INSPECTOR)
        api.sendInspectorState(INSPECTOR)
      }

      const offBridgeCalls = ctx.bridgeCalls.add((event: BridgeCallEvent) => {
        api.addTimelineEvent({
          layerId: LAYER,
          event: {
            time: api.now(),
            title: event.name,
            subtitle: [event.phase, event.detail].filter(Boolean).join(' '),
            logType: event.phase === 'error' ? 'error' : 'default',
            groupId: `${event.name}:${event.detail ?? ''}`,
            data: {
              name: event.name,
              phase: event.phase,
              ...(event.detail !== undefined && { detail: event.detail }),
              ...(event.error && { error: { code: event.error.code, message: event.error.message } }),
            },
          },
        })
      })
      const offOrders = ctx.orderEvents.add((event) => {
        const orderId = 'order' in event ? event.order.orderId : undefined
        api.addTimelineEvent({
          layerId: LAYER,
          event: {
            time: api.now(),
            title: `order ${event.type}`,
            subtitle: orderId ?? ('sku' in event ? event.sku : ''),
            logType: event.type === 'failed' || event.type === 'pending' ? 'warning' : 'default',
            ...(orderId && { groupId: orderId }),
            data:
              'order' in event ? { order: plain(event.order) } : { sku: event.sku, code: event.error.code, message: event.error.message },
          },
        })
        refresh()
      })
      const onRevoked = (event: RevokedEvent) => {
        api.addTimelineEvent({
          layerId: LAYER,
          event: {
            time: api.now(),
            title: 'entitlement revoked',
            subtitle: `${event.sku}: ${event.reason}`,
            logType: 'warning',
            data: { ...event },
          },
        })
        refresh()
      }
      detach.push(offBridgeCalls, offOrders, ctx.revoked.add(onRevoked))

      api.on.getInspectorTree((payload) => {
        if (payload.app !== app || payload.inspectorId !== INSPECTOR) return
        const filter = payload.filter.toLowerCase()
        const match = (...texts: string[]) => !filter || texts.some((t) => t.toLowerCase().includes(filter))
        const orders = Object.values(store().orders).filter((o) => match(o.orderId, o.sku))
        const entitlements = Object.values(ownedBy(app)).filter((e) => match(e.sku, e.orderId ?? ''))
        payload.rootNodes = [
          {
            id: 'orders',
            label: `Orders (${orders.length})`,
            children: orders.map((o) => ({
              id: `order:${o.orderId}`,
              label: o.orderId,
              tags: [{ label: o.status, textColor: 0xffffff, backgroundColor: o.status === 'pending' ? RED : BLUE }],
            })),
          },
          {
            id: 'entitlements',
            label: `Entitlements (${entitlements.length})`,
            children: entitlements.map((e) => ({
              id: `entitlement:${e.sku}`,
              label: e.sku,
              tags: [{ label: e.isActive ? 'active' : 'inactive', textColor: 0xffffff, backgroundColor: e.isActive ? BLUE : RED }],
            })),
          },
        ]
      })
      api.on.getInspectorState((payload) => {
        if (payload.app !== app || payload.inspectorId !== INSPECTOR) return
        const [kind, key] = payload.nodeId.split(/:(.*)/s)
        const record = kind === 'order' ? store().orders[key ?? ''] : kind === 'entitlement' ? ownedBy(app)[key ?? ''] : undefined
        if (!record) {
          payload.state = {
            recovery: fields(store().recovery),
            environment: fields(store().environment),
            capabilities: fields(store().capabilities),
          }
          return
        }
        payload.state = { [kind as string]: fields(record) }
      })
    },
  )
}
