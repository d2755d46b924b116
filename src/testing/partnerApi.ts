import { X509Certificate } from 'node:crypto'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { TossOrderStatus } from '../server/partnerClient.js'
import { createTestCertificates, type PemPair, type TestCertificates } from './certificates.js'
import { createFakeLogin, type FakeTossLogin, type FakeTossLoginOptions } from './fakeLogin.js'
import type { SimOrder } from './types.js'

/** One order as the fake Toss knows it. */
export interface FakeTossOrder {
  orderId: string
  sku: string
  status: TossOrderStatus
  /** The user who paid; when set, order-status with another `x-toss-user-key` answers `NOT_FOUND`. */
  userKey?: string
  /** Sent as given; default: now in Korean time without a zone, as Toss's examples show it. */
  statusDeterminedAt?: string
  reason?: string
}

/** What the next order-status requests get instead of the truth. */
export type FakeTossFault =
  /** This status for the asked order (`ERROR`, `NOT_FOUND`, …). */
  | { status: TossOrderStatus }
  /** This HTTP status (`429`, `500`, `503`, …), with a `Retry-After` in seconds when given. */
  | { http: number; retryAfter?: number; body?: string }
  /** Answers normally after this many ms (longer than the client's timeout: a timeout). */
  | { delayMs: number }
  /** Closes the connection without an answer. */
  | 'drop'

export interface FakeTossPartnerApiOptions {
  /** Where orders come from: a lookup (e.g. over a simulator's ledger) or a fixed list. Default: an empty map, filled with `setOrder`. */
  orders?: ((orderId: string) => FakeTossOrder | undefined | Promise<FakeTossOrder | undefined>) | Iterable<FakeTossOrder>
  /** Reuse certificates (making them takes a moment); default fresh ones. */
  certificates?: TestCertificates
  /** Default 0: any free port on 127.0.0.1. */
  port?: number
  /** The clock requests are recorded by (`requests[].at`, `maxRequestsPerMinute`); default `Date.now`. Share a fake one with the code under test. */
  now?: () => number
  /** Toss login's codes and tokens (lifetimes, the personal-field key). */
  login?: FakeTossLoginOptions
}

export interface FakeTossRequest {
  at: number
  orderId: string | null
  userKey: string | null
  /** What was answered: a status or an HTTP code. */
  answer: TossOrderStatus | number | 'drop' | 'slow'
}

export interface FakeTossPartnerApi {
  /** Base URL, e.g. `https://127.0.0.1:43123`: pass it as the client's `baseUrl`. */
  readonly url: string
  readonly certificates: TestCertificates
  /** Ready options for `createTossPartnerClient` (its `baseUrl`, `ca`, `cert`, `key`). */
  clientOptions(pair?: PemPair): { baseUrl: string; ca: string; cert: string; key: string }
  setOrder(order: FakeTossOrder): void
  /** The store refunded this order (one set with `setOrder`): order-status answers `REFUNDED` from now on. */
  refund(orderId: string): void
  /** The next `times` order-status requests (for `orderId` only, when given) get `fault`. */
  failNext(fault: FakeTossFault, times?: number, orderId?: string): void
  /** Every order-status request from now on gets `fault`, until `clearFaults()`. */
  failAll(fault: FakeTossFault): void
  clearFaults(): void
  /** Refuses this client certificate at the handshake from now on (a pair removed from the console). */
  refuseClientCertificate(cert: string): void
  /** Order-status requests answered, oldest first. */
  readonly requests: readonly FakeTossRequest[]
  requestsFor(orderId: string): number
  /** The most requests seen within any 60-second window. */
  maxRequestsPerMinute(): number
  /** Handshakes refused (wrong or refused client certificate). */
  readonly refusedHandshakes: number
  /** Toss login: codes as `appLogin()` gives them, tokens, login-me, logout; with faults on demand. */
  readonly login: FakeTossLogin
  close(): Promise<void>
}

const ORDER_STATUS_PATH = '/api-partner/v1/apps-in-toss/order/get-order-status'
const LOGIN_PREFIX = '/api-partner/v1/apps-in-toss/user/oauth2/'

/** Korean time without a zone, as Toss's examples show it: `2026-08-11T12:00:00`. */
export const koreanTime = (date = new Date()) => new Date(date.getTime() + 9 * 3600_000).toISOString().slice(0, 19)

/** What Toss would answer for a simulator order: refunded, completed (granted) or paid and waiting. */
export function fromSimulatorOrder(order: SimOrder, userKey?: string): FakeTossOrder {
  const status: TossOrderStatus = order.refunded
    ? 'REFUNDED'
    : order.completed
      ? 'PURCHASED'
      : order.paid
        ? 'PAYMENT_COMPLETED'
        : 'ORDER_IN_PROGRESS'
  const at = order.refundedAt ?? order.completedAt ?? order.paidAt
  return { orderId: order.orderId, sku: order.sku, status, ...(userKey && { userKey }), statusDeterminedAt: koreanTime(new Date(at)) }
}

const fingerprint = (cert: string) => new X509Certificate(cert).fingerprint256

/**
 * A fake of Toss's partner API on 127.0.0.1: real HTTPS that requires a client certificate signed
 * by its throwaway CA, answering order-status from an order lookup, with faults on demand.
 */
export async function startFakeTossPartnerApi(options: FakeTossPartnerApiOptions = {}): Promise<FakeTossPartnerApi> {
  const certificates = options.certificates ?? (await createTestCertificates())
  const map = new Map<string, FakeTossOrder>()
  const source = options.orders
  if (source && typeof source !== 'function') for (const o of source) map.set(o.orderId, o)
  const lookup = async (orderId: string) => (typeof source === 'function' ? await source(orderId) : undefined) ?? map.get(orderId)
  const queue: Array<{ fault: FakeTossFault; times: number; orderId?: string }> = []
  let always: FakeTossFault | null = null
  const refused = new Set<string>()
  const refusedSockets = new WeakSet<object>()
  const requests: FakeTossRequest[] = []
  let refusedHandshakes = 0
  const now = options.now ?? Date.now
  const fakeLogin = createFakeLogin(options.login ?? {}, now)

  const takeFault = (orderId: string | null): FakeTossFault | null => {
    const i = queue.findIndex((q) => q.orderId === undefined || q.orderId === orderId)
    if (i >= 0) {
      const entry = queue[i]!
      if (--entry.times <= 0) queue.splice(i, 1)
      return entry.fault
    }
    return always
  }

  const server = https.createServer(
    {
      cert: certificates.server.cert,
      key: certificates.server.key,
      ca: [certificates.ca.cert],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      // A refused certificate's connection is closed in `secureConnection`; a request may still
      // have been parsed from it: it gets no answer either.
      if (refusedSockets.has(req.socket)) return req.socket.destroy()
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', async () => {
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
          res.end(typeof body === 'string' ? body : JSON.stringify(body))
        }
        if (req.url?.startsWith(LOGIN_PREFIX)) {
          const header = req.headers.authorization
          const login = fakeLogin.answer(
            req.url.slice(LOGIN_PREFIX.length),
            req.method ?? '',
            header,
            Buffer.concat(chunks).toString('utf8'),
          )
          if (login?.drop) return req.socket.destroy()
          if (login) {
            const timer = setTimeout(() => send(login.status, login.body ?? '', login.headers), login.delayMs ?? 0)
            res.on('close', () => clearTimeout(timer))
            return
          }
        }
        if (req.method !== 'POST' || req.url !== ORDER_STATUS_PATH)
          return send(404, { resultType: 'FAIL', error: { errorCode: 'NOT_FOUND', reason: 'no such API' } })
        let orderId: string | null = null
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { orderId?: unknown }
          if (typeof body.orderId === 'string') orderId = body.orderId
        } catch {
          /* answered below */
        }
        const header = req.headers['x-toss-user-key']
        const userKey = typeof header === 'string' && header !== '' ? header : null
        const record = (answer: FakeTossRequest['answer']) => requests.push({ at: now(), orderId, userKey, answer })
        if (!orderId || !userKey) {
          record(400)
          return send(400, {
            resultType: 'FAIL',
            error: { errorCode: 'INVALID_REQUEST', reason: 'orderId and x-toss-user-key are required' },
          })
        }
        const order = await lookup(orderId).catch(() => undefined)
        const answer = (status: TossOrderStatus, recorded = false) => {
          const visible = order && (!order.userKey || order.userKey === userKey)
          const shown = status === 'NOT_FOUND' || !visible ? null : order
          const finalStatus = shown ? status : 'NOT_FOUND'
          if (!recorded) record(finalStatus)
          send(200, {
            resultType: 'SUCCESS',
            success: {
              orderId,
              sku: shown?.sku ?? null,
              status: finalStatus,
              statusDeterminedAt: shown?.statusDeterminedAt ?? koreanTime(),
              reason: shown?.reason ?? null,
            },
          })
        }
        const fault = takeFault(orderId)
        if (fault === null) return answer(order?.status ?? 'NOT_FOUND')
        if (fault === 'drop') {
          record('drop')
          return req.socket.destroy()
        }
        if ('status' in fault) return answer(fault.status)
        if ('http' in fault) {
          record(fault.http)
          return send(
            fault.http,
            fault.body ?? { resultType: 'FAIL', error: { errorCode: `HTTP_${fault.http}` } },
            fault.retryAfter === undefined ? {} : { 'Retry-After': String(fault.retryAfter) },
          )
        }
        record('slow')
        const timer = setTimeout(() => answer(order?.status ?? 'NOT_FOUND', true), fault.delayMs)
        res.on('close', () => clearTimeout(timer))
      })
    },
  )
  server.on('tlsClientError', () => refusedHandshakes++)
  server.on('secureConnection', (socket: TLSSocket) => {
    if (refused.size === 0) return
    const peer = socket.getPeerCertificate()
    if (peer?.fingerprint256 && refused.has(peer.fingerprint256)) {
      refusedSockets.add(socket)
      refusedHandshakes++
      socket.destroy()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    certificates,
    clientOptions: (pair = certificates.client) => ({ baseUrl: url, ca: certificates.ca.cert, cert: pair.cert, key: pair.key }),
    setOrder: (order) => void map.set(order.orderId, order),
    refund: (orderId) => {
      const order = map.get(orderId)
      if (!order) throw new Error(`the fake Toss API has no order ${orderId} to refund (setOrder it first)`)
      map.set(orderId, { ...order, status: 'REFUNDED', statusDeterminedAt: koreanTime(new Date(now())) })
    },
    failNext: (fault, times = 1, orderId) => void queue.push({ fault, times, ...(orderId !== undefined && { orderId }) }),
    failAll: (fault) => void (always = fault),
    clearFaults: () => {
      queue.length = 0
      always = null
    },
    refuseClientCertificate: (cert) => void refused.add(fingerprint(cert)),
    requests,
    requestsFor: (orderId) => requests.filter((r) => r.orderId === orderId).length,
    maxRequestsPerMinute: () => {
      let best = 0
      for (let i = 0, j = 0; i < requests.length; i++) {
        while (requests[i]!.at - requests[j]!.at >= 60_000) j++
        best = Math.max(best, i - j + 1)
      }
      return best
    },
    get refusedHandshakes() {
      return refusedHandshakes
    },
    login: fakeLogin.login,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The snapshot Toss puts in `subscription.previous` and `subscription.current`. */
export interface FakeSubscriptionSnapshot {
  status: string
  accessGranted?: boolean
  /** Korean time without a zone, as Toss sends it (`koreanTime(date)`). */
  expiresAt?: string | null
  autoRenew?: boolean
}

/** A `subscription.status_changed` body as Toss posts it (event version 1.0). */
export interface FakeSubscriptionEvent {
  eventType: 'subscription.status_changed'
  eventVersion: '1.0'
  occurredAt: string
  orderId: string
  sku: string
  changeReason: string
  subscription: { previous?: FakeSubscriptionSnapshot; current: FakeSubscriptionSnapshot }
}

/** What Toss posts first when a callback URL is registered in the console. */
export const registrationVerification = (at = new Date()) => ({
  eventType: 'callback.registration_verification',
  occurredAt: koreanTime(at),
})

/** A status change for `orderId` (the subscription's first order), at `at` in Korean time. */
export function subscriptionStatusChanged(options: {
  orderId: string
  sku?: string
  at: Date
  changeReason: string
  current: FakeSubscriptionSnapshot
  previous?: FakeSubscriptionSnapshot
}): FakeSubscriptionEvent {
  return {
    eventType: 'subscription.status_changed',
    eventVersion: '1.0',
    occurredAt: koreanTime(options.at),
    orderId: options.orderId,
    sku: options.sku ?? 'premium-monthly',
    changeReason: options.changeReason,
    subscription: { ...(options.previous && { previous: options.previous }), current: options.current },
  }
}

/**
 * A subscription's life as a chain of events, each `previous` the one before's `current`: created,
 * renewed, grace period, on hold, recovered, paused, resumed, expired, revoked, and one status and
 * one reason this library has never seen. Days apart from `start`.
 */
export function subscriptionLifecycle(
  orderId: string,
  start = new Date('2026-08-01T00:00:00Z'),
  sku = 'premium-monthly',
): FakeSubscriptionEvent[] {
  const day = (n: number) => new Date(start.getTime() + n * 86_400_000)
  const steps: Array<[number, string, string, boolean, number | null, boolean]> = [
    [0, 'PURCHASED', 'ACTIVE', true, 30, true],
    [30, 'RENEWED', 'ACTIVE', true, 60, true],
    [60, 'PAYMENT_FAILED', 'IN_GRACE_PERIOD', true, 63, true],
    [63, 'GRACE_PERIOD_ENDED', 'ON_HOLD', false, 63, true],
    [65, 'RECOVERED', 'ACTIVE', true, 95, true],
    [70, 'PAUSED', 'PAUSED', false, 95, false],
    [80, 'RESUMED', 'ACTIVE', true, 110, true],
    [85, 'SOMETHING_NEW', 'FROZEN_BY_TOSS', false, 110, false],
    [90, 'AUTO_RENEW_DISABLED', 'ACTIVE', true, 110, false],
    [110, 'EXPIRED', 'EXPIRED', false, 110, false],
    [111, 'REVOKED', 'REVOKED', false, 110, false],
  ]
  let previous: FakeSubscriptionSnapshot | undefined
  return steps.map(([offset, changeReason, status, accessGranted, expires, autoRenew]) => {
    const current = { status, accessGranted, expiresAt: expires === null ? null : koreanTime(day(expires)), autoRenew }
    const event = subscriptionStatusChanged({ orderId, sku, at: day(offset), changeReason, current, ...(previous && { previous }) })
    previous = current
    return event
  })
}

/** Posts an event to a webhook URL as Toss does (`Authorization: Basic …` as set in the console). */
export async function sendTossWebhook(
  url: string,
  event: unknown,
  { credential, scheme = 'Basic' }: { credential: string | null; scheme?: 'Basic' | 'Bearer' },
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(credential !== null && { Authorization: `${scheme} ${credential}` }) },
    body: typeof event === 'string' ? event : JSON.stringify(event),
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === '' ? null : JSON.parse(text)
  } catch {
    /* kept as text */
  }
  return { status: response.status, body }
}
