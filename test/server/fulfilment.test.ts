import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createFulfilmentHandler,
  createGrantLedger,
  createTossPartnerClient,
  type FulfilmentHandler,
  type GrantLedger,
  type TossOrderStatus,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPGlite } from './pglite.ts'

const APP = 'https://mini-app.example'
const ENDPOINT = 'https://api.example/iap/fulfil'
const users: Record<string, { userId: string; userKey: string }> = {
  'token-alice': { userId: 'alice', userKey: 'tk-alice' },
  'token-bob': { userId: 'bob', userKey: 'tk-bob' },
}

let api: FakeTossPartnerApi
let toss: TossPartnerClient
let ledger: GrantLedger
let fulfil: FulfilmentHandler
let close: () => Promise<void>
let grants: string[] = []
let failGrant = false
const errors: string[] = []

beforeAll(async () => {
  api = await startFakeTossPartnerApi()
  toss = createTossPartnerClient({ ...api.clientOptions(), timeoutMs: 5000, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 200 } })
  const pgl = await openPGlite()
  close = pgl.close
  ledger = await createGrantLedger(pgl.db)
  await pgl.db.query('CREATE TABLE products (order_id text PRIMARY KEY, user_id text NOT NULL, sku text NOT NULL)')
  fulfil = createFulfilmentHandler({
    toss,
    ledger,
    authenticate: (request) => users[request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? ''] ?? null,
    onGrant: async (order, tx) => {
      await tx.query('INSERT INTO products (order_id, user_id, sku) VALUES ($1, $2, $3)', [order.orderId, order.userId, order.sku])
      if (failGrant) throw new Error('product service down')
      grants.push(order.orderId)
    },
    cors: { origins: [APP] },
    onError: (_error, { code }) => void errors.push(code),
  })
})
afterAll(async () => {
  toss.close()
  await api.close()
  await close()
})

let n = 0
/** An order Toss knows, paid by alice unless told otherwise. */
const paidOrder = (status: TossOrderStatus = 'PAYMENT_COMPLETED', userKey = 'tk-alice', sku = 'remove-ads') => {
  const orderId = `ord-${++n}-${status.toLowerCase()}`
  api.setOrder({ orderId, sku, status, userKey })
  return orderId
}

const post = (body: unknown, { token = 'token-alice', origin = APP as string | null, headers = {} as Record<string, string> } = {}) =>
  fulfil(
    new Request(ENDPOINT, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(token && { Authorization: `Bearer ${token}` }),
        ...(origin && { Origin: origin }),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  )

const order = (orderId: string, extra: object = {}) => ({ orderId, sku: 'remove-ads', kind: 'one-time', source: 'purchase', ...extra })

async function expectError(response: Response, status: number, code: string, retryable?: boolean) {
  expect(response.status).toBe(status)
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/)
  const body = await response.json()
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } })
  if (retryable !== undefined) expect(body.error.retryable).toBe(retryable)
  return body
}

const products = async (orderId: string) =>
  (await ledger.transaction((tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM products WHERE order_id = $1', [orderId])))
    .rows[0]!.n

describe('CORS', () => {
  it('answers an allowed preflight with 204 and the exact origin', async () => {
    const response = await fulfil(
      new Request(ENDPOINT, {
        method: 'OPTIONS',
        headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' },
      }),
    )
    expect(response.status).toBe(204)
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'Content-Type, Authorization',
      'access-control-allow-methods': 'POST, OPTIONS',
      vary: 'Origin',
    })
  })

  it('gives another origin no CORS headers and does nothing for it', async () => {
    const preflight = await fulfil(new Request(ENDPOINT, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } }))
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull()
    const orderId = paidOrder()
    const response = await post(order(orderId), { origin: 'https://evil.example' })
    await expectError(response, 403, 'ORIGIN_NOT_ALLOWED')
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(api.requestsFor(orderId)).toBe(0)
    expect(await ledger.find(orderId)).toBeNull()
  })

  it('serves its own origin without CORS headers', async () => {
    const response = await post(order(paidOrder()), { origin: new URL(ENDPOINT).origin })
    expect(response.status).toBe(200)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('serves callers without an Origin (server to server) and echoes the origin on success', async () => {
    const a = paidOrder()
    expect((await post(order(a), { origin: null })).status).toBe(200)
    const b = paidOrder()
    const response = await post(order(b))
    expect(response.status).toBe(200)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(APP)
    expect(response.headers.get('Access-Control-Allow-Credentials')).toBe('true')
  })
})

describe('bad requests get a 4xx JSON error and write nothing', () => {
  it('refuses other methods with 405', async () => {
    const response = await fulfil(new Request(ENDPOINT, { method: 'GET', headers: { Origin: APP } }))
    await expectError(response, 405, 'METHOD_NOT_ALLOWED')
    expect(response.headers.get('Allow')).toBe('POST, OPTIONS')
  })

  it.each([
    ['not JSON', '{"orderId": ', 400, 'INVALID_JSON'],
    ['an array', '[1]', 400, 'INVALID_ORDER'],
    ['null', 'null', 400, 'INVALID_ORDER'],
    ['no orderId', { sku: 'remove-ads' }, 400, 'INVALID_ORDER'],
    ['an empty orderId', { orderId: '' }, 400, 'INVALID_ORDER'],
    ['a padded orderId', { orderId: ' abc ' }, 400, 'INVALID_ORDER'],
    ['an orderId with a space', { orderId: 'a b' }, 400, 'INVALID_ORDER'],
    ['a numeric orderId', { orderId: 42 }, 400, 'INVALID_ORDER'],
    ['an orderId of 201 characters', { orderId: 'a'.repeat(201) }, 400, 'INVALID_ORDER'],
    ['an orderId with a newline', { orderId: 'abc\n' }, 400, 'INVALID_ORDER'],
    ['an orderId with SQL in it', { orderId: "x'; DROP TABLE toss_iap_grants;--" }, 400, 'INVALID_ORDER'],
    ['a strange kind', { orderId: 'ok-1', kind: 'lifetime' }, 400, 'INVALID_ORDER'],
    ['a sku that is not a string', { orderId: 'ok-1', sku: ['remove-ads'] }, 400, 'INVALID_ORDER'],
    ['an empty subscriptionId', { orderId: 'ok-1', subscriptionId: '' }, 400, 'INVALID_ORDER'],
    ['a strange source', { orderId: 'ok-1', source: 'hack' }, 400, 'INVALID_ORDER'],
    ['a body over 16 KiB', { orderId: 'ok-1', pad: 'x'.repeat(17_000) }, 413, 'BODY_TOO_LARGE'],
  ])('%s', async (_name, body, status, code) => {
    const before = api.requests.length
    await expectError(await post(body), status, code, false)
    expect(api.requests.length).toBe(before)
    expect(await ledger.ordersOf('alice')).not.toContainEqual(expect.objectContaining({ orderId: 'ok-1' }))
  })

  it('stops reading a streamed body past the cap, whatever Content-Length says', async () => {
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new TextEncoder().encode(' '.repeat(4096))) // endless
      },
    })
    const request = new Request(ENDPOINT, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    await expectError(await fulfil(request), 413, 'BODY_TOO_LARGE')
    expect(pulled).toBeLessThan(10)
  })

  it('refuses a body that is not declared JSON with 415', async () => {
    await expectError(await post(order('ok-2'), { headers: { 'Content-Type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE')
  })

  it('answers 401 without a session, before asking Toss', async () => {
    const orderId = paidOrder()
    await expectError(await post(order(orderId), { token: 'token-nobody' }), 401, 'UNAUTHENTICATED')
    expect(api.requestsFor(orderId)).toBe(0)
  })
})

describe('granting', () => {
  it.each(['PURCHASED', 'PAYMENT_COMPLETED'] as const)('grants a %s order once; a repeat does not ask Toss', async (status) => {
    const orderId = paidOrder(status)
    const response = await post(order(orderId))
    expect(response.status).toBe(200)
    expect(response.redirected).toBe(false)
    expect(await response.json()).toEqual({ granted: true, orderId, sku: 'remove-ads', repeat: false })
    expect(api.requestsFor(orderId)).toBe(1)
    const again = await post(order(orderId, { source: 'recovery' }))
    expect(await again.json()).toEqual({ granted: true, orderId, sku: 'remove-ads', repeat: true })
    expect(api.requestsFor(orderId)).toBe(1)
    expect(grants.filter((g) => g === orderId)).toHaveLength(1)
    expect(await ledger.find(orderId)).toMatchObject({ userId: 'alice', tossStatus: status, state: 'granted', source: 'purchase' })
  })

  it('answers 409 to another user and grants nothing to them', async () => {
    const orderId = paidOrder()
    expect((await post(order(orderId))).status).toBe(200)
    await expectError(await post(order(orderId), { token: 'token-bob' }), 409, 'ORDER_OWNED_BY_ANOTHER_USER', false)
    expect(api.requestsFor(orderId)).toBe(1)
    expect((await ledger.ordersOf('bob')).map((o) => o.orderId)).not.toContain(orderId)
  })

  it('asks Toss as the calling user: bob cannot claim alice’s unclaimed order', async () => {
    const orderId = paidOrder()
    await expectError(await post(order(orderId), { token: 'token-bob' }), 404, 'ORDER_NOT_FOUND', true)
    expect(api.requests.at(-1)).toMatchObject({ orderId, userKey: 'tk-bob' })
    expect(await ledger.find(orderId)).toBeNull()
  })

  it('records Toss’s sku over the page’s, and takes Toss’s when recovery sends none', async () => {
    const a = paidOrder('PAYMENT_COMPLETED', 'tk-alice', 'premium-forever')
    expect(await (await post(order(a, { sku: 'gem-1' }))).json()).toMatchObject({ sku: 'premium-forever' })
    const c = paidOrder('PAYMENT_COMPLETED', 'tk-alice', 'premium-forever')
    expect(await (await post(order(c, { sku: '프리미엄 영구' }))).json()).toMatchObject({ granted: true, sku: 'premium-forever' })
    const b = paidOrder('PAYMENT_COMPLETED', 'tk-alice', 'premium-forever')
    expect(await (await post(order(b, { sku: '', source: 'recovery' }))).json()).toMatchObject({ sku: 'premium-forever' })
    expect(await ledger.find(b)).toMatchObject({ sku: 'premium-forever', source: 'recovery' })
  })

  it("grants a recovered order whose kind the page could not tell, and records it as 'unknown'", async () => {
    const id = paidOrder('PAYMENT_COMPLETED', 'tk-alice', 'premium-monthly')
    const response = await post(order(id, { sku: '', kind: 'unknown', source: 'recovery' }))
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ granted: true, sku: 'premium-monthly' })
    expect(await ledger.find(id)).toMatchObject({ kind: 'unknown', source: 'recovery' })
  })

  it('grants once for 40 concurrent requests', async () => {
    const orderId = paidOrder()
    const responses = await Promise.all(Array.from({ length: 40 }, () => post(order(orderId))))
    expect(responses.map((r) => r.status)).toEqual(Array(40).fill(200))
    expect(grants.filter((g) => g === orderId)).toHaveLength(1)
    expect(await products(orderId)).toBe(1)
  })

  it('rolls the row back when onGrant throws, answers 500, and grants on the next try', async () => {
    const orderId = paidOrder()
    failGrant = true
    await expectError(await post(order(orderId)), 500, 'GRANT_FAILED', true)
    failGrant = false
    expect(await ledger.find(orderId)).toBeNull()
    expect(await products(orderId)).toBe(0)
    expect((await post(order(orderId))).status).toBe(200)
    expect(await products(orderId)).toBe(1)
  })
})

describe('an onGrant that never finishes', () => {
  it('is rolled back after grantTimeoutMs and answered 500, never a hang', async () => {
    const handler = createFulfilmentHandler({
      toss,
      ledger,
      authenticate: () => users['token-alice']!,
      onGrant: () => new Promise(() => {}),
      grantTimeoutMs: 200,
      onError: () => {},
    })
    const orderId = paidOrder()
    const response = await handler(
      new Request(ENDPOINT, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(order(orderId)) }),
    )
    await expectError(response, 500, 'GRANT_FAILED', true)
    expect(await ledger.find(orderId)).toBeNull()
    expect((await post(order(orderId))).status).toBe(200)
  })
})

describe('every other Toss answer', () => {
  // The table in docs/server.md.
  it.each([
    ['ORDER_IN_PROGRESS', 503, 'ORDER_IN_PROGRESS', true],
    ['FAILED', 402, 'PAYMENT_FAILED', false],
    ['REFUNDED', 410, 'ORDER_REFUNDED', false],
    ['NOT_FOUND', 404, 'ORDER_NOT_FOUND', true],
    ['MINIAPP_MISMATCH', 403, 'MINIAPP_MISMATCH', false],
    ['ERROR', 503, 'TOSS_ERROR', true],
  ] as const)('%s → %s, nothing granted', async (status, http, code, retryable) => {
    const orderId = paidOrder(status)
    if (status === 'ERROR') api.failNext({ status: 'ERROR' }, 3, orderId)
    await expectError(await post(order(orderId)), http, code, retryable)
    expect(await ledger.find(orderId)).toBeNull()
    expect(grants).not.toContain(orderId)
  })

  it.each([
    ['a 429 storm with a long Retry-After', { http: 429, retryAfter: 30 }, 503, 'TOSS_RATE_LIMITED', 1],
    ['a 429 storm without Retry-After', { http: 429 }, 503, 'TOSS_RATE_LIMITED', 3],
    ['5xx', { http: 502 }, 503, 'TOSS_UNAVAILABLE', 3],
    ['dropped connections', 'drop', 502, 'TOSS_UNREACHABLE', 3],
    ['an answer that is not JSON', { http: 200, body: '<html>' }, 502, 'TOSS_BAD_RESPONSE', 1],
    ['a refused request', { http: 401 }, 502, 'TOSS_REJECTED', 1],
  ] as const)('%s → %s and the order stays claimable', async (_name, fault, http, code, requests) => {
    const orderId = paidOrder()
    api.failAll(fault)
    try {
      const response = await post(order(orderId))
      await expectError(response, http, code, true)
      if (code === 'TOSS_RATE_LIMITED') expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0)
    } finally {
      api.clearFaults()
    }
    expect(api.requestsFor(orderId)).toBe(requests)
    expect(await ledger.find(orderId)).toBeNull()
    expect(errors.at(-1)).toBe(code)
    expect((await post(order(orderId))).status).toBe(200)
  })

  it('timeouts → 504 TOSS_TIMEOUT and the order stays claimable', async () => {
    const impatient = createTossPartnerClient({ ...api.clientOptions(), timeoutMs: 150, retry: { attempts: 2, baseDelayMs: 5 } })
    const handler = createFulfilmentHandler({ toss: impatient, ledger, authenticate: () => users['token-alice']!, onError: () => {} })
    const orderId = paidOrder()
    api.failNext({ delayMs: 3000 }, 2, orderId)
    const request = () =>
      new Request(ENDPOINT, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(order(orderId)) })
    await expectError(await handler(request()), 504, 'TOSS_TIMEOUT', true)
    expect(api.requestsFor(orderId)).toBe(2)
    expect(await ledger.find(orderId)).toBeNull()
    expect((await handler(request())).status).toBe(200)
    impatient.close()
  })

  it('asks Toss once for concurrent requests of one order in one process', async () => {
    const orderId = paidOrder()
    api.failNext({ delayMs: 300 }, 1, orderId)
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(order(orderId))))
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(api.requestsFor(orderId)).toBe(1)
  })
})
