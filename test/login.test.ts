// Toss login in the page: the real SDK's appLogin() against the simulated host, the login gate
// before payment, the session sent by grantViaEndpoint/entitlementsViaEndpoint, one renewal on 401.
// The app server here is a small stand-in with the server handlers' contract (test/server/login.test.ts
// tests the real handlers; the playground e2e runs both together).
import { afterEach, describe, expect, it } from 'vitest'
import { createTossLogin, entitlementsViaEndpoint, grantViaEndpoint, useTossLogin, usePurchase, type TossLogin } from '../src'
import { readSimulatedAuthorizationCode } from '../src/testing/loginCode'
import { mountWithIap } from './helpers'
import { reinstall, sim } from './session'

const noRecovery = { onInstall: false, onVisible: false }
const API = 'https://api.example'

/** The app server's contract: a code works once; sessions are `Bearer` tokens; 401 without one. */
function appServer() {
  const used = new Set<string>()
  const sessions = new Map<string, string>()
  const granted = new Map<string, string>()
  const requests: Array<{ path: string; authorization: string | null }> = []
  let n = 0
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const path = new URL(request.url).pathname
    const authorization = request.headers.get('Authorization')
    requests.push({ path, authorization })
    const user = sessions.get(authorization?.replace(/^Bearer /, '') ?? '')
    if (path === '/login') {
      const { authorizationCode, referrer } = (await request.json()) as { authorizationCode: string; referrer: string }
      const code = readSimulatedAuthorizationCode(authorizationCode)
      if (!code || used.has(authorizationCode) || code.referrer !== referrer) return json(401, { error: { code: 'LOGIN_REJECTED' } })
      used.add(authorizationCode)
      const token = `vti_${++n}`
      sessions.set(token, code.userKey)
      return json(200, { token, expiresAt: new Date(Date.now() + 3600_000).toISOString(), user: { userId: `app-${code.userKey}` } })
    }
    if (path === '/logout') {
      sessions.delete(authorization?.replace(/^Bearer /, '') ?? '')
      return json(200, { loggedOut: true })
    }
    if (!user) return json(401, { error: { code: 'UNAUTHENTICATED' } })
    if (path === '/fulfil') {
      const { orderId } = (await request.json()) as { orderId: string }
      if (!granted.has(orderId)) granted.set(orderId, user)
      return json(200, { granted: true, orderId })
    }
    return json(200, {
      entitlements: [...granted].filter(([, u]) => u === user).map(([orderId]) => ({ sku: 'remove-ads', isActive: true, orderId })),
    })
  }
  return {
    fetch: fetch as typeof globalThis.fetch,
    granted,
    requests,
    /** Ends every session, as an unlink or an expiry does. */
    forgetSessions: () => sessions.clear(),
    /** Logins the server took. */
    logins: () => requests.filter((r) => r.path === '/login').length,
  }
}

let login: TossLogin | undefined
afterEach(async () => {
  await login?.logout()
  sessionStorage.clear()
})

function setup(options: { requireLogin?: 'prompt' | 'refuse' | false; userKey?: string } = {}) {
  reinstall({ userKey: options.userKey ?? 'u-1' })
  const server = appServer()
  login = createTossLogin({
    endpoint: `${API}/login`,
    logoutEndpoint: `${API}/logout`,
    fetch: server.fetch,
    ...(options.requireLogin !== undefined && { requireLogin: options.requireLogin }),
  })
  const app = mountWithIap(() => ({ ...usePurchase('remove-ads'), auth: useTossLogin() }), {
    grant: grantViaEndpoint(`${API}/fulfil`, { fetch: server.fetch }),
    login,
    recovery: noRecovery,
    entitlements: { source: entitlementsViaEndpoint(`${API}/entitlements`, { fetch: server.fetch }), refreshOnInstall: false },
  })
  return { server, ...app }
}

describe('Toss login in the page', () => {
  it('logs in through appLogin() and the server, keeps the session for the tab, and signs every request with it', async () => {
    const { server, result } = setup()
    expect(result.auth.isLoggedIn.value).toBe(false)
    const outcome = await result.auth.login()
    expect(outcome.status).toBe('logged-in')
    expect(result.auth.user.value).toEqual({ userId: 'app-u-1' })
    expect(result.auth.status.value).toBe('logged-in')
    expect(sim.callsTo('appLogin' as never)).toHaveLength(1)
    expect(JSON.parse(sessionStorage.getItem('vue-toss-iap:session')!)).toMatchObject({ user: { userId: 'app-u-1' } })
    // A reload in the same tab: a new login object reads the kept session.
    expect(createTossLogin({ endpoint: `${API}/login`, fetch: server.fetch }).session()?.user.userId).toBe('app-u-1')

    const bought = await result.purchase()
    expect(bought.status).toBe('completed')
    expect(server.granted.get(bought.orderId!)).toBe('u-1')
    const fulfil = server.requests.find((r) => r.path === '/fulfil')!
    expect(fulfil.authorization).toBe(`Bearer ${login!.token()}`)
    await result.auth.logout()
    expect(result.auth.isLoggedIn.value).toBe(false)
    expect(sessionStorage.getItem('vue-toss-iap:session')).toBeNull()
    expect(server.requests.at(-1)).toMatchObject({ path: '/logout' })
  })

  it('logs in before the payment when nobody is logged in, and never pays when the login does not work', async () => {
    const { server, result } = setup()
    const first = await result.purchase()
    expect(first.status).toBe('completed')
    expect(server.logins()).toBe(1)
    expect(sim.callsTo('appLogin' as never).length).toBeLessThan(
      sim.calls.findIndex((c) => c.functionName === 'requestOneTimePurchase') + 1,
    )

    await result.auth.logout()
    sim.failNext('appLogin', { error: 'USER_CANCELED' })
    const canceled = await result.purchase()
    expect(canceled).toMatchObject({ status: 'canceled', error: { code: 'USER_CANCELED' } })
    sim.failNext('appLogin', { error: 'INTERNAL_ERROR' })
    const failed = await result.purchase()
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'LOGIN_REQUIRED' } })
    expect(sim.orders).toHaveLength(1) // the two refused purchases never reached payment
  })

  it("answers LOGIN_REQUIRED with requireLogin: 'refuse', and pays without a session with requireLogin: false", async () => {
    const refused = setup({ requireLogin: 'refuse' })
    expect(await refused.result.purchase()).toMatchObject({ status: 'failed', error: { code: 'LOGIN_REQUIRED' } })
    expect(sim.orders).toHaveLength(0)
    expect(sim.callsTo('appLogin' as never)).toHaveLength(0)
    refused.wrapper.unmount()
    const open = setup({ requireLogin: false })
    const outcome = await open.result.purchase()
    expect(outcome.status).toBe('pending') // paid, but the server answered 401: recovery grants it after a login
    expect(sim.orders).toHaveLength(1)
  })

  it('logs in again once when the server ends the session, and retries the grant once, never in a loop', async () => {
    const { server, result } = setup()
    await result.auth.login()
    server.forgetSessions()
    const outcome = await result.purchase()
    expect(outcome.status).toBe('completed')
    expect(server.logins()).toBe(2)
    expect(server.requests.filter((r) => r.path === '/fulfil')).toHaveLength(2)

    // A server that refuses every session: one renewal per request, then the order waits.
    const refuse = server.fetch
    const stubborn = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await refuse(input, init)
      if (new URL(new Request(input).url).pathname === '/fulfil') server.forgetSessions()
      return new URL(new Request(input).url).pathname === '/fulfil' ? new Response('{}', { status: 401 }) : response
    }) as typeof fetch
    const app2 = mountWithIap(() => usePurchase('gem-100'), {
      grant: grantViaEndpoint(`${API}/fulfil`, { fetch: stubborn }),
      login,
      recovery: noRecovery,
    })
    const before = server.logins()
    const pending = await app2.result.purchase()
    expect(pending.status).toBe('pending')
    expect(server.logins() - before).toBe(1)
  })

  it('reads entitlements with the session, renewing it once on 401', async () => {
    const { server, result, pinia } = setup()
    await result.auth.login()
    const bought = await result.purchase()
    server.forgetSessions()
    const { useEntitlementStore } = await import('../src')
    const entitlements = useEntitlementStore(pinia)
    await entitlements.refreshEntitlements()
    expect(entitlements.entitlementsError).toBeNull()
    expect(Object.values(entitlements.entitlements).map((e) => e.orderId)).toContain(bought.orderId)
    expect(server.logins()).toBe(2)
  })

  it('shares one login between calls made at once, and says clearly when the plugin has no login', async () => {
    const { result, server } = setup()
    const [a, b] = await Promise.all([result.auth.login(), result.auth.login()])
    expect(a).toBe(b)
    expect(server.logins()).toBe(1)
    expect(() => mountWithIap(() => useTossLogin(), { grant: () => true, recovery: noRecovery })).toThrow(/createTossIap\(\{ login/)
    expect(() => createTossLogin({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => createTossLogin({ endpoint: `${API}/login`, requireLogin: 'always' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })

  it('keeps the session in memory only with storage: false', async () => {
    reinstall({ userKey: 'u-memory' })
    const server = appServer()
    login = createTossLogin({ endpoint: `${API}/login`, fetch: server.fetch, storage: false })
    expect(await login.login()).toMatchObject({ status: 'logged-in' })
    expect(login.session()?.user.userId).toBe('app-u-memory')
    expect(sessionStorage.getItem('vue-toss-iap:session')).toBeNull()
    expect(createTossLogin({ endpoint: `${API}/login`, fetch: server.fetch, storage: false }).session()).toBeNull() // a reload forgets it
  })

  it('times out a login sheet that never answers', async () => {
    reinstall({ userKey: 'u-hang' })
    const server = appServer()
    login = createTossLogin({ endpoint: `${API}/login`, fetch: server.fetch, timeoutMs: 50 })
    sim.failNext('appLogin', 'hang')
    expect(await login.login()).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } })
  })
})
