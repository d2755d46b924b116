import { ORDER_ID_RULE, readOrderId } from '../core/errors.js'
import type { GrantOrder, GrantOrderKind } from '../core/types.js'
import { TossApiError } from './errors.js'
import { eventEmitter, since, type ServerEventListener } from './events.js'
import {
  BodyError,
  corsHeaders,
  errorAnswer,
  handlerOf,
  jsonAnswer,
  readJson,
  type Answer,
  type CorsOptions,
  type HeaderRecord,
  refusalOf,
} from './http.js'
import type { BalanceEntry, Balances } from './balance.js'
import { GrantTimeoutError, type GrantLedger, type GrantRecord, type GrantTransaction } from './ledger.js'
import type { TossOrderStatusResult, TossPartnerClient } from './partnerClient.js'

/** Who is calling, as the app's session knows them. */
export interface AuthenticatedUser {
  /** The Toss user key (from Toss login): order-status is asked with it. */
  userKey: string
  /** The app's own user id: the ledger row belongs to it. */
  userId: string
}

export type Authenticate = (request: Request) => AuthenticatedUser | null | Promise<AuthenticatedUser | null>

export interface FulfilmentHandlerOptions {
  toss: Pick<TossPartnerClient, 'getOrderStatus'>
  ledger: GrantLedger
  /** The app's session check; `null` answers 401. */
  authenticate: Authenticate
  /** Gives the product, inside the ledger's transaction (write through `tx`). Throwing rolls the grant back. */
  onGrant?: (order: GrantRecord, tx: GrantTransaction) => Promise<void> | void
  /**
   * Consumables as a balance (`createBalances`): what the order's sku credits is written in the
   * grant's own transaction, after `onGrant`, so exactly once with the grant.
   */
  balances?: Balances
  /** Browser origins allowed to call (the mini-app's). Without it no CORS headers are sent. */
  cors?: CorsOptions
  /**
   * The sku to record, from Toss's (may be a server-side `ait.…` id) and the page's (`''` in some
   * recoveries). Default: Toss's, else the page's. Answer `null` to refuse the order (502, retryable).
   */
  resolveSku?: (tossSku: string | null, requestedSku: string) => string | null
  /**
   * The kind to record for a sku; default the page's `kind`, which is `'unknown'` for an order the
   * page recovered without knowing its product (the ledger records that as it is).
   */
  kindOf?: (sku: string, requested: GrantOrderKind) => GrantOrderKind
  /** How long `onGrant` may run before the grant is rolled back and answered 500. Default 20 s. */
  grantTimeoutMs?: number
  /** Largest body read, in bytes. Default 16 KiB. */
  maxBodyBytes?: number
  /** Told of every failure answered with a 5xx, with the order id. Default: one `console.error` line. */
  onError?: (error: unknown, context: { orderId: string | null; code: string }) => void
  /**
   * Told of every answer (`fulfilment.granted`, `.repeat`, `.refused` with its code) after it is
   * decided; never awaited, and a throw is caught. See `ServerEvent` and docs/server.md.
   */
  onEvent?: ServerEventListener
}

export type FulfilmentHandler = (request: Request) => Promise<Response>

/** What a granted order answers (also on a repeat). */
export interface FulfilmentSuccessBody {
  granted: true
  orderId: string
  sku: string
  /** `true` when the ledger already had the order: Toss was not asked. */
  repeat: boolean
}

type Parsed = { ok: true; order: GrantOrder } | { ok: false; message: string }

/** Checks the body `grantViaEndpoint` sends: `{ orderId, sku, kind, subscriptionId?, source }`. */
export function parseGrantOrder(body: unknown): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'the body must be a JSON object' }
  const b = body as Record<string, unknown>
  if (typeof b.orderId !== 'string' || b.orderId === '') return { ok: false, message: 'orderId is required' }
  // The page's own rule (readOrderId), so that an order the page grants is never refused here.
  if (readOrderId(b.orderId) === null) return { ok: false, message: ORDER_ID_RULE }
  // The page's sku and subscription id are only hints (Toss's sku is recorded): loosely checked, so
  // that a paid order is never refused over a spelling Toss did not promise.
  const sku = b.sku ?? ''
  if (typeof sku !== 'string' || sku.length > 256) return { ok: false, message: 'sku must be a string of at most 256 characters' }
  const kind = b.kind ?? 'one-time'
  if (kind !== 'one-time' && kind !== 'subscription' && kind !== 'unknown')
    return { ok: false, message: "kind must be 'one-time', 'subscription' or 'unknown'" }
  const source = b.source ?? 'purchase'
  if (source !== 'purchase' && source !== 'recovery') return { ok: false, message: "source must be 'purchase' or 'recovery'" }
  const sub = b.subscriptionId
  if (sub !== undefined && sub !== null && (typeof sub !== 'string' || sub === '' || sub.length > 256))
    return { ok: false, message: 'subscriptionId must be a non-empty string of at most 256 characters' }
  return { ok: true, order: { orderId: b.orderId, sku, kind, source, ...(typeof sub === 'string' && { subscriptionId: sub }) } }
}

/** What one request came to, for `onEvent`. */
interface Seen {
  orderId: string | null
  tossStatus: string | null
  granted: { sku: string; repeat: boolean } | null
  /** The balance entries the grant wrote. */
  credited?: BalanceEntry[]
}

const granted = (headers: HeaderRecord, record: Pick<GrantRecord, 'orderId' | 'sku'>, repeat: boolean, seen: Seen) => {
  seen.granted = { sku: record.sku, repeat }
  return jsonAnswer(200, { granted: true, orderId: record.orderId, sku: record.sku, repeat } satisfies FulfilmentSuccessBody, headers)
}

/**
 * The fulfilment endpoint: verifies the order with Toss as the calling user and grants it once.
 * See docs/server.md for every answer.
 */
export function createFulfilmentHandler(options: FulfilmentHandlerOptions): FulfilmentHandler {
  const limit = options.maxBodyBytes ?? 16 * 1024
  const resolveSku = options.resolveSku ?? ((tossSku, requested) => tossSku ?? (requested === '' ? null : requested))
  const report =
    options.onError ??
    ((error: unknown, { orderId, code }: { orderId: string | null; code: string }) =>
      console.error(`vue-toss-iap/server: ${code} for order ${orderId ?? '-'}: ${error instanceof Error ? error.message : String(error)}`))

  // Concurrent requests for one order in this process share one order-status call (Toss rate-limits).
  const inflight = new Map<string, Promise<TossOrderStatusResult>>()
  const askToss = (orderId: string, userKey: string) => {
    const key = `${orderId}\n${userKey}`
    let call = inflight.get(key)
    if (!call) {
      call = options.toss.getOrderStatus(orderId, { userKey }).finally(() => inflight.delete(key))
      inflight.set(key, call)
    }
    return call
  }

  const handle = async (request: Request, seen: Seen): Promise<Answer> => {
    const { allowed, headers } = corsHeaders(request, options.cors, 'POST, OPTIONS')
    if (!allowed) return errorAnswer(403, 'ORIGIN_NOT_ALLOWED', 'this origin may not call the fulfilment endpoint', headers)
    if (request.method === 'OPTIONS') return { status: 204, headers, body: null }
    if (request.method !== 'POST') {
      headers['Allow'] = 'POST, OPTIONS'
      return errorAnswer(405, 'METHOD_NOT_ALLOWED', 'POST the order as JSON', headers)
    }

    let body: unknown
    try {
      body = await readJson(request, limit)
    } catch (error) {
      if (error instanceof BodyError) return errorAnswer(error.status, error.code, error.message, headers)
      return errorAnswer(400, 'INVALID_JSON', 'the body could not be read', headers)
    }
    const parsed = parseGrantOrder(body)
    if (!parsed.ok) return errorAnswer(400, 'INVALID_ORDER', parsed.message, headers)
    const order = parsed.order
    seen.orderId = order.orderId

    let user: AuthenticatedUser | null
    try {
      user = await options.authenticate(request)
    } catch (error) {
      report(error, { orderId: order.orderId, code: 'AUTHENTICATION_UNAVAILABLE' })
      return errorAnswer(503, 'AUTHENTICATION_UNAVAILABLE', 'the session could not be checked', headers, { retryable: true })
    }
    if (!user || typeof user.userId !== 'string' || user.userId === '' || typeof user.userKey !== 'string' || user.userKey === '')
      return errorAnswer(401, 'UNAUTHENTICATED', 'sign in first', headers)

    const ownedElsewhere = () => errorAnswer(409, 'ORDER_OWNED_BY_ANOTHER_USER', 'this order was granted to another user', headers)

    // A repeat is answered from the ledger: Toss rate-limits each mini-app.
    let existing: Pick<GrantRecord, 'orderId' | 'userId' | 'sku'> | null
    try {
      existing = await options.ledger.ownerOf(order.orderId)
    } catch (error) {
      report(error, { orderId: order.orderId, code: 'LEDGER_UNAVAILABLE' })
      return errorAnswer(503, 'LEDGER_UNAVAILABLE', 'the ledger could not be read', headers, { retryable: true })
    }
    if (existing) return existing.userId === user.userId ? granted(headers, existing, true, seen) : ownedElsewhere()

    let status: TossOrderStatusResult
    try {
      status = await askToss(order.orderId, user.userKey)
    } catch (error) {
      return tossFailure(error, order.orderId, headers, report)
    }
    seen.tossStatus = status.status

    switch (status.status) {
      case 'PURCHASED':
      case 'PAYMENT_COMPLETED':
        break
      case 'ORDER_IN_PROGRESS':
        return errorAnswer(503, 'ORDER_IN_PROGRESS', 'Toss has not finished this payment yet', headers, {
          retryable: true,
          retryAfter: 5,
        })
      case 'FAILED':
        return errorAnswer(402, 'PAYMENT_FAILED', 'Toss says this payment failed', headers)
      case 'REFUNDED':
        return errorAnswer(410, 'ORDER_REFUNDED', 'Toss says this order was refunded before it was granted', headers)
      case 'NOT_FOUND':
        return errorAnswer(404, 'ORDER_NOT_FOUND', 'Toss knows no such order for this user', headers, { retryable: true })
      case 'MINIAPP_MISMATCH':
        return errorAnswer(403, 'MINIAPP_MISMATCH', 'this order belongs to another mini-app', headers)
      case 'ERROR':
        report(new Error('order-status answered ERROR on every attempt'), { orderId: order.orderId, code: 'TOSS_ERROR' })
        return errorAnswer(503, 'TOSS_ERROR', 'Toss could not tell the order status; try again later', headers, { retryable: true })
    }

    const sku = resolveSku(status.sku, order.sku)
    if (!sku) {
      report(new Error('Toss gave no sku and the page sent none'), { orderId: order.orderId, code: 'TOSS_BAD_RESPONSE' })
      return errorAnswer(502, 'TOSS_BAD_RESPONSE', 'Toss gave no sku for this order', headers, { retryable: true })
    }
    const kind = options.kindOf ? options.kindOf(sku, order.kind) : order.kind
    let result
    let onGrantThrew = false
    const appGrant = options.onGrant
    const balances = options.balances
    let credited: BalanceEntry[] = []
    const onGrant =
      appGrant || balances
        ? async (record: GrantRecord, tx: GrantTransaction) => {
            try {
              await appGrant?.(record, tx)
              if (balances) credited = await balances.credit(record, tx)
            } catch (error) {
              onGrantThrew = true
              throw error
            }
          }
        : undefined
    try {
      result = await options.ledger.grant(
        {
          orderId: order.orderId,
          userId: user.userId,
          sku,
          kind,
          subscriptionId: order.subscriptionId ?? null,
          tossStatus: status.status,
          tossStatusAt: status.statusDeterminedAt,
          source: order.source,
          userKey: user.userKey,
        },
        onGrant,
        { timeoutMs: options.grantTimeoutMs },
      )
    } catch (error) {
      if (error instanceof GrantTimeoutError) onGrantThrew = true
      const code = onGrantThrew ? 'GRANT_FAILED' : 'LEDGER_UNAVAILABLE'
      report(error, { orderId: order.orderId, code })
      return onGrantThrew
        ? errorAnswer(500, 'GRANT_FAILED', 'the product could not be given; nothing was recorded', headers, { retryable: true })
        : errorAnswer(503, 'LEDGER_UNAVAILABLE', 'the grant could not be recorded', headers, { retryable: true })
    }
    if (result.created) seen.credited = credited
    if (result.record.userId !== user.userId) return ownedElsewhere()
    return granted(headers, result.record, !result.created, seen)
  }

  const emit = eventEmitter(options.onEvent)
  if (!options.onEvent) return handlerOf((request) => handle(request, { orderId: null, tossStatus: null, granted: null }))
  return handlerOf(async (request) => {
    const start = performance.now()
    const seen: Seen = { orderId: null, tossStatus: null, granted: null }
    const answer = await handle(request, seen)
    const durationMs = since(start)
    const refusal = refusalOf(answer)
    for (const c of seen.credited ?? []) emit({ type: 'balance.credited', orderId: c.orderId!, currency: c.currency, amount: c.amount })
    if (seen.granted && seen.orderId !== null)
      emit(
        seen.granted.repeat
          ? { type: 'fulfilment.repeat', orderId: seen.orderId, sku: seen.granted.sku, durationMs }
          : { type: 'fulfilment.granted', orderId: seen.orderId, sku: seen.granted.sku, tossStatus: seen.tossStatus ?? '', durationMs },
      )
    else if (refusal) emit({ type: 'fulfilment.refused', orderId: seen.orderId, httpStatus: answer.status, ...refusal, durationMs })
    return answer
  })
}

/** The answer for a failed partner call (`what`: which request, for the message). */
export function tossFailure(
  error: unknown,
  orderId: string | null,
  headers: HeaderRecord,
  report: NonNullable<FulfilmentHandlerOptions['onError']>,
  what = 'order-status',
): Answer {
  const code = error instanceof TossApiError ? error.code : 'NETWORK'
  const answer = (status: number, c: Parameters<typeof errorAnswer>[1], message: string, retryAfter?: number) => {
    report(error, { orderId, code: c })
    return errorAnswer(status, c, message, headers, { retryable: true, ...(retryAfter !== undefined && { retryAfter }) })
  }
  switch (code) {
    case 'RATE_LIMITED':
      return answer(503, 'TOSS_RATE_LIMITED', 'Toss is rate-limiting; try again later', (error as TossApiError).retryAfter ?? 30)
    case 'SERVER_ERROR':
      return answer(503, 'TOSS_UNAVAILABLE', 'Toss is unavailable; try again later', 10)
    case 'TIMEOUT':
    case 'ABORTED':
      return answer(504, 'TOSS_TIMEOUT', 'Toss did not answer in time; try again later')
    case 'TLS_REFUSED':
      return answer(502, 'TOSS_TLS_REFUSED', 'the server could not connect to Toss securely (certificates)')
    case 'REJECTED':
    case 'INVALID_ARGUMENT':
      return answer(502, 'TOSS_REJECTED', `Toss refused the ${what} request`)
    case 'BAD_RESPONSE':
      return answer(502, 'TOSS_BAD_RESPONSE', 'Toss answered something this server does not understand')
    default:
      return answer(502, 'TOSS_UNREACHABLE', 'the server could not reach Toss; try again later')
  }
}
