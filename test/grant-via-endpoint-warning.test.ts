import { afterEach, describe, expect, it, vi } from 'vitest'
import { grantViaEndpoint } from '../src'
import { reinstall, sim } from './session'

// In production the page is served from a Toss-hosted origin: a relative URL reaches Toss's host.
describe('grantViaEndpoint with a relative URL', () => {
  const order = { orderId: 'o-1', sku: 'gem-100', kind: 'one-time', source: 'purchase' } as const
  const ok: typeof fetch = async () => new Response(null, { status: 204 })
  afterEach(() => vi.restoreAllMocks())

  it.each(['toss', 'sandbox'] as const)('warns once per URL inside the %s app, naming the fix', async (environment) => {
    reinstall({ environment })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const url = `/api/iap/fulfill-${environment}`
    const grant = grantViaEndpoint(url, { fetch: ok })
    await grant(order)
    await grant(order)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0]![0]).toMatch(
      /relative URL inside the Toss app.*absolute URL.*https:\/\/api\.example\.com\/api\/iap\/fulfill/s,
    )
  })

  it('stays quiet for an absolute URL, and in a plain browser', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    await grantViaEndpoint('https://api.example.com/iap/fulfil', { fetch: ok })(order)
    sim.uninstall()
    await grantViaEndpoint('/api/iap/plain-browser', { fetch: ok })(order)
    expect(warn).not.toHaveBeenCalled()
  })
})
