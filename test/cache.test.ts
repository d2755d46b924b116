import { flushPromises } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { createCache, useProducts, type StorageLike } from '../src'
import { sim, server, reinstall, hostDefaults } from './session'
import { mountWithIap } from './helpers'

hostDefaults({ latency: 10 })

const quiet = { recovery: { onInstall: false, onVisible: false }, entitlements: { refreshOnInstall: false } }

/** One visit: mount, let the catalogue load, leave. */
async function visit() {
  const session = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet })
  await vi.waitFor(() => expect(session.result.status.value).toBe('success'))
  session.wrapper.unmount()
}

describe('the product cache', () => {
  it('shows the cached list at mount, before the bridge answers, and revalidates once', async () => {
    await visit()
    const calls = sim.callsTo('iapGetProductItemList').length
    const { result } = mountWithIap(() => Array.from({ length: 20 }, () => useProducts()), { grant: server.grant, ...quiet })
    // Synchronously, at mount:
    expect(result[0]!.products.value.map((p) => p.sku)).toEqual(['gem-100', 'remove-ads', 'premium-monthly'])
    expect(result[0]!.isStale.value).toBe(true)
    expect(result[0]!.isLoading.value).toBe(true)
    await vi.waitFor(() => expect(result[0]!.isStale.value).toBe(false))
    expect(sim.callsTo('iapGetProductItemList').length).toBe(calls + 1)
  })

  it('replaces the cached list with what Toss answers', async () => {
    await visit()
    reinstall({
      latency: 0,
      products: [{ sku: 'new', type: 'CONSUMABLE', displayName: 'New', displayAmount: '1원', iconUrl: '', description: '' }],
    })
    const { result } = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet })
    expect(result.products.value).toHaveLength(3)
    await flushPromises()
    expect(result.products.value.map((p) => p.sku)).toEqual(['new'])
    const second = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet })
    expect(second.result.products.value.map((p) => p.sku)).toEqual(['new'])
  })

  it.each([
    ['not JSON', '{not json'],
    ['another version', JSON.stringify({ v: 99, savedAt: Date.now(), value: [] })],
    ['the wrong shape', JSON.stringify({ v: 1, savedAt: Date.now(), value: { products: 'x' } })],
    ['a date in the future', JSON.stringify({ v: 1, savedAt: Date.now() + 86_400_000, value: [] })],
  ])('ignores a cache entry that is %s, and replaces it', async (_, raw) => {
    localStorage.setItem('vue-toss-iap:products', raw)
    const { result } = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet })
    expect(result.products.value).toEqual([])
    expect(result.isStale.value).toBe(false)
    await vi.waitFor(() => expect(result.products.value).toHaveLength(3))
    expect(JSON.parse(localStorage.getItem('vue-toss-iap:products')!)).toMatchObject({ v: 1, value: expect.any(Array) })
  })

  it('does not show a list older than the TTL', async () => {
    await visit()
    const entry = JSON.parse(localStorage.getItem('vue-toss-iap:products')!)
    const ageBy = (ms: number) => localStorage.setItem('vue-toss-iap:products', JSON.stringify({ ...entry, savedAt: entry.savedAt - ms }))
    ageBy(2 * 3_600_000)
    const within = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: { ttl: 3 * 3_600_000 } })
    expect(within.result.products.value).toHaveLength(3)
    within.wrapper.unmount()
    ageBy(2 * 3_600_000)
    const past = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: { ttl: 3_600_000 } })
    expect(past.result.products.value).toEqual([])
    expect(past.result.isLoading.value).toBe(true)
  })

  it('works with an async storage such as the Apps in Toss Storage', async () => {
    const data = new Map<string, string>()
    const storage: StorageLike = {
      getItem: async (k) => data.get(k) ?? null,
      setItem: async (k, v) => void data.set(k, v),
    }
    const first = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: { storage } })
    await vi.waitFor(() => expect(first.result.status.value).toBe('success'))
    first.wrapper.unmount()
    expect(data.has('vue-toss-iap:products')).toBe(true)
    const second = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: { storage } })
    expect(second.result.products.value).toEqual([]) // async: not yet
    await Promise.resolve()
    await Promise.resolve()
    expect(second.result.products.value).toHaveLength(3) // before the bridge answers (latency 10 ms)
    expect(second.result.isStale.value).toBe(true)
  })

  it('keeps its entries under the prefix it is given', async () => {
    const { result } = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: { prefix: 'shop-a:' } })
    await vi.waitFor(() => expect(result.status.value).toBe('success'))
    expect(localStorage.getItem('shop-a:products')).toContain('gem-100')
    expect(localStorage.getItem('vue-toss-iap:products')).toBeNull()
  })

  it('survives a storage that throws, and can be switched off', async () => {
    const broken: StorageLike = {
      getItem: () => {
        throw new Error('blocked')
      },
      setItem: () => {
        throw new Error('full')
      },
    }
    const { result } = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: { storage: broken } })
    await vi.waitFor(() => expect(result.products.value).toHaveLength(3))
    const off = mountWithIap(() => useProducts(), { grant: server.grant, ...quiet, cache: false })
    await vi.waitFor(() => expect(off.result.products.value).toHaveLength(3))
    expect(localStorage.getItem('vue-toss-iap:products')).toBeNull()
  })
})

describe('createCache', () => {
  it('reads synchronously from a synchronous storage', () => {
    const cache = createCache({ storage: localStorage })
    cache.write('x', { a: 1 })
    let seen: unknown
    cache.read(
      'x',
      (raw) => raw as { a: number },
      (e) => (seen = e.value),
    )
    expect(seen).toEqual({ a: 1 })
  })
})

describe('one load, one write', () => {
  it('100 components asking for the catalogue at once make 1 bridge call and 1 cache write', async () => {
    const writes: string[] = []
    const storage: StorageLike = { getItem: () => null, setItem: (key) => void writes.push(key) }
    const { result } = mountWithIap(() => Array.from({ length: 100 }, () => useProducts()), {
      grant: server.grant,
      ...quiet,
      cache: { storage },
    })
    await vi.waitFor(() => expect(result[99]!.status.value).toBe('success'))
    await flushPromises()
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(1)
    expect(writes).toEqual(['vue-toss-iap:products'])
  })
})
