// useBalance in the page (#22): the real SDK against the simulated host buys gem-100, and a small
// stand-in app server with the balance and spend handlers' contract (test/server/balance.test.ts
// tests the real handlers) credits and spends it.
import { flushPromises } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { watch } from 'vue'
import {
  balanceViaEndpoint,
  createTossLogin,
  grantViaEndpoint,
  useBalance,
  useBalanceStore,
  usePurchase,
  useTossLogin,
  type BalanceSource,
} from '../src'
import { en, ko } from '../src/messages'
import { readSimulatedAuthorizationCode } from '../src/testing/loginCode'
import { mountWithIap } from './helpers'
import { reinstall } from './session'

const API = 'https://api.example'
const noRecovery = { onInstall: false, onVisible: false }

/** The handlers' contract: gem-100 credits 100 gems once per order; a spend applies once per key. */
function appServer() {
  let gems = 0
  const granted = new Set<string>()
  const keys = new Map<string, { amount: number; balance: number }>()
  const spends: Array<{ key: string | null; amount: number }> = []
  /** Spend requests whose answer is lost after the spend was applied (the page sees a network error). */
  let dropAnswers = 0
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const path = new URL(request.url).pathname
    if (path === '/fulfil') {
      const { orderId, sku } = (await request.json()) as { orderId: string; sku: string }
      if (!granted.has(orderId) && sku === 'gem-100') gems += 100
      granted.add(orderId)
      return json(200, { granted: true, orderId, sku, repeat: false })
    }
    if (path === '/balance') return json(200, { balances: { gems } })
    const key = request.headers.get('Idempotency-Key')
    const { amount } = (await request.json()) as { amount: number }
    spends.push({ key, amount })
    let answer: Response
    const first = key && keys.get(key)
    if (first) answer = json(200, { spent: true, currency: 'gems', amount, balance: first.balance, repeat: true })
    else if (gems < amount) answer = json(409, { error: { code: 'INSUFFICIENT_BALANCE', message: 'short', retryable: false } })
    else {
      gems -= amount
      keys.set(key!, { amount, balance: gems })
      answer = json(200, { spent: true, currency: 'gems', amount, balance: gems, repeat: false })
    }
    if (dropAnswers > 0) {
      dropAnswers--
      throw new TypeError('Failed to fetch')
    }
    return answer
  }
  return {
    fetch: fetch as typeof globalThis.fetch,
    spends,
    gems: () => gems,
    setGems: (n: number) => void (gems = n),
    dropNextAnswers: (n: number) => void (dropAnswers = n),
  }
}

function setup(server = appServer(), storage: Storage | false = localStorage) {
  const balance = balanceViaEndpoint({ balance: `${API}/balance`, spend: `${API}/spend` }, { fetch: server.fetch, retryDelayMs: 0 })
  const app = mountWithIap(() => ({ gems: useBalance('gems'), buy: usePurchase('gem-100') }), {
    grant: grantViaEndpoint(`${API}/fulfil`, { fetch: server.fetch }),
    recovery: noRecovery,
    balance,
    cache: storage === false ? false : { storage },
  })
  return { server, ...app }
}

describe('useBalance', () => {
  it('shows the last known balance at once, then the server’s, and refreshes after a completed purchase', async () => {
    localStorage.clear()
    const server = appServer()
    server.setGems(30)
    const first = setup(server)
    expect(first.result.gems.balance.value).toBeNull() // nothing known yet
    await flushPromises()
    expect(first.result.gems.balance.value).toBe(30)
    first.wrapper.unmount()
    server.setGems(45) // changed elsewhere meanwhile
    const again = setup(server)
    expect(again.result.gems.balance.value).toBe(30) // at once, from the cache
    await flushPromises()
    expect(again.result.gems.balance.value).toBe(45)
    const bought = await again.result.buy.purchase()
    expect(bought.status).toBe('completed')
    await flushPromises()
    expect(again.result.gems.balance.value).toBe(145)
    expect(again.result.gems.status.value).toBe('success')
  })

  it('spends once on a double tap, and once when the answer is lost and the spend is retried with its key', async () => {
    const { server, result } = setup(appServer(), false)
    server.setGems(100)
    await flushPromises()
    const [a, b] = await Promise.all([result.gems.spend(10, 'sword'), result.gems.spend(10, 'sword')])
    expect(a).toEqual({ status: 'spent', balance: 90, repeat: false, error: null })
    expect(b).toBe(a)
    expect(server.spends).toHaveLength(1)
    // The server applied the spend, but its answer never arrived: the retry carries the same key.
    server.dropNextAnswers(1)
    const retried = await result.gems.spend(5, 'potion')
    expect(retried).toEqual({ status: 'spent', balance: 85, repeat: true, error: null })
    expect(server.spends.slice(1).map((s) => s.key)).toEqual([server.spends[1]!.key, server.spends[1]!.key])
    expect(server.gems()).toBe(85)
    // A new tap is a new spend, with a new key.
    await result.gems.spend(5, 'potion')
    expect(new Set(server.spends.map((s) => s.key)).size).toBe(3)
    await flushPromises()
    expect(result.gems.balance.value).toBe(80)
    expect(result.gems.isSpending.value).toBe(false)
  })

  it('answers INSUFFICIENT_BALANCE with a message in Korean and English, and spends nothing', async () => {
    const { server, result } = setup(appServer(), false)
    server.setGems(3)
    await flushPromises()
    const outcome = await result.gems.spend(5, 'sword')
    expect(outcome).toMatchObject({ status: 'insufficient', error: { code: 'INSUFFICIENT_BALANCE' } })
    expect(server.gems()).toBe(3)
    expect(ko.errors.INSUFFICIENT_BALANCE).toBe('잔액이 부족해요. 충전한 뒤 다시 시도해 주세요.')
    expect(en.serverErrors.INSUFFICIENT_BALANCE).toMatch(/Not enough balance/)
  })

  it('gives up after its attempts with a failed outcome, never a rejection, and a visible store', async () => {
    const down: BalanceSource = balanceViaEndpoint(
      { balance: `${API}/balance`, spend: `${API}/spend` },
      { fetch: (async () => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch, retryDelayMs: 0, attempts: 2 },
    )
    const app = mountWithIap(() => useBalance('gems'), { grant: async () => true, recovery: noRecovery, balance: down, cache: false })
    const outcome = await app.result.spend(1, 'x')
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'NETWORK_ERROR' } })
    await flushPromises()
    expect(app.result.status.value).toBe('error')
    expect(app.result.balance.value).toBeNull()
    expect(useBalanceStore(app.pinia).$id).toBe('toss-iap-balance')
  })

  it("keeps the last known balance per user: the next user of the device never sees the last one's", async () => {
    localStorage.clear()
    const gems: Record<string, number> = { 'app-u-1': 30, 'app-u-2': 7 }
    const sessions = new Map<string, string>()
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init)
      if (new URL(request.url).pathname === '/login') {
        const { authorizationCode } = (await request.json()) as { authorizationCode: string }
        const userId = `app-${readSimulatedAuthorizationCode(authorizationCode)!.userKey}`
        const token = `vti_${sessions.size + 1}`
        sessions.set(token, userId)
        return json({ token, expiresAt: new Date(Date.now() + 3600_000).toISOString(), user: { userId } })
      }
      const user = sessions.get(request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? '')
      return user ? json({ balances: { gems: gems[user] } }) : json({ error: { code: 'UNAUTHENTICATED' } }, 401)
    }) as typeof globalThis.fetch
    const open = (userKey: string) => {
      reinstall({ userKey })
      const login = createTossLogin({ endpoint: `${API}/login`, fetch, storage: false })
      const balance = balanceViaEndpoint({ balance: `${API}/balance`, spend: `${API}/spend` }, { fetch })
      return mountWithIap(() => ({ gems: useBalance('gems'), auth: useTossLogin() }), {
        grant: async () => true,
        recovery: noRecovery,
        login,
        balance,
      })
    }
    const first = open('u-1')
    await first.result.auth.login()
    await flushPromises()
    expect(first.result.gems.balance.value).toBe(30)
    await first.result.auth.logout()
    expect(first.result.gems.balance.value).toBeNull() // logged out: nobody's balance
    first.wrapper.unmount()

    const second = open('u-2')
    await flushPromises()
    expect(second.result.gems.balance.value).toBeNull() // not logged in: u-1's 30 is not shown
    const shown: Array<number | null> = []
    const stop = watchValues(second.result.gems.balance, shown)
    await second.result.auth.login()
    await flushPromises()
    stop()
    expect(second.result.gems.balance.value).toBe(7)
    expect(shown).not.toContain(30)
  })

  it('says how to install it when the plugin has no balance source', () => {
    expect(() => mountWithIap(() => useBalance('gems'), { grant: async () => true, recovery: noRecovery })).toThrow(/balanceViaEndpoint/)
  })
})

/** Records every value a ref takes until stopped. */
function watchValues<T>(source: { value: T }, into: T[]): () => void {
  return watch(
    () => source.value,
    (v) => void into.push(v),
    { flush: 'sync' },
  )
}
