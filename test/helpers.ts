import { mount, type VueWrapper } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { expect } from 'vitest'
import { defineComponent, h } from 'vue'
import { createTossIap, useIapStore, type GrantOrder, type IapStore, type TossIapOptions } from '../src'
import type { TossSimulator } from '../src/testing'

/**
 * A stand-in for the app's server: an idempotent grant table keyed by orderId, the way the
 * README's fulfilment endpoint works. `calls` counts every request; `grants` holds one row per
 * order actually granted.
 */
export function createTestServer() {
  const grants = new Map<string, GrantOrder>()
  const calls: GrantOrder[] = []
  let answer: 'ok' | 'false' | 'throw' | { delay: number; then?: 'ok' | 'false' } = 'ok'
  const server = {
    grants,
    calls,
    /** How the next requests are answered: grant, refuse, throw, or grant after a delay. */
    respond(next: typeof answer) {
      answer = next
    },
    grant: async (order: GrantOrder): Promise<boolean> => {
      calls.push(order)
      const mode = answer
      if (typeof mode === 'object') await new Promise((r) => setTimeout(r, mode.delay))
      const outcome = typeof mode === 'object' ? (mode.then ?? 'ok') : mode
      if (outcome === 'throw') throw new Error('server is down')
      if (outcome === 'false') return false
      if (!grants.has(order.orderId)) grants.set(order.orderId, order)
      return true
    },
  }
  return server
}

export const flush = () => new Promise<void>((r) => setTimeout(r, 0))

/**
 * Mounts a tiny host component with a fresh Pinia and the plugin (one "session" of the app) and
 * runs `setup` inside it, the way a component would use the composables.
 */
export function mountWithIap<T>(setup: () => T, options: Partial<TossIapOptions> & Pick<TossIapOptions, 'grant'>) {
  let result!: T
  let store!: IapStore
  const Host = defineComponent({
    setup() {
      result = setup()
      store = useIapStore()
      return () => h('div')
    },
  })
  const pinia = createPinia()
  const wrapper: VueWrapper = mount(Host, { global: { plugins: [pinia, createTossIap(options)] } })
  return { result, store, wrapper, pinia }
}

/**
 * The money rule: every paid order that was not refunded is granted exactly once on the server
 * and completed at Toss.
 */
export function expectEveryPaidOrderGrantedOnceAndCompleted(sim: TossSimulator, server: ReturnType<typeof createTestServer>) {
  const paid = sim.orders.filter((o) => o.paid && !o.refunded)
  for (const order of paid) {
    expect(server.grants.has(order.orderId), `order ${order.orderId} granted on the server`).toBe(true)
    expect(order.completed, `order ${order.orderId} completed at Toss`).toBe(true)
  }
  expect(server.grants.size).toBe(paid.length)
}
