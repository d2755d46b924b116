import { createCipheriv, randomBytes } from 'node:crypto'
import type { TossLoginField } from '../server/partnerClient.js'
import { readSimulatedAuthorizationCode, simulatedAuthorizationCode } from './loginCode.js'

/** The five Toss login calls, by the last part of their path. */
export type FakeLoginCall = 'generate-token' | 'refresh-token' | 'login-me' | 'remove-by-access-token' | 'remove-by-user-key'

/** What the next login requests get instead of the truth. */
export type FakeLoginFault =
  /** This HTTP status (`429`, `500`, …), with a `Retry-After` in seconds when given. */
  | { http: number; retryAfter?: number }
  /** A `400` with `resultType: 'FAIL'` and this `errorCode`. */
  | { fail: string }
  /** Answers normally after this many ms. */
  | { delayMs: number }
  /** Closes the connection without an answer. */
  | 'drop'

export interface FakeTossLoginOptions {
  /** How long a code works. Default 10 minutes, as Toss's. */
  codeTtlMs?: number
  /** How long an access token works. Default 1 hour, as Toss's. */
  accessTokenTtlMs?: number
  /** How long a refresh token works. Default 14 days. */
  refreshTokenTtlMs?: number
  /** login-me sends `userKey` as a JSON number when it is all digits, as Toss's own sample types it. Default `true`. */
  userKeyAsNumber?: boolean
  /** The personal-field key and AAD (what the console emails). Default: made up for this fake, see `decryption`. */
  decryption?: { key: Buffer; aad: string }
}

export interface FakeLoginRequest {
  at: number
  call: FakeLoginCall
  /** What was answered: an HTTP status, or a fault. */
  answer: number | 'drop' | 'slow'
}

/** The login half of the fake partner API (see `startFakeTossPartnerApi`). */
export interface FakeTossLogin {
  /** A code as `appLogin()` gives it, for `userKey`: works once, within `codeTtlMs`. */
  issueAuthorizationCode(user: {
    userKey: string
    referrer?: 'DEFAULT' | 'SANDBOX'
    profile?: Partial<Record<TossLoginField, string>>
  }): string
  /** Personal fields login-me sends (encrypted) for this user; others are `null`. */
  setProfile(userKey: string, profile: Partial<Record<TossLoginField, string>>): void
  /** The next `times` requests (of `call` only, when given) get `fault`. */
  failNext(fault: FakeLoginFault, times?: number, call?: FakeLoginCall): void
  clearFaults(): void
  /** Access tokens of this user that still work. */
  activeAccessTokens(userKey: string): number
  /** The key and AAD personal fields are encrypted with: hand them to `decryptTossUserField`. */
  readonly decryption: { key: Buffer; aad: string }
  /** Login requests answered, oldest first. */
  readonly requests: readonly FakeLoginRequest[]
}

export interface FakeLoginAnswer {
  status: number
  body?: string
  headers?: Record<string, string>
  /** Answer after this many ms. */
  delayMs?: number
  drop?: boolean
}

interface Token {
  userKey: string
  expiresAt: number
  revoked: boolean
}

const random = () => randomBytes(24).toString('base64url')
const fail = (status: number, errorCode: string, reason: string): FakeLoginAnswer => ({
  status,
  body: JSON.stringify({ resultType: 'FAIL', error: { errorCode, reason } }),
})
const ok = (success: unknown): FakeLoginAnswer => ({ status: 200, body: JSON.stringify({ resultType: 'SUCCESS', success }) })

/** The fake's login state and answers; the partner API routes `…/user/oauth2/…` here. */
export function createFakeLogin(options: FakeTossLoginOptions, now: () => number) {
  const codeTtl = options.codeTtlMs ?? 10 * 60_000
  const accessTtl = options.accessTokenTtlMs ?? 3600_000
  const refreshTtl = options.refreshTokenTtlMs ?? 14 * 86_400_000
  const decryption = options.decryption ?? { key: randomBytes(32), aad: 'vue-toss-iap-fake' }
  const codes = new Map<string, { userKey: string; referrer: string; expiresAt: number }>()
  const used = new Set<string>()
  const access = new Map<string, Token>()
  const refresh = new Map<string, Token>()
  const profiles = new Map<string, Partial<Record<TossLoginField, string>>>()
  const queue: Array<{ fault: FakeLoginFault; times: number; call?: FakeLoginCall }> = []
  const requests: FakeLoginRequest[] = []

  const encrypt = (text: string) => {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', decryption.key, iv)
    cipher.setAAD(Buffer.from(decryption.aad, 'utf8'))
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64')
  }
  const tokenPair = (userKey: string) => {
    const accessToken = random()
    const refreshToken = random()
    access.set(accessToken, { userKey, expiresAt: now() + accessTtl, revoked: false })
    refresh.set(refreshToken, { userKey, expiresAt: now() + refreshTtl, revoked: false })
    return ok({ accessToken, refreshToken, expiresIn: Math.round(accessTtl / 1000), tokenType: 'Bearer', scope: 'user_key' })
  }
  const live = (map: Map<string, Token>, token: string | undefined) => {
    const t = token === undefined ? undefined : map.get(token)
    return t && !t.revoked && t.expiresAt > now() ? t : undefined
  }
  const bearer = (header: string | undefined) => header?.replace(/^Bearer\s+/i, '').trim()

  function truth(call: FakeLoginCall, method: string, authorization: string | undefined, text: string): FakeLoginAnswer {
    if ((call === 'login-me') !== (method === 'GET'))
      return fail(405, 'METHOD_NOT_ALLOWED', `${call} takes ${call === 'login-me' ? 'GET' : 'POST'}`)
    let body: Record<string, unknown> = {}
    if (method === 'POST') {
      try {
        const parsed: unknown = JSON.parse(text.replace(/("userKey"\s*:\s*)(\d+)/g, '$1"$2"'))
        if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
      } catch {
        return fail(400, 'INVALID_REQUEST', 'the body is not JSON')
      }
    }
    switch (call) {
      case 'generate-token': {
        const code = typeof body.authorizationCode === 'string' ? body.authorizationCode : ''
        const referrer = typeof body.referrer === 'string' ? body.referrer.toUpperCase() : ''
        const sim = readSimulatedAuthorizationCode(code)
        const known = codes.get(code) ?? (sim && { userKey: sim.userKey, referrer: sim.referrer, expiresAt: sim.issuedAt + codeTtl })
        if (!known) return fail(400, 'INVALID_AUTHORIZATION_CODE', 'no such authorization code')
        if (used.has(code)) return fail(400, 'INVALID_AUTHORIZATION_CODE', 'the authorization code was used already')
        if (known.expiresAt <= now()) return fail(400, 'EXPIRED_AUTHORIZATION_CODE', 'the authorization code expired')
        if (referrer !== known.referrer) return fail(400, 'INVALID_REFERRER', 'the referrer does not match the code')
        used.add(code)
        return tokenPair(known.userKey)
      }
      case 'refresh-token': {
        const token = typeof body.refreshToken === 'string' ? body.refreshToken : undefined
        const t = live(refresh, token)
        if (!t) return fail(401, 'INVALID_REFRESH_TOKEN', 'the refresh token is unknown, expired or revoked')
        t.revoked = true
        return tokenPair(t.userKey)
      }
      case 'login-me': {
        const t = live(access, bearer(authorization))
        if (!t) return fail(401, 'INVALID_ACCESS_TOKEN', 'the access token is unknown, expired or revoked')
        const profile = profiles.get(t.userKey) ?? {}
        const fields = ['name', 'phone', 'birthday', 'ci', 'di', 'gender', 'nationality', 'email'] as const
        const success: Record<string, unknown> = { userKey: '__USER_KEY__', scope: 'user_key', agreedTerms: ['terms'] }
        for (const f of fields) success[f] = profile[f] === undefined ? null : encrypt(profile[f])
        const raw = (options.userKeyAsNumber ?? true) && /^[1-9]\d*$/.test(t.userKey) ? t.userKey : JSON.stringify(t.userKey)
        return { status: 200, body: JSON.stringify({ resultType: 'SUCCESS', success }).replace('"__USER_KEY__"', raw) }
      }
      case 'remove-by-access-token': {
        const t = live(access, bearer(authorization))
        if (!t) return fail(401, 'INVALID_ACCESS_TOKEN', 'the access token is unknown, expired or revoked')
        t.revoked = true
        return ok({})
      }
      case 'remove-by-user-key': {
        const userKey = typeof body.userKey === 'string' ? body.userKey : ''
        if (userKey === '') return fail(400, 'INVALID_REQUEST', 'userKey is required')
        for (const map of [access, refresh]) for (const t of map.values()) if (t.userKey === userKey) t.revoked = true
        return ok({})
      }
    }
  }

  const login: FakeTossLogin = {
    issueAuthorizationCode: ({ userKey, referrer = 'DEFAULT', profile }) => {
      if (profile) profiles.set(userKey, profile)
      const code = simulatedAuthorizationCode({ userKey, referrer, issuedAt: now() })
      codes.set(code, { userKey, referrer, expiresAt: now() + codeTtl })
      return code
    },
    setProfile: (userKey, profile) => void profiles.set(userKey, profile),
    failNext: (fault, times = 1, call) => void queue.push({ fault, times, ...(call && { call }) }),
    clearFaults: () => void (queue.length = 0),
    activeAccessTokens: (userKey) => [...access.values()].filter((t) => t.userKey === userKey && !t.revoked && t.expiresAt > now()).length,
    decryption,
    requests,
  }

  return {
    login,
    /** The answer to one request under `…/user/oauth2/`; `null` for a path that is not a login call. */
    answer(path: string, method: string, authorization: string | undefined, text: string): FakeLoginAnswer | null {
      const call = (
        {
          'generate-token': 'generate-token',
          'refresh-token': 'refresh-token',
          'login-me': 'login-me',
          'access/remove-by-access-token': 'remove-by-access-token',
          'access/remove-by-user-key': 'remove-by-user-key',
        } as const
      )[path]
      if (!call) return null
      const i = queue.findIndex((q) => q.call === undefined || q.call === call)
      const fault = i >= 0 ? queue[i]!.fault : null
      if (i >= 0 && --queue[i]!.times <= 0) queue.splice(i, 1)
      const record = (answer: FakeLoginRequest['answer']) => requests.push({ at: now(), call, answer })
      if (fault === 'drop') return (record('drop'), { status: 0, drop: true })
      if (fault && 'http' in fault) {
        record(fault.http)
        return {
          ...fail(fault.http, `HTTP_${fault.http}`, 'a fault on demand'),
          ...(fault.retryAfter !== undefined && { headers: { 'Retry-After': String(fault.retryAfter) } }),
        }
      }
      if (fault && 'fail' in fault) return (record(400), fail(400, fault.fail, 'a fault on demand'))
      const result = truth(call, method, authorization, text)
      record(fault ? 'slow' : result.status)
      return fault ? { ...result, delayMs: fault.delayMs } : result
    },
  }
}
