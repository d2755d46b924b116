import { flushPromises } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import {
  useEntitlement,
  useEntitlementStore,
  useOrderHistory,
  useOrderHistoryStore,
  usePurchase,
  useSubscription,
  useSubscriptionPurchase,
  type RevokedEvent,
} from '../src'
import { sim, server, reinstall } from './session'
import { mountWithIap } from './helpers'

/** Buys through the simulator as an earlier session would have: paid, granted and completed. */
function ownedBefore(sku: string) {
  const order = sim.addPaidOrder(sku)
  order.grantAnswers.push(true)
  order.completed = true
  order.completedAt = new Date().toISOString()
  return order
}

describe('useEntitlement', () => {
  it('owns a non-consumable from the moment its purchase is granted, then from the history', async () => {
    const { result, store } = mountWithIap(() => ({ buy: usePurchase('remove-ads'), owned: useEntitlement('remove-ads') }), {
      grant: server.grant,
    })
    await store.whenReady()
    expect(result.owned.isActive.value).toBe(false)
    expect(result.owned.entitlement.value).toMatchObject({ isActive: false, source: 'history', orderId: null })
    const outcome = await result.buy.purchase()
    expect(result.owned.isActive.value).toBe(true)
    expect(result.owned.entitlement.value).toMatchObject({ source: 'order', orderId: outcome.orderId })
    await result.owned.refresh()
    expect(result.owned.entitlement.value).toMatchObject({ isActive: true, orderId: outcome.orderId })
  })

  it('owns what earlier sessions bought, from the order history', async () => {
    const order = ownedBefore('remove-ads')
    const { result, store } = mountWithIap(() => useEntitlement('remove-ads'), { grant: server.grant })
    await store.whenReady()
    expect(result.entitlement.value).toMatchObject({ isActive: true, source: 'history', orderId: order.orderId, isStale: false })
  })

  it('a refund makes it inactive and fires one revoked event', async () => {
    const order = ownedBefore('remove-ads')
    const revoked: RevokedEvent[] = []
    const { result, store } = mountWithIap(() => useEntitlement('remove-ads'), { grant: server.grant, onRevoked: (e) => revoked.push(e) })
    await store.whenReady()
    expect(result.isActive.value).toBe(true)
    sim.refund(order.orderId)
    await result.refresh()
    await result.refresh()
    expect(result.isActive.value).toBe(false)
    expect(revoked).toEqual([
      expect.objectContaining({ sku: 'remove-ads', reason: 'refunded', previous: expect.objectContaining({ isActive: true }) }),
    ])
  })

  it.each([
    ['EXPIRED', 'expired'],
    ['REVOKED', 'revoked'],
    ['ON_HOLD', 'inaccessible'],
  ] as const)('a subscription that turns %s becomes inactive with reason %s', async (status, reason) => {
    const revoked: RevokedEvent[] = []
    const { result, store } = mountWithIap(
      () => ({ subscribe: useSubscriptionPurchase('premium-monthly'), premium: useEntitlement('premium-monthly') }),
      { grant: server.grant, onRevoked: (e) => revoked.push(e) },
    )
    await store.whenReady()
    const outcome = await result.subscribe.purchase()
    await vi.waitFor(() => expect(result.premium.isActive.value).toBe(true))
    expect(result.premium.entitlement.value).toMatchObject({
      source: 'subscription',
      orderId: outcome.orderId,
      subscription: { status: 'ACTIVE', isAccessible: true, isAutoRenew: true, expiresAt: expect.any(String), gracePeriodExpiresAt: null },
    })
    sim.setSubscription(outcome.orderId!, { status })
    await result.premium.refresh()
    expect(result.premium.isActive.value).toBe(false)
    expect(result.premium.entitlement.value?.subscription?.status).toBe(status)
    expect(revoked.map((e) => e.reason)).toEqual([reason])
  })

  it('stays active through a grace period', async () => {
    const order = ownedBefore('premium-monthly')
    sim.setSubscription(order.orderId, { status: 'IN_GRACE_PERIOD', gracePeriodExpiresAt: new Date(Date.now() + 86_400_000).toISOString() })
    const { result, store } = mountWithIap(() => useEntitlement('premium-monthly'), { grant: server.grant })
    await store.whenReady()
    expect(result.isActive.value).toBe(true)
    expect(result.entitlement.value?.subscription?.status).toBe('IN_GRACE_PERIOD')
  })

  it('refreshes by itself when a subscription expires', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] })
    const order = ownedBefore('premium-monthly')
    sim.setSubscription(order.orderId, { expiresAt: new Date(Date.now() + 60_000).toISOString() })
    const revoked: RevokedEvent[] = []
    const { result, store } = mountWithIap(() => useEntitlement('premium-monthly'), {
      grant: server.grant,
      onRevoked: (e) => revoked.push(e),
    })
    await vi.waitFor(() => expect(store.isReady).toBe(true))
    await flushPromises()
    expect(result.isActive.value).toBe(true)
    sim.setSubscription(order.orderId, { status: 'EXPIRED' }) // Toss expires it on time
    const calls = sim.callsTo('getSubscriptionInfo').length
    vi.advanceTimersByTime(61_000)
    await vi.waitFor(() => expect(result.isActive.value).toBe(false))
    expect(sim.callsTo('getSubscriptionInfo').length).toBe(calls + 1)
    expect(revoked.map((e) => e.reason)).toEqual(['expired'])
  })

  it('lets the app server be the source of truth', async () => {
    ownedBefore('premium-monthly') // Toss says active …
    const source = vi.fn(async () => [{ sku: 'remove-ads', isActive: true, orderId: 'granted-elsewhere' }]) // … the server says otherwise
    const { result, store } = mountWithIap(() => ({ ads: useEntitlement('remove-ads'), premium: useEntitlement('premium-monthly') }), {
      grant: server.grant,
      entitlements: { source },
    })
    await store.whenReady()
    expect(result.ads.entitlement.value).toMatchObject({ isActive: true, source: 'server', orderId: 'granted-elsewhere' })
    expect(result.premium.entitlement.value).toMatchObject({ isActive: false, source: 'server' })
    expect(sim.callsTo('getCompletedOrRefundedOrders')).toHaveLength(0)
    expect(source).toHaveBeenCalledTimes(1)
  })

  it('keeps the last answer when the server source fails, and says why', async () => {
    let fail = false
    const { result, store } = mountWithIap(() => useEntitlement('remove-ads'), {
      grant: server.grant,
      entitlements: {
        source: async () => {
          if (fail) throw new Error('server down')
          return [{ sku: 'remove-ads', isActive: true }]
        },
      },
    })
    await store.whenReady()
    fail = true
    await result.refresh()
    expect(result.isActive.value).toBe(true)
    expect(result.error.value).toMatchObject({ code: 'UNKNOWN', cause: expect.objectContaining({ message: 'server down' }) })
  })

  it('gives a clear error for a sku the catalogue does not know, and for a consumable', async () => {
    const sku = ref('nope')
    const { result, store } = mountWithIap(() => useEntitlement(sku), { grant: server.grant })
    await store.whenReady()
    expect(result.error.value).toMatchObject({ code: 'INVALID_PRODUCT_ID', message: expect.stringContaining('nope') })
    expect(result.isActive.value).toBe(false)
    sku.value = 'gem-100'
    expect(result.error.value).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('consumable') })
    sku.value = 'remove-ads'
    expect(result.error.value).toBeNull()
  })

  it('consumables are never owned: the order events are where a balance refreshes', async () => {
    const balanceRefreshes: string[] = []
    const { result, store } = mountWithIap(() => ({ buy: usePurchase('gem-100'), owned: useEntitlementStore() }), {
      grant: server.grant,
      onOrderEvent: (e) => e.type === 'completed' && balanceRefreshes.push(e.order.sku),
    })
    await store.whenReady()
    await result.buy.purchase()
    expect(balanceRefreshes).toEqual(['gem-100'])
    expect(result.owned.entitlements['gem-100']).toBeUndefined()
  })

  it('paints a cached entitlement as stale until the refresh decides', async () => {
    const order = ownedBefore('remove-ads')
    const first = mountWithIap(() => useEntitlement('remove-ads'), { grant: server.grant })
    await first.store.whenReady()
    first.wrapper.unmount()
    sim.refund(order.orderId)
    sim.configure({ latency: 20 })
    const revoked: RevokedEvent[] = []
    const second = mountWithIap(() => useEntitlement('remove-ads'), { grant: server.grant, onRevoked: (e) => revoked.push(e) })
    expect(second.result.entitlement.value).toMatchObject({ isActive: true, isStale: true })
    expect(second.result.isStale.value).toBe(true)
    await second.store.whenReady()
    expect(second.result.entitlement.value).toMatchObject({ isActive: false, isStale: false })
    expect(revoked.map((e) => e.reason)).toEqual(['refunded'])
  })
})

describe('useSubscription', () => {
  it('reads the state of one subscription order', async () => {
    const order = ownedBefore('premium-monthly')
    const { result } = mountWithIap(() => useSubscription(order.orderId), {
      grant: server.grant,
      recovery: { onInstall: false },
      entitlements: { refreshOnInstall: false },
    })
    expect(result.isLoading.value).toBe(true)
    await flushPromises()
    expect(result.status.value).toBe('ACTIVE')
    expect(result.isAccessible.value).toBe(true)
    sim.setSubscription(order.orderId, { status: 'PAUSED' })
    await result.refresh()
    expect(result.status.value).toBe('PAUSED')
    expect(result.isAccessible.value).toBe(false)
  })

  it('treats {} and undefined as unknown, never as access', async () => {
    const order = ownedBefore('premium-monthly')
    sim.failNext('getSubscriptionInfo', { respond: {} })
    const { result } = mountWithIap(() => useSubscription(order.orderId), {
      grant: server.grant,
      recovery: { onInstall: false },
      entitlements: { refreshOnInstall: false },
    })
    await flushPromises()
    expect(result.info.value).toBeNull()
    expect(result.status.value).toBe('UNKNOWN')
    expect(result.isAccessible.value).toBe(false)
    sim.failNext('getSubscriptionInfo', { respond: undefined })
    await result.refresh()
    expect(result.isAccessible.value).toBe(false)
    expect(result.error.value).toBeNull()
  })

  it('follows a changing orderId and reports a host error', async () => {
    const a = ownedBefore('premium-monthly')
    const b = ownedBefore('premium-monthly')
    sim.setSubscription(b.orderId, { status: 'EXPIRED' })
    const id = ref<string | null>(null)
    const { result } = mountWithIap(() => useSubscription(id), {
      grant: server.grant,
      recovery: { onInstall: false },
      entitlements: { refreshOnInstall: false },
    })
    expect(result.status.value).toBe('UNKNOWN')
    id.value = a.orderId
    await flushPromises()
    expect(result.status.value).toBe('ACTIVE')
    id.value = b.orderId
    await flushPromises()
    expect(result.status.value).toBe('EXPIRED')
    sim.failNext('getSubscriptionInfo', { error: 'INTERNAL_ERROR' })
    await result.refresh()
    expect(result.error.value?.code).toBe('INTERNAL_ERROR')
    expect(result.status.value).toBe('EXPIRED') // the last good answer stays
  })
})

describe('useOrderHistory', () => {
  it('pages through several pages with { key }, without duplicates', async () => {
    reinstall({ historyPageSize: 3 })
    const ids = Array.from({ length: 8 }, () => ownedBefore('gem-100').orderId)
    const { result } = mountWithIap(() => useOrderHistory(), {
      grant: server.grant,
      recovery: { onInstall: false },
      entitlements: { refreshOnInstall: false },
    })
    await flushPromises()
    expect(result.orders.value).toHaveLength(3)
    expect(result.hasNext.value).toBe(true)
    await Promise.all([result.loadMore(), result.loadMore()]) // one call for both
    await result.loadMore()
    expect(result.hasNext.value).toBe(false)
    await result.loadMore() // nothing left: no call
    const calls = sim.callsTo('getCompletedOrRefundedOrders')
    expect(calls.map((c) => c.args)).toEqual([[], [{ key: 'page-3' }], [{ key: 'page-6' }]])
    expect(result.orders.value.map((o) => o.orderId)).toEqual([...ids].reverse())
    expect(new Set(result.orders.value.map((o) => o.orderId)).size).toBe(8)
  })

  it('picks up an order completed while it is shown', async () => {
    const { result } = mountWithIap(
      () => ({ history: useOrderHistory(), historyStore: useOrderHistoryStore(), buy: usePurchase('gem-100') }),
      {
        grant: server.grant,
        recovery: { onInstall: false },
        entitlements: { refreshOnInstall: false },
      },
    )
    await flushPromises()
    expect(result.history.orders.value).toEqual([])
    const outcome = await result.buy.purchase()
    await vi.waitFor(() => expect(result.history.orders.value.map((o) => o.orderId)).toEqual([outcome.orderId]))
    expect(result.historyStore.history.status).toBe('success')
  })

  it('shows refunds, and a refresh that fails keeps what was there', async () => {
    const a = ownedBefore('remove-ads')
    sim.refund(a.orderId)
    const { result } = mountWithIap(() => useOrderHistory(), {
      grant: server.grant,
      recovery: { onInstall: false },
      entitlements: { refreshOnInstall: false },
    })
    await flushPromises()
    expect(result.orders.value).toEqual([expect.objectContaining({ orderId: a.orderId, status: 'REFUNDED' })])
    sim.failNext('getCompletedOrRefundedOrders', { respond: undefined })
    await result.refresh()
    expect(result.error.value?.code).toBe('INVALID_RESPONSE')
    expect(result.orders.value).toHaveLength(1)
    sim.failNext('getCompletedOrRefundedOrders', { respond: {} })
    await result.refresh()
    expect(result.error.value).toBeNull()
    expect(result.orders.value).toEqual([])
  })
})
