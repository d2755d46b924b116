// Toss login end to end on the server: the partner client's login calls against the fake Toss over
// mutual TLS, the login/logout/unlink handlers, sessions in the ledger's database (PGlite, and
// PostgreSQL when there is one), and sessions shared by server processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEntitlementsHandler,
  createFulfilmentHandler,
  createGrantLedger,
  createLoginHandler,
  createLogoutHandler,
  createSessionStore,
  createTossPartnerClient,
  createUnlinkHandler,
  decryptTossUserField,
  TossApiError,
  type GrantLedger,
  type PGliteLike,
  type PgPoolLike,
  type SessionStore,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'
import { buildWorker, startWorker, workerEnv, type Worker } from './processes.ts'

const APP = 'https://mini-app.example'
/** Above 2^53: a JSON number this long loses digits in JSON.parse. */
const BIG_KEY = '9007199254740993123'

let api: FakeTossPartnerApi
let toss: TossPartnerClient
let now = Date.now()
beforeAll(async () => {
  api = await startFakeTossPartnerApi({ now: () => now })
  toss = createTossPartnerClient({ ...api.clientOptions(), retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 200 } })
})
afterAll(async () => {
  toss.close()
  await api.close()
})

describe('the partner client speaks Toss login', () => {
  it('exchanges a code, reads the userKey without losing a digit, and refuses the code a second time', async () => {
    const code = api.login.issueAuthorizationCode({ userKey: BIG_KEY })
    const tokens = await toss.generateToken({ authorizationCode: code, referrer: 'DEFAULT' })
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600 })
    expect(tokens.accessToken).toMatch(/\S{20,}/)
    const me = await toss.getLoginUser(tokens.accessToken)
    expect(me.userKey).toBe(BIG_KEY)
    expect(me.encrypted.name).toBeNull()
    const again = await toss.generateToken({ authorizationCode: code, referrer: 'DEFAULT' }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(TossApiError)
    expect(again).toMatchObject({ code: 'REJECTED', tossCode: 'INVALID_AUTHORIZATION_CODE' })
    expect(String((again as Error).message)).not.toContain(code)
  })

  it('refuses an expired code and a code of another referrer; renews and removes tokens', async () => {
    const expired = api.login.issueAuthorizationCode({ userKey: 'u-expired' })
    now += 11 * 60_000
    await expect(toss.generateToken({ authorizationCode: expired, referrer: 'DEFAULT' })).rejects.toMatchObject({
      code: 'REJECTED',
      tossCode: 'EXPIRED_AUTHORIZATION_CODE',
    })
    const sandbox = api.login.issueAuthorizationCode({ userKey: 'u-sandbox', referrer: 'SANDBOX' })
    await expect(toss.generateToken({ authorizationCode: sandbox, referrer: 'DEFAULT' })).rejects.toMatchObject({
      tossCode: 'INVALID_REFERRER',
    })
    const tokens = await toss.generateToken({ authorizationCode: sandbox, referrer: 'sandbox' })
    const renewed = await toss.refreshToken(tokens.refreshToken!)
    expect(renewed.accessToken).not.toBe(tokens.accessToken)
    await expect(toss.refreshToken(tokens.refreshToken!)).rejects.toMatchObject({ code: 'REJECTED' }) // used once
    expect(api.login.activeAccessTokens('u-sandbox')).toBe(2)
    await toss.removeAccessByAccessToken(tokens.accessToken)
    expect(api.login.activeAccessTokens('u-sandbox')).toBe(1)
    await toss.removeAccessByUserKey('u-sandbox')
    expect(api.login.activeAccessTokens('u-sandbox')).toBe(0)
    await expect(toss.getLoginUser(renewed.accessToken)).rejects.toMatchObject({ code: 'REJECTED', httpStatus: 401 })
  })

  it('retries 5xx and 429, and gives up with a typed error', async () => {
    const code = api.login.issueAuthorizationCode({ userKey: 'u-retry' })
    api.login.failNext({ http: 503 }, 1, 'generate-token')
    await expect(toss.generateToken({ authorizationCode: code, referrer: 'DEFAULT' })).resolves.toMatchObject({ tokenType: 'Bearer' })
    api.login.failNext({ http: 429 }, 3, 'login-me')
    await expect(toss.getLoginUser('whatever-token')).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    await expect(toss.generateToken({ authorizationCode: 'has space', referrer: 'DEFAULT' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })

  it('decrypts login-me’s personal fields with the console’s key, and names no key when it cannot', async () => {
    const code = api.login.issueAuthorizationCode({ userKey: 'u-profile', profile: { name: '김토스', email: 'toss@example.com' } })
    const me = await toss.getLoginUser((await toss.generateToken({ authorizationCode: code, referrer: 'DEFAULT' })).accessToken)
    const { key, aad } = api.login.decryption
    expect(decryptTossUserField(me.encrypted.name!, { key: key.toString('base64'), aad })).toBe('김토스')
    expect(decryptTossUserField(me.encrypted.email!, { key, aad })).toBe('toss@example.com')
    expect(me.encrypted.phone).toBeNull()
    const wrong = (() => {
      try {
        decryptTossUserField(me.encrypted.name!, { key, aad: 'another' })
      } catch (error) {
        return error as Error
      }
    })()
    expect(wrong).toBeInstanceOf(TypeError)
    expect(wrong!.message).not.toContain(key.toString('base64'))
  })
})

/** Everything the handlers print or report, to look for secrets in. */
const logged: string[] = []
const capture = (error: unknown, context: { code: string }) =>
  void logged.push(`${context.code} ${error instanceof Error ? error.message : String(error)}`)

function suite(name: string, open: () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>) {
  describe(`login handlers and sessions on ${name}`, () => {
    let ledger: GrantLedger
    let sessions: SessionStore
    let close: () => Promise<void>
    let login: (request: Request) => Promise<Response>
    let logout: (request: Request) => Promise<Response>
    let unlink: (request: Request) => Promise<Response>
    let fulfil: (request: Request) => Promise<Response>
    let entitlements: (request: Request) => Promise<Response>
    beforeAll(async () => {
      const opened = await open()
      close = opened.close
      ledger = await createGrantLedger(opened.db)
      await ledger.query('CREATE TABLE app_users (id text PRIMARY KEY, toss_user_key text UNIQUE NOT NULL)')
      sessions = createSessionStore(ledger, { touchEveryMs: 0 })
      login = createLoginHandler({
        toss,
        ledger,
        sessions,
        cors: { origins: [APP] },
        onError: capture,
        userIdFor: async ({ userKey }, tx) => {
          const { rows } = await tx.query<{ id: string }>(
            `INSERT INTO app_users (id, toss_user_key) VALUES ('user-' || $1, $1)
             ON CONFLICT (toss_user_key) DO UPDATE SET toss_user_key = EXCLUDED.toss_user_key RETURNING id`,
            [userKey],
          )
          return rows[0]!.id
        },
      })
      logout = createLogoutHandler({ sessions, toss, onError: capture })
      unlink = createUnlinkHandler({ ledger, sessions, credential: 'Basic dW5saW5rOnNlY3JldA==', onError: capture })
      fulfil = createFulfilmentHandler({ toss, ledger, authenticate: sessions.authenticate, cors: { origins: [APP] }, onError: capture })
      entitlements = createEntitlementsHandler({
        ledger,
        authenticate: sessions.authenticate,
        products: { 'remove-ads': 'NON_CONSUMABLE' },
        onError: (error) => capture(error, { code: 'ENTITLEMENTS' }),
      })
    })
    afterAll(() => close())

    const post = (handler: (r: Request) => Promise<Response>, body: unknown, headers: Record<string, string> = {}) =>
      handler(
        new Request('https://api.example/x', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Origin: APP, ...headers },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      )
    const logIn = async (userKey: string) => {
      const code = api.login.issueAuthorizationCode({ userKey })
      const response = await post(login, { authorizationCode: code, referrer: 'DEFAULT' })
      expect(response.status).toBe(200)
      return { code, body: (await response.json()) as { token: string; expiresAt: string; user: { userId: string } } }
    }
    const buy = (token: string, orderId: string) =>
      post(fulfil, { orderId, sku: 'remove-ads', kind: 'one-time' }, { Authorization: `Bearer ${token}` })
    const owned = async (token: string) => {
      const response = await entitlements(new Request('https://api.example/e', { headers: { Authorization: `Bearer ${token}` } }))
      return { status: response.status, body: (await response.json()) as { entitlements?: Array<{ orderId: string }> } }
    }
    let n = 0
    const paid = (userKey: string) => {
      const orderId = `login-${name}-${++n}`
      api.setOrder({ orderId, sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey })
      return orderId
    }

    it('logs in: the app’s session for the app’s user, Toss’s tokens kept on the server', async () => {
      logged.length = 0
      const { body } = await logIn(BIG_KEY)
      expect(body.user).toEqual({ userId: `user-${BIG_KEY}` })
      expect(body.token).toMatch(/^vti_[\w-]{43}$/)
      expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now())
      expect(JSON.stringify(body)).not.toMatch(/accessToken|refreshToken|userKey/)
      const { rows } = await ledger.query<{ token_hash: string }>('SELECT token_hash FROM toss_iap_sessions')
      expect(rows.map((r) => r.token_hash)).not.toContain(body.token) // stored hashed
      const orderId = paid(BIG_KEY)
      expect(await buy(body.token, orderId).then((r) => r.json())).toMatchObject({ granted: true, orderId })
      expect((await owned(body.token)).body.entitlements!.map((e) => e.orderId)).toContain(orderId)
      // The same Toss user logging in again is the same app user, owning the same orders.
      const second = await logIn(BIG_KEY)
      expect(second.body.user.userId).toBe(`user-${BIG_KEY}`)
      expect((await owned(second.body.token)).body.entitlements!.map((e) => e.orderId)).toContain(orderId)
    })

    it('answers every bad login with a typed error and opens no session', async () => {
      const count = async () => (await ledger.query<{ n: number }>('SELECT count(*)::int AS n FROM toss_iap_sessions')).rows[0]!.n
      const before = await count()
      const used = api.login.issueAuthorizationCode({ userKey: 'u-twice' })
      expect((await post(login, { authorizationCode: used, referrer: 'DEFAULT' })).status).toBe(200)
      const cases: Array<[string, () => Promise<Response>, number, string]> = [
        ['a code used twice', () => post(login, { authorizationCode: used, referrer: 'DEFAULT' }), 401, 'LOGIN_REJECTED'],
        ['a made-up code', () => post(login, { authorizationCode: 'forged-code', referrer: 'DEFAULT' }), 401, 'LOGIN_REJECTED'],
        ['no code', () => post(login, { referrer: 'DEFAULT' }), 400, 'INVALID_LOGIN'],
        ['not JSON', () => post(login, '{"authorizationCode":'), 400, 'INVALID_JSON'],
        [
          'a referrer the server does not take',
          () => post(login, { authorizationCode: 'x', referrer: 'ELSEWHERE' }),
          403,
          'LOGIN_REFERRER_NOT_ALLOWED',
        ],
      ]
      for (const [, call, status, code] of cases) {
        const response = await call()
        expect([response.status, ((await response.json()) as { error: { code: string } }).error.code]).toEqual([status, code])
      }
      const expired = api.login.issueAuthorizationCode({ userKey: 'u-late' })
      now += 11 * 60_000
      const late = await post(login, { authorizationCode: expired, referrer: 'DEFAULT' })
      expect([late.status, ((await late.json()) as { error: { code: string } }).error.code]).toEqual([401, 'LOGIN_REJECTED'])
      const wrongReferrer = api.login.issueAuthorizationCode({ userKey: 'u-ref', referrer: 'SANDBOX' })
      expect((await post(login, { authorizationCode: wrongReferrer, referrer: 'DEFAULT' })).status).toBe(401)

      api.login.failNext({ http: 500 }, 3, 'generate-token')
      const down = await post(login, { authorizationCode: api.login.issueAuthorizationCode({ userKey: 'u-down' }), referrer: 'DEFAULT' })
      expect([down.status, ((await down.json()) as { error: { code: string; retryable: boolean } }).error]).toEqual([
        503,
        expect.objectContaining({ code: 'TOSS_UNAVAILABLE', retryable: true }),
      ])
      api.login.failNext({ http: 429, retryAfter: 30 }, 1, 'login-me')
      const limited = await post(login, {
        authorizationCode: api.login.issueAuthorizationCode({ userKey: 'u-limit' }),
        referrer: 'DEFAULT',
      })
      expect(limited.status).toBe(503)
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('TOSS_RATE_LIMITED')
      expect(await count()).toBe(before + 1) // only the first good login
    })

    it('takes logins only from the referrers it is given', async () => {
      const production = createLoginHandler({ toss, ledger, sessions, referrers: ['DEFAULT'], onError: capture })
      const sandbox = await post(production, {
        authorizationCode: api.login.issueAuthorizationCode({ userKey: 'u-sandbox-2', referrer: 'SANDBOX' }),
        referrer: 'SANDBOX',
      })
      expect([sandbox.status, ((await sandbox.json()) as { error: { code: string } }).error.code]).toEqual([
        403,
        'LOGIN_REFERRER_NOT_ALLOWED',
      ])
      const fromToss = await post(production, {
        authorizationCode: api.login.issueAuthorizationCode({ userKey: 'u-default' }),
        referrer: 'DEFAULT',
      })
      expect(fromToss.status).toBe(200)
    })

    it('spends at most its login budget on Toss: past it, 503 without calling Toss', async () => {
      const limited = createLoginHandler({ toss, ledger, sessions, maxLoginsPerMinute: 2, onError: capture })
      const calls = () => api.login.requests.filter((r) => r.call === 'generate-token').length
      const before = calls()
      const first = await post(limited, {
        authorizationCode: api.login.issueAuthorizationCode({ userKey: 'u-budget' }),
        referrer: 'DEFAULT',
      })
      expect(first.status).toBe(200)
      const second = await post(limited, { authorizationCode: 'made-up-code', referrer: 'DEFAULT' })
      expect([second.status, second.headers.get('Retry-After'), ((await second.json()) as { error: { code: string } }).error.code]).toEqual(
        [503, '5', 'TOSS_RATE_LIMITED'],
      )
      expect(calls() - before).toBe(1)
      expect(() => createLoginHandler({ toss, ledger, sessions, maxLoginsPerMinute: 1 })).toThrow(RangeError)
    })

    it('refuses forged, malformed, expired and revoked tokens everywhere, and never hands one user another’s order', async () => {
      const alice = (await logIn('u-alice')).body.token
      const bob = (await logIn('u-bob')).body.token
      const aliceOrder = paid('u-alice')
      expect((await buy(alice, aliceOrder)).status).toBe(200)
      // Bob claims Alice's order: Toss knows it for Alice only, and the ledger has it as Alice's.
      const claimed = await buy(bob, aliceOrder)
      expect([claimed.status, ((await claimed.json()) as { error: { code: string } }).error.code]).toEqual([
        409,
        'ORDER_OWNED_BY_ANOTHER_USER',
      ])
      const fresh = paid('u-alice')
      const asBob = await buy(bob, fresh)
      expect(((await asBob.json()) as { error: { code: string } }).error.code).toBe('ORDER_NOT_FOUND')
      expect((await owned(bob)).body.entitlements!.map((e) => e.orderId)).not.toContain(aliceOrder)

      const forged = `vti_${'A'.repeat(43)}`
      for (const token of [forged, 'not-a-token', `${alice}x`, '', alice.replace(/^vti_/, 'vtx_')]) {
        expect((await buy(token, paid('u-alice'))).status, token).toBe(401)
        expect((await owned(token)).status, token).toBe(401)
      }
      // Logout ends the session and tells Toss.
      expect(api.login.activeAccessTokens('u-alice')).toBeGreaterThan(0)
      const out = await post(logout, '', { Authorization: `Bearer ${alice}` })
      expect(await out.json()).toEqual({ loggedOut: true })
      expect(api.login.activeAccessTokens('u-alice')).toBe(0)
      expect((await buy(alice, paid('u-alice'))).status).toBe(401)
      expect((await owned(alice)).status).toBe(401)
      expect(await (await post(logout, '', { Authorization: `Bearer ${alice}` })).json()).toEqual({ loggedOut: true }) // again: still fine
      expect((await owned(bob)).status).toBe(200)
    })

    it('slides a session on use, ends it when idle, and never past its maximum age', async () => {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
      const sliding = createSessionStore(ledger, { idleMs: 1500, touchEveryMs: 0 })
      const a = await sliding.create({ userId: 'idle', userKey: 'k-idle' })
      for (let i = 0; i < 3; i++) {
        await sleep(800)
        expect(await sliding.verify(a.token)).toMatchObject({ userId: 'idle' }) // 2.4 s in: each use renewed it
      }
      await sleep(1700)
      expect(await sliding.verify(a.token)).toBeNull() // idle too long
      const capped = createSessionStore(ledger, { idleMs: 60_000, maxAgeMs: 1500, touchEveryMs: 0 })
      const b = await capped.create({ userId: 'old', userKey: 'k-old' })
      expect(await capped.verify(b.token)).not.toBeNull()
      await sleep(1600)
      expect(await capped.verify(b.token)).toBeNull() // past its maximum age, although not idle
      expect(await capped.prune(0)).toBeGreaterThanOrEqual(2)
    })

    it('ends every session of a user on Toss’s unlink callback, authenticated, and keeps what they own', async () => {
      const one = (await logIn('4242')).body.token
      const two = (await logIn('4242')).body.token
      const orderId = paid('4242')
      expect((await buy(one, orderId)).status).toBe(200)
      const call = (init: RequestInit, query = '') => unlink(new Request(`https://api.example/toss/unlink${query}`, init))
      expect((await call({ method: 'POST', body: '{"userKey":4242}' })).status).toBe(401)
      expect((await call({ method: 'POST', body: '{"userKey":4242}', headers: { Authorization: 'Basic d3Jvbmc6d3Jvbmc=' } })).status).toBe(
        401,
      )
      expect((await owned(one)).status).toBe(200)
      const auth = { Authorization: 'Basic dW5saW5rOnNlY3JldA==' }
      expect((await call({ method: 'POST', body: '{}', headers: auth })).status).toBe(400)
      const answer = await call({
        method: 'POST',
        body: '{"userKey":4242,"referrer":"UNLINK"}',
        headers: { ...auth, 'Content-Type': 'application/json' },
      })
      expect(await answer.json()).toEqual({ received: true, sessionsEnded: 2 })
      expect((await owned(one)).status).toBe(401)
      expect((await owned(two)).status).toBe(401)
      expect(await (await call({ method: 'GET', headers: auth }, '?userKey=4242&referrer=WITHDRAWAL_TOSS')).json()).toEqual({
        received: true,
        sessionsEnded: 0,
      })
      const again = (await logIn('4242')).body.token
      expect((await owned(again)).body.entitlements!.map((e) => e.orderId)).toContain(orderId)
      const { rows } = await ledger.query<{ referrer: string }>(`SELECT referrer FROM toss_iap_unlinks WHERE user_key = '4242' ORDER BY id`)
      expect(rows.map((r) => r.referrer)).toEqual(['UNLINK', 'WITHDRAWAL_TOSS'])
    })

    it('puts no token, code or key in anything it reports', async () => {
      const secrets: string[] = []
      const { code, body } = await logIn('u-secret')
      secrets.push(code, body.token)
      api.login.failNext({ http: 500 }, 3, 'login-me')
      const code2 = api.login.issueAuthorizationCode({ userKey: 'u-secret' })
      secrets.push(code2)
      await post(login, { authorizationCode: code2, referrer: 'DEFAULT' })
      await post(login, { authorizationCode: code, referrer: 'DEFAULT' })
      await post(logout, '', { Authorization: `Bearer ${body.token}` })
      const text = logged.join('\n')
      expect(text).toMatch(/LOGIN_REJECTED|TOSS_UNAVAILABLE/)
      for (const secret of secrets) expect(text).not.toContain(secret)
      expect(text).not.toContain(api.certificates.client.key.slice(40, 80))
    })
  })
}

suite('PGlite', openPGlite)
if (PG_URL) suite('PostgreSQL', () => openPgSchema('login'))

describe.runIf(PG_URL)('sessions across server processes', () => {
  it('logs in on one process and buys through another', async () => {
    const { db, close } = await openPgSchema('login_procs')
    const schema = ((await db.query('SELECT current_schema() AS s')).rows[0] as { s: string }).s
    await createGrantLedger(db)
    await db.query('CREATE TABLE products (order_id text PRIMARY KEY, user_id text NOT NULL, pid integer NOT NULL)')
    const script = await buildWorker()
    const env = workerEnv(PG_URL!, schema, api.clientOptions())
    const workers: Worker[] = await Promise.all([startWorker(script, env), startWorker(script, env)])
    try {
      const call = async (w: Worker, path: string, body: unknown, token?: string) => {
        const response = await fetch(`http://127.0.0.1:${w.port}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(token && { Authorization: `Bearer ${token}` }) },
          body: JSON.stringify(body),
        })
        return { status: response.status, body: (await response.json()) as Record<string, any> }
      }
      const code = api.login.issueAuthorizationCode({ userKey: 'u-procs' })
      const session = await call(workers[0]!, '/login', { authorizationCode: code, referrer: 'DEFAULT' })
      expect(session.status).toBe(200)
      const orderId = `procs-${Date.now()}`
      api.setOrder({ orderId, sku: 'remove-ads', status: 'PAYMENT_COMPLETED', userKey: 'u-procs' })
      const bought = await call(workers[1]!, '/session/fulfil', { orderId, sku: 'remove-ads', kind: 'one-time' }, session.body.token)
      expect(bought).toMatchObject({ status: 200, body: { granted: true, orderId } })
      const { rows } = await db.query('SELECT user_id FROM toss_iap_grants WHERE order_id = $1', [orderId])
      expect(rows).toEqual([{ user_id: 'u-procs' }])
      const forged = await call(workers[1]!, '/session/fulfil', { orderId, sku: 'remove-ads', kind: 'one-time' }, `vti_${'B'.repeat(43)}`)
      expect(forged.status).toBe(401)
    } finally {
      for (const w of workers) w.process.kill('SIGKILL')
      await Promise.all(workers.map((w) => w.exited))
      await close()
    }
  })
})
