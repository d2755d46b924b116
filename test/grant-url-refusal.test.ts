import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { grantViaEndpoint, isIapError, usePurchase } from '../src'
import { mountWithIap } from './helpers'
import { reinstall, sim } from './session'

// A production build whose grant URL is unusable in the Toss app (built from an unset
// VITE_API_URL, relative, or http:) would take payment for orders it can never grant. The page
// refuses to start such a payment, with a typed error, and says so once in the console.
describe('a grant URL that cannot reach the server from the Toss app', () => {
  const respond: typeof fetch = async () => Response.json({ ok: true })
  const page = location.href
  /** Where the page is served from: Toss serves an uploaded bundle from an https origin of its own. */
  const servedFrom = (url: string) => (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url)
  afterEach(() => {
    vi.restoreAllMocks()
    servedFrom(page)
  })

  async function buy(url: string) {
    const { result } = mountWithIap(() => usePurchase('gem-100'), {
      grant: grantViaEndpoint(url, { fetch: respond }),
      recovery: { onInstall: false, onVisible: false },
      cache: false,
    })
    const outcome = await result.purchase()
    await flushPromises()
    return outcome
  }

  it.each([
    ['toss', 'https://mini.apps.tossmini.com/', `${undefined}/api/iap/fulfill`],
    ['toss', 'https://mini.apps.tossmini.com/', '/api/iap/fulfill'],
    ['toss', 'https://mini.apps.tossmini.com/', 'http://api.example.com/api/iap/fulfill'],
    // Built from an unset variable, it reaches nothing from any page, a dev server's too.
    ['sandbox', 'http://192.168.0.10:5173/', `${undefined}/iap/fulfil`],
    ['toss', 'http://localhost:5173/', `${undefined}/iap/fulfill`],
    ['sandbox', 'https://mini.apps.tossmini.com/', 'api/iap/fulfill'],
  ] as const)('inside the %s app, on %s, %s: no payment, a typed error, one console line', async (environment, from, url) => {
    servedFrom(from)
    reinstall({ environment, appVersion: '5.250.0', os: 'android' })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const first = await buy(url)
    const second = await buy(url)
    for (const outcome of [first, second]) {
      expect(outcome.status).toBe('failed')
      expect(isIapError(outcome.error, 'INVALID_ARGUMENT')).toBe(true)
      expect(outcome.error!.message).toMatch(
        /no payment started: grantViaEndpoint.*cannot reach your server from the Toss app.*VITE_API_URL in .env.production/,
      )
    }
    expect(sim.orders).toEqual([]) // Toss never took payment
    expect(error).toHaveBeenCalledTimes(1)
    expect(String(error.mock.calls[0]![0])).toContain(url)
  })

  it.each([
    ['toss', 'https://mini.apps.tossmini.com/', 'https://api.example.com/api/iap/fulfill'],
    // A dev server's page (`vite dev` with the simulated host, `granite dev` in the sandbox app):
    // its own relative and http: URLs reach it.
    ['sandbox', 'http://192.168.0.10:5173/', 'http://192.168.0.10:5173/api/iap/fulfill'],
    ['toss', 'http://localhost:5173/', '/api/iap/fulfill'],
  ] as const)('inside the %s app, on %s, %s buys as usual', async (environment, from, url) => {
    servedFrom(from)
    reinstall({ environment, appVersion: '5.250.0', os: 'android' })
    const error = vi.spyOn(console, 'error')
    const outcome = await buy(url)
    expect(outcome.status).toBe('completed')
    expect(sim.orders.map((o) => o.completed)).toEqual([true])
    expect(error).not.toHaveBeenCalled()
  })
})
