import type { Balances } from './balance.js'
import { spendProblem } from './balance.js'
import { eventEmitter, since, type ServerEventListener } from './events.js'
import type { Authenticate, AuthenticatedUser } from './fulfilment.js'
import { cors as corsFor, errorResponse, json, readJsonPost, refusalOf, type CorsOptions } from './http.js'

interface CommonOptions {
  balances: Balances
  /** The app's session check (`sessions.authenticate` with Toss login); `null` answers 401. */
  authenticate: Authenticate
  /** Browser origins allowed to call (the mini-app's). Without it no CORS headers are sent. */
  cors?: CorsOptions
  /** Told of every failure answered with a 5xx. Default: one `console.error` line. */
  onError?: (error: unknown, context: { code: string }) => void
  /** Told of every answer after it is decided; never awaited, a throw is caught. */
  onEvent?: ServerEventListener
}

export type BalanceHandlerOptions = CommonOptions

export interface SpendHandlerOptions extends CommonOptions {
  /** Largest body read, in bytes. Default 4 KiB. */
  maxBodyBytes?: number
}

/** What the balance handler answers: every balance of the signed-in user (declared currencies at 0). */
export interface BalanceBody {
  balances: Record<string, number>
}

/** What a spend answers (also on a repeat with the same key: the first answer, `repeat: true`). */
export interface SpendSuccessBody {
  spent: true
  currency: string
  amount: number
  /** The balance right after this spend. */
  balance: number
  repeat: boolean
}

/** The body the spend handler takes; the idempotency key comes in the `Idempotency-Key` header. */
export interface SpendBody {
  currency: string
  amount: number
  reason: string
}

const defaultReport = (error: unknown, { code }: { code: string }) =>
  console.error(`vue-toss-iap/server: ${code} in a balance handler: ${error instanceof Error ? error.message : String(error)}`)

async function signedIn(request: Request, options: CommonOptions, headers: Headers): Promise<AuthenticatedUser | Response> {
  let user
  try {
    user = await options.authenticate(request)
  } catch (error) {
    ;(options.onError ?? defaultReport)(error, { code: 'AUTHENTICATION_UNAVAILABLE' })
    return errorResponse(503, 'AUTHENTICATION_UNAVAILABLE', 'the session could not be checked', headers, { retryable: true })
  }
  if (!user || typeof user.userId !== 'string' || user.userId === '') return errorResponse(401, 'UNAUTHENTICATED', 'sign in first', headers)
  return user
}

/** `GET`: the signed-in user's balances, `{ balances: { gems: 40 } }`. */
export function createBalanceHandler(options: BalanceHandlerOptions): (request: Request) => Promise<Response> {
  const report = options.onError ?? defaultReport
  const handle = async (request: Request, seen: { currencies: number | null }): Promise<Response> => {
    const { allowed, headers } = corsFor(request, options.cors, 'GET, OPTIONS')
    if (!allowed) return errorResponse(403, 'ORIGIN_NOT_ALLOWED', 'this origin may not read balances', headers)
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers })
    if (request.method !== 'GET') {
      headers.set('Allow', 'GET, OPTIONS')
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'use GET', headers)
    }
    const user = await signedIn(request, options, headers)
    if (user instanceof Response) return user
    try {
      const body: BalanceBody = { balances: await options.balances.balancesOf(user.userId) }
      seen.currencies = Object.keys(body.balances).length
      return json(200, body, headers)
    } catch (error) {
      report(error, { code: 'LEDGER_UNAVAILABLE' })
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the balance could not be read', headers, { retryable: true })
    }
  }
  const emit = eventEmitter(options.onEvent)
  if (!options.onEvent) return (request) => handle(request, { currencies: null })
  return async (request) => {
    const start = performance.now()
    const seen = { currencies: null as number | null }
    const response = await handle(request, seen)
    const durationMs = since(start)
    const refusal = refusalOf(response)
    if (seen.currencies !== null) emit({ type: 'balance.read', currencies: seen.currencies, durationMs })
    else if (refusal) emit({ type: 'balance.refused', httpStatus: response.status, code: refusal.code, durationMs })
    return response
  }
}

/**
 * `POST { currency, amount, reason }` with `Idempotency-Key: <key>`: spends once per key for the
 * signed-in user. A retry with the same key answers the first spend again (`repeat: true`); 409
 * `INSUFFICIENT_BALANCE` when the balance is short, 422 `IDEMPOTENCY_KEY_REUSED` when the key
 * already spent another amount or currency. See docs/balance.md for every answer.
 */
export function createSpendHandler(options: SpendHandlerOptions): (request: Request) => Promise<Response> {
  const limit = options.maxBodyBytes ?? 4 * 1024
  const report = options.onError ?? defaultReport
  const declared = options.balances.currencies
  type Seen = { spent: { currency: string; amount: number; repeat: boolean } | null }
  const handle = async (request: Request, seen: Seen): Promise<Response> => {
    const read = await readJsonPost(request, {
      cors: options.cors,
      limit,
      refused: 'this origin may not spend',
      post: 'POST the spend as JSON',
      allowHeaders: 'Content-Type, Authorization, Idempotency-Key',
    })
    if ('answer' in read) return read.answer
    const { headers, body } = read
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return errorResponse(400, 'INVALID_SPEND', 'the body must be a JSON object { currency, amount, reason }', headers)
    const b = body as Partial<SpendBody>
    const idempotencyKey = request.headers.get('Idempotency-Key') ?? undefined
    if (idempotencyKey === undefined) return errorResponse(400, 'INVALID_SPEND', 'send an Idempotency-Key header, one per spend', headers)
    const problem = spendProblem({ userId: 'checked-below', currency: b.currency, amount: b.amount, reason: b.reason, idempotencyKey })
    if (problem) return errorResponse(400, 'INVALID_SPEND', problem, headers)
    if (declared.length > 0 && !declared.includes(b.currency!))
      return errorResponse(400, 'INVALID_SPEND', `unknown currency ${JSON.stringify(b.currency)}`, headers)

    const user = await signedIn(request, options, headers)
    if (user instanceof Response) return user
    let result
    try {
      result = await options.balances.spend({
        userId: user.userId,
        currency: b.currency!,
        amount: b.amount!,
        reason: b.reason!,
        idempotencyKey,
      })
    } catch (error) {
      report(error, { code: 'LEDGER_UNAVAILABLE' })
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the spend could not be recorded; retry with the same key', headers, {
        retryable: true,
      })
    }
    switch (result.status) {
      case 'insufficient':
        return errorResponse(409, 'INSUFFICIENT_BALANCE', `the ${b.currency} balance is less than ${b.amount}`, headers)
      case 'key-reused':
        return errorResponse(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'this idempotency key already spent another amount or currency; make a new key for a new spend',
          headers,
        )
      case 'spent': {
        const answer: SpendSuccessBody = {
          spent: true,
          currency: result.entry.currency,
          amount: -result.entry.amount,
          balance: result.balance,
          repeat: result.repeat,
        }
        seen.spent = { currency: answer.currency, amount: answer.amount, repeat: answer.repeat }
        return json(200, answer, headers)
      }
    }
  }
  const emit = eventEmitter(options.onEvent)
  if (!options.onEvent) return (request) => handle(request, { spent: null })
  return async (request) => {
    const start = performance.now()
    const seen: Seen = { spent: null }
    const response = await handle(request, seen)
    const durationMs = since(start)
    const refusal = refusalOf(response)
    if (seen.spent) emit({ type: 'balance.spent', ...seen.spent, durationMs })
    else if (refusal) emit({ type: 'balance.refused', httpStatus: response.status, code: refusal.code, durationMs })
    return response
  }
}
