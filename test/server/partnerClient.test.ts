import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTossPartnerClient,
  parseTossTime,
  TossApiError,
  TOSS_ORDER_STATUSES,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { createTestCertificates, startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'

let api: FakeTossPartnerApi
let toss: TossPartnerClient
const USER = 'user-key-7f3a9c'
const fast = { attempts: 3, baseDelayMs: 5, maxDelayMs: 200 }

beforeAll(async () => {
  api = await startFakeTossPartnerApi()
  toss = createTossPartnerClient({ ...api.clientOptions(), retry: fast, timeoutMs: 1000 })
})
afterAll(async () => {
  toss.close()
  await api.close()
})

/** Everything a log line could show of an error: its JSON, its inspection, its causes. */
function everythingShown(error: unknown): string {
  const parts: string[] = [String(error), inspect(error, { depth: 10, showHidden: true })]
  try {
    parts.push(JSON.stringify(error))
  } catch {
    /* circular: the inspection has it */
  }
  for (let e = error as { cause?: unknown } | undefined; e; e = e.cause as typeof e) parts.push(String(e), inspect(e, { depth: 10 }))
  return parts.join('\n')
}

function expectNoSecrets(error: unknown) {
  const shown = everythingShown(error)
  const keys = [api.certificates.client.key, api.certificates.wrongClient.key]
  for (const pem of keys) {
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'))
    for (const line of body) expect(shown).not.toContain(line)
  }
  expect(shown).not.toContain('PRIVATE KEY')
  expect(shown).not.toContain('BEGIN CERTIFICATE')
  expect(shown).not.toContain(USER)
}

async function failure(promise: Promise<unknown>): Promise<TossApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TossApiError)
  expectNoSecrets(error)
  return error as TossApiError
}

let n = 0
const order = (status: (typeof TOSS_ORDER_STATUSES)[number], extra: object = {}) => {
  const orderId = `order-${++n}`
  api.setOrder({ orderId, sku: 'ait.0000001', status, userKey: USER, ...extra })
  return orderId
}

describe('order status', () => {
  it.each(TOSS_ORDER_STATUSES.filter((s) => s !== 'ERROR'))(
    'answers %s, typed, with paid only for the two paid statuses',
    async (status) => {
      const orderId = order(status)
      const result = await toss.getOrderStatus(orderId, { userKey: USER })
      expect(result.status).toBe(status)
      expect(result.orderId).toBe(orderId)
      expect(result.paid).toBe(status === 'PURCHASED' || status === 'PAYMENT_COMPLETED')
      if (status !== 'NOT_FOUND') expect(result.sku).toBe('ait.0000001')
    },
  )

  it('sends the user key: another user sees NOT_FOUND', async () => {
    const orderId = order('PURCHASED')
    expect((await toss.getOrderStatus(orderId, { userKey: 'someone-else' })).status).toBe('NOT_FOUND')
    expect(api.requests.at(-1)).toMatchObject({ orderId, userKey: 'someone-else' })
  })

  it('reads statusDeterminedAt with Z as UTC and without a zone as Korean time', async () => {
    const a = order('PURCHASED', { statusDeterminedAt: '2026-08-11T03:00:00Z' })
    const b = order('PURCHASED', { statusDeterminedAt: '2026-08-11T12:00:00' })
    expect((await toss.getOrderStatus(a, { userKey: USER })).statusDeterminedAt?.toISOString()).toBe('2026-08-11T03:00:00.000Z')
    expect((await toss.getOrderStatus(b, { userKey: USER })).statusDeterminedAt?.toISOString()).toBe('2026-08-11T03:00:00.000Z')
    expect(parseTossTime('2026-08-11T12:00:00.123+09:00')?.toISOString()).toBe('2026-08-11T03:00:00.123Z')
    expect(parseTossTime('nonsense')).toBeNull()
    expect(parseTossTime(undefined)).toBeNull()
  })
})

describe('retry', () => {
  it('retries 5xx, a dropped connection and status ERROR, then answers', async () => {
    const orderId = order('PAYMENT_COMPLETED')
    api.failNext({ http: 503 }, 1, orderId)
    api.failNext('drop', 1, orderId)
    expect((await toss.getOrderStatus(orderId, { userKey: USER })).status).toBe('PAYMENT_COMPLETED')
    expect(api.requestsFor(orderId)).toBe(3)
    api.failNext({ status: 'ERROR' }, 2, orderId)
    expect((await toss.getOrderStatus(orderId, { userKey: USER })).paid).toBe(true)
    expect(api.requestsFor(orderId)).toBe(6)
  })

  it('gives up after the bounded attempts with a typed error', async () => {
    const orderId = order('PURCHASED')
    api.failNext({ http: 500 }, 3, orderId)
    const error = await failure(toss.getOrderStatus(orderId, { userKey: USER }))
    expect(error).toMatchObject({ code: 'SERVER_ERROR', httpStatus: 500, attempts: 3 })
    expect(api.requestsFor(orderId)).toBe(3)
    api.failNext({ status: 'ERROR' }, 3, orderId)
    expect((await toss.getOrderStatus(orderId, { userKey: USER })).status).toBe('ERROR')
  })

  it('honours a short Retry-After and stops at once on a long one', async () => {
    const orderId = order('PURCHASED')
    api.failNext({ http: 429, retryAfter: 0 }, 1, orderId)
    expect((await toss.getOrderStatus(orderId, { userKey: USER })).paid).toBe(true)
    expect(api.requestsFor(orderId)).toBe(2)
    api.failNext({ http: 429, retryAfter: 60 }, 1, orderId)
    const error = await failure(toss.getOrderStatus(orderId, { userKey: USER }))
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60, attempts: 1 })
    expect(api.requestsFor(orderId)).toBe(3)
  })

  it('times out a slow answer', async () => {
    const orderId = order('PURCHASED')
    const slow = createTossPartnerClient({ ...api.clientOptions(), timeoutMs: 100, retry: false })
    api.failNext({ delayMs: 1500 }, 1, orderId)
    expect(await failure(slow.getOrderStatus(orderId, { userKey: USER }))).toMatchObject({ code: 'TIMEOUT', attempts: 1 })
    slow.close()
  })

  it('does not retry a request Toss refused', async () => {
    const orderId = order('PURCHASED')
    api.failNext({ http: 400 }, 1, orderId)
    expect(await failure(toss.getOrderStatus(orderId, { userKey: USER }))).toMatchObject({ code: 'REJECTED', httpStatus: 400 })
    expect(api.requestsFor(orderId)).toBe(1)
  })
})

describe('mutual TLS', () => {
  it('is refused at the handshake with a certificate from another CA', async () => {
    const before = api.refusedHandshakes
    const wrong = createTossPartnerClient({ ...api.clientOptions(api.certificates.wrongClient), retry: fast })
    expect(await failure(wrong.getOrderStatus(order('PURCHASED'), { userKey: USER }))).toMatchObject({ code: 'NETWORK' })
    expect(api.refusedHandshakes).toBeGreaterThan(before)
    wrong.close()
  })

  it('rotates: a refused pair moves the client to the next pair, and it stays there', async () => {
    const { baseUrl, ca } = api.clientOptions()
    const events: unknown[] = []
    const rotating = createTossPartnerClient({
      baseUrl,
      ca,
      credentials: [api.certificates.wrongClient, api.certificates.client],
      retry: fast,
      log: (e) => events.push(e),
    })
    const before = api.refusedHandshakes
    expect((await rotating.getOrderStatus(order('PURCHASED'), { userKey: USER })).paid).toBe(true)
    expect(api.refusedHandshakes).toBe(before + 1)
    expect((await rotating.getOrderStatus(order('PURCHASED'), { userKey: USER })).paid).toBe(true)
    expect(api.refusedHandshakes).toBe(before + 1)
    expect(events).toEqual([{ type: 'rotate', from: 0, to: 1 }])
    rotating.close()
  })

  it('refuses a pair removed from the console, and the client moves on to the next', async () => {
    const strict = await startFakeTossPartnerApi({ certificates: api.certificates })
    strict.refuseClientCertificate(api.certificates.client.cert)
    strict.setOrder({ orderId: 'o-strict', sku: 's', status: 'PURCHASED', userKey: USER })
    const { baseUrl, ca } = strict.clientOptions()
    const single = createTossPartnerClient({ baseUrl, ca, ...api.certificates.client, retry: { attempts: 2, baseDelayMs: 5 } })
    expect(await failure(single.getOrderStatus('o-strict', { userKey: USER }))).toMatchObject({ code: 'NETWORK', attempts: 2 })
    expect(strict.refusedHandshakes).toBe(2)
    expect(strict.requests).toHaveLength(0)
    single.close()
    await strict.close()
  })

  it('does not trust a server its CA list does not cover', async () => {
    const { baseUrl, cert, key } = api.clientOptions()
    const untrusting = createTossPartnerClient({ baseUrl, cert, key, retry: fast })
    expect(await failure(untrusting.getOrderStatus(order('PURCHASED'), { userKey: USER }))).toMatchObject({
      code: 'TLS_REFUSED',
      attempts: 1,
    })
    untrusting.close()
  })

  it('with its own ca, still refuses a server that ca did not sign', async () => {
    const other = await createTestCertificates()
    const { baseUrl, cert, key } = api.clientOptions()
    const wrongCa = createTossPartnerClient({ baseUrl, cert, key, ca: other.ca.cert, retry: fast })
    const before = api.requests.length
    expect(await failure(wrongCa.getOrderStatus(order('PURCHASED'), { userKey: USER }))).toMatchObject({
      code: 'TLS_REFUSED',
      attempts: 1,
    })
    expect(api.requests.length).toBe(before)
    wrongCa.close()
  })

  it('refuses unusable key material at creation, without repeating it', () => {
    const { cert } = api.certificates.client
    const caught: unknown[] = []
    for (const options of [
      { cert, key: api.certificates.wrongClient.key }, // a key that does not match
      { cert, key: `${api.certificates.client.key.slice(0, 120)}garbage` },
      { cert: [cert, cert], key: api.certificates.client.key },
      { cert: [], key: [] },
    ])
      try {
        createTossPartnerClient(options)
      } catch (error) {
        caught.push(error)
      }
    expect(caught).toHaveLength(4)
    for (const error of caught) {
      expect(error).toMatchObject({ name: 'TossApiError', code: 'INVALID_ARGUMENT' })
      expectNoSecrets(error)
    }
  })

  it('counts the requests it answered, per minute too', () => {
    expect(api.requests.length).toBeGreaterThan(20)
    expect(api.maxRequestsPerMinute()).toBe(api.requests.length) // this whole file runs within a minute
  })

  it('keeps key material out of the client object', () => {
    const shown = inspect(toss, { depth: 10, showHidden: true }) + JSON.stringify(toss)
    expect(shown).not.toContain('PRIVATE KEY')
  })
})
