import { appLogin } from '@apps-in-toss/web-framework'
import { isCancellation, IapError, toIapError } from './errors.js'
import type { PurchaseResult } from './purchase.js'
import { setSessionSource } from './session.js'
import { timeoutError, withTimeout } from './timing.js'

/** The app's own session, as the server's login handler answers it. */
export interface TossLoginSession {
  /** Sent as `Authorization: Bearer <token>` by `grantViaEndpoint` and `entitlementsViaEndpoint`. */
  token: string
  /** When the session ends if unused, ms since the epoch (the server renews it on each use). */
  expiresAt: number
  user: { userId: string }
}

/** How a `login()` ended. Never rejects. */
export type TossLoginOutcome =
  | { status: 'logged-in'; session: TossLoginSession; error: null }
  /** The user closed the login sheet (`USER_CANCELED`), or the call was aborted. */
  | { status: 'canceled'; session: null; error: IapError }
  | { status: 'failed'; session: null; error: IapError }

type SessionStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

export interface TossLoginOptions {
  /** The server's login handler, by its absolute URL (`createLoginHandler` of `vue-toss-iap/server`). */
  endpoint: string | URL
  /** The server's logout handler (`createLogoutHandler`); without it `logout()` only forgets the session here. */
  logoutEndpoint?: string | URL
  /** Where the session is kept for the tab. Default `sessionStorage`; `false` keeps it in memory only. */
  storage?: SessionStorage | false
  /** Default `'vue-toss-iap:session'`. */
  storageKey?: string
  /** How long the Toss login sheet may stay up. Default 3 minutes. */
  timeoutMs?: number
  /** As for `grantViaEndpoint`. Default `'include'`. */
  credentials?: RequestCredentials
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch
  /**
   * What a purchase does when nobody is logged in, so that nobody pays and is then refused by the
   * server: `'prompt'` (default) logs in first, `'refuse'` answers `LOGIN_REQUIRED`, `false` lets
   * the purchase go on.
   */
  requireLogin?: 'prompt' | 'refuse' | false
}

/** Toss login for the page: `appLogin()`, the app server's session, renewal, logout. */
export interface TossLogin {
  /** The live session, or `null` (none, or expired). */
  session(): TossLoginSession | null
  /** The session's token while it is live. */
  token(): string | null
  /**
   * Logs in: the Toss login sheet (`appLogin()`, with a timeout), then the code to the server's
   * login handler. Calls made while one runs share it. Never rejects.
   */
  login(): Promise<TossLoginOutcome>
  /** Ends the session here and on the server. Never rejects. */
  logout(): Promise<void>
  /**
   * Logs in again once the server refused the session (401): one login for every caller at that
   * moment, `true` when it worked. `grantViaEndpoint` retries its request once after it.
   */
  renew(): Promise<boolean>
  /** Hears every change of the session; returns the unsubscribe. */
  subscribe(listener: (session: TossLoginSession | null) => void): () => void
  /** The plugin's gate before each payment (see `requireLogin`): a result ends the purchase unpaid. */
  readonly beforePurchase: (() => Promise<PurchaseResult | null>) | undefined
}

const readSession = (value: unknown): TossLoginSession | null => {
  const v = value as { token?: unknown; expiresAt?: unknown; user?: { userId?: unknown } } | null
  const expiresAt = typeof v?.expiresAt === 'string' ? Date.parse(v.expiresAt) : typeof v?.expiresAt === 'number' ? v.expiresAt : NaN
  if (typeof v?.token !== 'string' || v.token === '' || !Number.isFinite(expiresAt) || typeof v.user?.userId !== 'string') return null
  return { token: v.token, expiresAt, user: { userId: v.user.userId } }
}

/**
 * Toss login, framework-free (`useTossLogin()` is its Vue face). Give it to `createTossIap({ login })`.
 * From its creation, `grantViaEndpoint` and `entitlementsViaEndpoint` send its session by
 * themselves (unless given their own `Authorization`): one login per page.
 */
export function createTossLogin(options: TossLoginOptions): TossLogin {
  if (typeof options?.endpoint !== 'string' && !(options?.endpoint instanceof URL))
    throw new IapError('INVALID_ARGUMENT', 'createTossLogin needs the endpoint of the server’s login handler')
  const requireLogin = options.requireLogin ?? 'prompt'
  if (requireLogin !== false && requireLogin !== 'prompt' && requireLogin !== 'refuse')
    throw new IapError('INVALID_ARGUMENT', "requireLogin must be 'prompt', 'refuse' or false")
  const timeoutMs = options.timeoutMs ?? 180_000
  if (!(timeoutMs > 0)) throw new IapError('INVALID_ARGUMENT', 'timeoutMs must be a number of milliseconds above 0')
  const key = options.storageKey ?? 'vue-toss-iap:session'
  const storage =
    options.storage === false ? undefined : (options.storage ?? (typeof sessionStorage === 'undefined' ? undefined : sessionStorage))
  const listeners = new Set<(session: TossLoginSession | null) => void>()
  let current: TossLoginSession | null = null
  try {
    current = readSession(JSON.parse(storage?.getItem(key) ?? 'null'))
  } catch {
    // a corrupt saved session is no session
  }
  const set = (session: TossLoginSession | null) => {
    current = session
    try {
      if (session) storage?.setItem(key, JSON.stringify(session))
      else storage?.removeItem(key)
    } catch {
      // storage full or blocked: the session lives in memory for this page
    }
    for (const listener of [...listeners]) {
      try {
        listener(session)
      } catch (error) {
        console.error('[vue-toss-iap] a login listener threw:', error)
      }
    }
  }
  const live = () => (current && current.expiresAt > Date.now() ? current : null)
  const post = (url: string | URL, init: RequestInit) =>
    (options.fetch ?? fetch)(url, { credentials: options.credentials ?? 'include', redirect: 'manual', ...init })

  async function run(): Promise<TossLoginOutcome> {
    let code: { authorizationCode?: unknown; referrer?: unknown }
    try {
      code = await withTimeout(
        Promise.resolve().then(() => appLogin()),
        timeoutMs,
        () => {
          throw timeoutError('the Toss login sheet', timeoutMs)
        },
      )
    } catch (error) {
      const e = toIapError(error, { during: 'appLogin' })
      return { status: isCancellation(e) ? 'canceled' : 'failed', session: null, error: e }
    }
    if (typeof code?.authorizationCode !== 'string' || typeof code.referrer !== 'string')
      return {
        status: 'failed',
        session: null,
        error: new IapError('INVALID_RESPONSE', 'appLogin() answered without an authorization code'),
      }
    let response: Response
    try {
      response = await post(options.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ authorizationCode: code.authorizationCode, referrer: code.referrer }),
      })
    } catch (error) {
      return {
        status: 'failed',
        session: null,
        error: new IapError('NETWORK_ERROR', 'the login endpoint could not be reached', { cause: error }),
      }
    }
    const body: unknown = await response.json().catch(() => null)
    const session = response.ok ? readSession(body) : null
    if (!session) {
      const said = (body as { error?: { code?: unknown } } | null)?.error?.code
      return {
        status: 'failed',
        session: null,
        error: new IapError(
          response.status >= 500 || response.status === 0 ? 'NETWORK_ERROR' : 'LOGIN_REQUIRED',
          `the login endpoint answered ${response.status || 'a redirect'}${typeof said === 'string' ? ` ${said.slice(0, 40)}` : ''}`,
        ),
      }
    }
    set(session)
    return { status: 'logged-in', session, error: null }
  }

  let running: Promise<TossLoginOutcome> | null = null
  const login = () => (running ??= run().finally(() => (running = null)))

  const self: TossLogin = {
    session: live,
    token: () => live()?.token ?? null,
    login,
    async logout() {
      const token = live()?.token
      set(null)
      if (token && options.logoutEndpoint)
        await post(options.logoutEndpoint, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined)
    },
    async renew() {
      const stale = current?.token
      const outcome = await login()
      return outcome.status === 'logged-in' && outcome.session.token !== stale
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    beforePurchase: requireLogin
      ? async () => {
          if (live()) return null
          if (requireLogin === 'refuse')
            return { status: 'failed', error: new IapError('LOGIN_REQUIRED', 'log in with Toss before buying') }
          const outcome = await login()
          if (outcome.status === 'logged-in') return null
          return outcome.status === 'canceled'
            ? { status: 'canceled', error: outcome.error }
            : {
                status: 'failed',
                error: new IapError('LOGIN_REQUIRED', `the login before the purchase failed: ${outcome.error.message}`, {
                  cause: outcome.error,
                }),
              }
        }
      : undefined,
  }
  // The endpoints (grantViaEndpoint, entitlementsViaEndpoint) sign their requests with the page's login.
  setSessionSource(self)
  return self
}
