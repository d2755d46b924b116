import { createDecipheriv } from 'node:crypto'
import { TossApiError } from './errors.js'
import { tossFailure } from './fulfilment.js'
import { tokenBucket } from './reconcile.js'
import { cors as corsFor, errorResponse, json, readJsonPost, toResponse, type CorsOptions } from './http.js'
import type { GrantLedger, GrantTransaction } from './ledger.js'
import type { TossLoginField, TossLoginTokens, TossPartnerClient } from './partnerClient.js'
import { bearerToken, type SessionAnswer, type SessionStore } from './sessions.js'
import { credentialMatches, digest, tokenOf } from './webhooks.js'

/** Who logged in, as Toss told the server: what `userIdFor` decides from. */
export interface TossLoginInfo {
  /** Toss's key for the user in this mini-app, as a string. Order-status is asked with it. */
  userKey: string
  /** `DEFAULT` in the Toss app, `SANDBOX` (or `sandbox`) in the sandbox app, as the page sent it. */
  referrer: string
  scope: string | null
  agreedTerms: string[]
  /** Personal fields, encrypted as Toss sent them (`decryptTossUserField`), `null` when not shared. */
  encrypted: Record<TossLoginField, string | null>
  /** Toss's tokens for this login. Not stored by vue-toss-iap: keep them yourself if you call Toss as the user later. */
  tokens: TossLoginTokens
}

export interface LoginHandlerOptions {
  toss: Pick<TossPartnerClient, 'generateToken' | 'getLoginUser'>
  ledger: GrantLedger
  sessions: SessionStore
  /**
   * The app's user id for a Toss user, in the login's transaction (create your user row through
   * `tx`: it commits with the session). Default: the `userKey` itself.
   */
  userIdFor?: (login: TossLoginInfo, tx: GrantTransaction) => string | Promise<string>
  /** Referrers accepted, compared without case. Default `['DEFAULT', 'SANDBOX']`; production servers may drop `SANDBOX`. */
  referrers?: readonly string[]
  cors?: CorsOptions
  /** Largest body read, in bytes. Default 4 KiB. */
  maxBodyBytes?: number
  /**
   * Logins this process sends to Toss per minute at most (a token bucket); past it the handler
   * answers 503 `TOSS_RATE_LIMITED` without calling Toss. Toss's rate limit (about 3,000 a minute per
   * mini-app) is shared with order-status, so a flood of made-up codes must not spend what grants
   * need. Default 1,200; `false` for none.
   */
  maxLoginsPerMinute?: number | false
  /** Told of every failure answered with a 5xx or a Toss refusal. Default: one `console.error` line (no code, token or key in it). */
  onError?: (error: unknown, context: { code: string }) => void
}

export type LoginHandler = (request: Request) => Promise<Response>

const defaultReport = (error: unknown, { code }: { code: string }) =>
  console.error(`vue-toss-iap/server: login ${code}: ${error instanceof Error ? error.message : String(error)}`)

const oneLine = (value: unknown, max: number) =>
  typeof value === 'string' && value !== '' && value.length <= max && !/[\s\p{Cc}]/u.test(value) ? value : null

/**
 * The login endpoint: the page posts `appLogin()`'s `{ authorizationCode, referrer }`; the server
 * exchanges the code with Toss, reads the `userKey`, and answers the app's own session
 * (`{ token, expiresAt, user }`). Toss's tokens never leave the server.
 */
export function createLoginHandler(options: LoginHandlerOptions): LoginHandler {
  const limit = options.maxBodyBytes ?? 4096
  const referrers = (options.referrers ?? ['DEFAULT', 'SANDBOX']).map((r) => r.toUpperCase())
  const report = options.onError ?? defaultReport
  const toReport = (error: unknown, context: { orderId: string | null; code: string }) => report(error, { code: context.code })
  if (options.maxLoginsPerMinute !== undefined && options.maxLoginsPerMinute !== false && !(options.maxLoginsPerMinute >= 2))
    throw new RangeError('vue-toss-iap/server: maxLoginsPerMinute must be at least 2 (or false)')
  const budget =
    options.maxLoginsPerMinute === false
      ? undefined
      : tokenBucket(options.maxLoginsPerMinute ?? 1200, { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })

  return async (request) => {
    const read = await readJsonPost(request, {
      cors: options.cors,
      limit,
      refused: 'this origin may not call the login endpoint',
      post: 'POST appLogin()’s answer as JSON',
    })
    if ('answer' in read) return read.answer
    const { headers, body } = read
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
    const authorizationCode = oneLine(b.authorizationCode, 4096)
    const referrer = oneLine(b.referrer, 32)
    if (!authorizationCode || !referrer)
      return errorResponse(400, 'INVALID_LOGIN', 'send { authorizationCode, referrer } as appLogin() gives them', headers)
    if (!referrers.includes(referrer.toUpperCase()))
      return errorResponse(403, 'LOGIN_REFERRER_NOT_ALLOWED', `this server does not take logins from ${referrer.slice(0, 32)}`, headers)

    if (budget && !budget.tryTake())
      return errorResponse(503, 'TOSS_RATE_LIMITED', 'too many logins right now; try again shortly', headers, {
        retryable: true,
        retryAfter: 5,
      })
    let tokens: TossLoginTokens
    try {
      tokens = await options.toss.generateToken({ authorizationCode, referrer })
    } catch (error) {
      if (error instanceof TossApiError && error.code === 'REJECTED') {
        report(error, { code: 'LOGIN_REJECTED' })
        return errorResponse(
          401,
          'LOGIN_REJECTED',
          'Toss refused the login code (used, expired or from another app): log in again',
          headers,
        )
      }
      return toResponse(tossFailure(error, null, Object.fromEntries(headers), toReport, 'generate-token'))
    }
    let login: TossLoginInfo
    try {
      const user = await options.toss.getLoginUser(tokens.accessToken)
      login = { ...user, referrer, tokens }
    } catch (error) {
      return toResponse(tossFailure(error, null, Object.fromEntries(headers), toReport, 'login-me'))
    }

    let session: { token: string; expiresAt: Date; userId: string }
    try {
      session = await options.ledger.transaction(async (tx) => {
        const userId = options.userIdFor ? await options.userIdFor(login, tx) : login.userKey
        if (typeof userId !== 'string' || userId === '' || userId.length > 256)
          throw new TypeError('vue-toss-iap/server: userIdFor must answer a user id of 1 to 256 characters')
        return { ...(await options.sessions.create({ userId, userKey: login.userKey, referrer }, tx)), userId }
      })
    } catch (error) {
      report(error, { code: 'LEDGER_UNAVAILABLE' })
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the session could not be stored', headers, { retryable: true })
    }
    const answer: SessionAnswer = { token: session.token, expiresAt: session.expiresAt.toISOString(), user: { userId: session.userId } }
    return json(200, answer, headers)
  }
}

export interface LogoutHandlerOptions {
  sessions: SessionStore
  /** When given, Toss is told too (remove-by-user-key): best effort, after the session has ended. */
  toss?: Pick<TossPartnerClient, 'removeAccessByUserKey'>
  cors?: CorsOptions
  onError?: (error: unknown, context: { code: string }) => void
}

/**
 * The logout endpoint: ends the caller's session (`Authorization: Bearer <token>`) and tells Toss.
 * Always answers `{ loggedOut: true }`: a session already ended, or none, is logged out as well.
 */
export function createLogoutHandler(options: LogoutHandlerOptions): (request: Request) => Promise<Response> {
  const report = options.onError ?? defaultReport
  return async (request) => {
    const { allowed, headers } = corsFor(request, options.cors, 'POST, OPTIONS')
    if (!allowed) return errorResponse(403, 'ORIGIN_NOT_ALLOWED', 'this origin may not call the logout endpoint', headers)
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers })
    if (request.method !== 'POST') {
      headers.set('Allow', 'POST, OPTIONS')
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'POST to log out', headers)
    }
    await request.body?.cancel().catch(() => {})
    const token = bearerToken(request)
    try {
      const session = await options.sessions.revoke(token, 'logout')
      if (session && options.toss)
        await options.toss.removeAccessByUserKey(session.userKey).catch((error: unknown) => report(error, { code: 'TOSS_LOGOUT_FAILED' }))
    } catch (error) {
      report(error, { code: 'LEDGER_UNAVAILABLE' })
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the session could not be ended; try again', headers, { retryable: true })
    }
    return json(200, { loggedOut: true }, headers)
  }
}

/** What the unlink callback told, as `onUnlink` gets it. */
export interface TossUnlink {
  userKey: string
  /** Why, as Toss said it (`UNLINK`, `WITHDRAWAL_TERMS`, `WITHDRAWAL_TOSS` are reported); `null` when absent. */
  referrer: string | null
  /** Sessions of the user this unlink ended. */
  sessionsEnded: number
}

export interface UnlinkHandlerOptions {
  ledger: GrantLedger
  sessions: SessionStore
  /** The `Authorization` value set for the unlink callback in the console (Basic or Bearer form). Several while one is replaced. */
  credential: string | readonly string[]
  /** Runs in the transaction that ends the sessions: delete what your terms say to delete. Throwing answers 500 and changes nothing. */
  onUnlink?: (unlink: TossUnlink, tx: GrantTransaction) => Promise<void> | void
  /** Largest body read, in bytes. Default 16 KiB. */
  maxBodyBytes?: number
  onError?: (error: unknown, context: { code: string }) => void
}

/** `userKey` and `referrer` from a query string, a form or a JSON body; a JSON number keeps every digit. */
function readUnlink(url: URL, text: string): { userKey: string | null; referrer: string | null; payload: Record<string, unknown> } {
  let payload: Record<string, unknown> = Object.fromEntries(url.searchParams)
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed.replace(/("userKey"\s*:\s*)(-?\d+)(?=\s*[,}])/g, '$1"$2"')) as unknown
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        payload = { ...payload, ...(parsed as Record<string, unknown>) }
    } catch {
      /* not JSON: nothing from the body */
    }
  } else if (trimmed !== '') payload = { ...payload, ...Object.fromEntries(new URLSearchParams(trimmed)) }
  const key = payload.userKey
  const userKey = typeof key === 'string' ? oneLine(key.trim(), 128) : null
  return { userKey, referrer: oneLine(payload.referrer, 64), payload }
}

/**
 * The endpoint for Toss login's unlink callback (연결 끊기, set in the console): ends every session
 * of that user. What the user owns is not touched: ownership follows the `userKey`, and an unlinked
 * user who logs in again owns the same orders. The request's exact shape is not published: a GET
 * query, a form or JSON with `userKey` (and `referrer`) are all read, and every call is stored.
 */
export function createUnlinkHandler(options: UnlinkHandlerOptions): (request: Request) => Promise<Response> {
  const list = typeof options.credential === 'string' ? [options.credential] : [...options.credential]
  const tokens = list.map(tokenOf)
  if (tokens.length === 0 || tokens.some((t) => t === ''))
    throw new TypeError('vue-toss-iap/server: createUnlinkHandler needs the credential set in the console')
  const expected = tokens.map(digest)
  const limit = options.maxBodyBytes ?? 16 * 1024
  const report = options.onError ?? defaultReport
  return async (request) => {
    const headers = new Headers({ 'Cache-Control': 'no-store' })
    if (request.method !== 'POST' && request.method !== 'GET') {
      headers.set('Allow', 'GET, POST')
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'Toss calls the unlink callback with GET or POST', headers)
    }
    if (!credentialMatches(request.headers.get('Authorization'), expected)) {
      await request.body?.cancel().catch(() => {})
      headers.set('WWW-Authenticate', 'Basic realm="vue-toss-iap unlink"')
      return errorResponse(401, 'UNAUTHENTICATED', 'the Authorization value does not match the one set in the console', headers)
    }
    let text = ''
    if (request.method === 'POST') {
      const declared = Number(request.headers.get('Content-Length') ?? NaN)
      const buffer = declared > limit ? null : new Uint8Array(await request.arrayBuffer())
      if (!buffer || buffer.byteLength > limit)
        return errorResponse(413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`, headers)
      text = new TextDecoder().decode(buffer)
    }
    const { userKey, referrer, payload } = readUnlink(new URL(request.url, 'http://localhost'), text)
    if (!userKey) return errorResponse(400, 'INVALID_EVENT', 'userKey is required', headers)
    let sessionsEnded: number
    try {
      sessionsEnded = await options.ledger.transaction(async (tx) => {
        const n = await options.sessions.revokeUserKey(userKey, `unlink${referrer ? `:${referrer}` : ''}`, tx)
        await tx.query(`INSERT INTO toss_iap_unlinks (user_key, referrer, payload, sessions_ended) VALUES ($1, $2, $3, $4)`, [
          userKey,
          referrer,
          JSON.stringify(payload),
          n,
        ])
        if (options.onUnlink) await options.onUnlink({ userKey, referrer, sessionsEnded: n }, tx)
        return n
      })
    } catch (error) {
      report(error, { code: 'UNLINK_FAILED' })
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the unlink could not be recorded; Toss may call again', headers, { retryable: true })
    }
    return json(200, { received: true, sessionsEnded }, headers)
  }
}

/**
 * Decrypts one personal field of login-me (`name`, `phone`, …): AES-256-GCM over base64 of a
 * 12-byte IV, the ciphertext and a 16-byte tag, with the key and AAD the console sends. Never
 * needed for purchases. Throws a `TypeError` that names no key material when it cannot.
 */
export function decryptTossUserField(value: string, { key, aad }: { key: string | Uint8Array; aad: string }): string {
  const secret = typeof key === 'string' ? Buffer.from(key, 'base64') : Buffer.from(key)
  if (secret.length !== 32) throw new TypeError('vue-toss-iap/server: the decryption key must be 32 bytes (base64 as the console sends it)')
  const data = Buffer.from(value, 'base64')
  if (data.length < 12 + 16) throw new TypeError('vue-toss-iap/server: the field is too short to be encrypted by Toss')
  try {
    const decipher = createDecipheriv('aes-256-gcm', secret, data.subarray(0, 12))
    decipher.setAAD(Buffer.from(aad, 'utf8'))
    decipher.setAuthTag(data.subarray(data.length - 16))
    return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]).toString('utf8')
  } catch {
    throw new TypeError('vue-toss-iap/server: the field could not be decrypted (another key or AAD, or a changed value)')
  }
}
