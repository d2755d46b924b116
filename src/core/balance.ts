import { IapError } from './errors.js'
import { sendSigned, warnIfRelative, type EndpointOptions } from './grantViaEndpoint.js'

/** A spend as the page sends it: one idempotency key per spend the user meant. */
export interface SpendCall {
  currency: string
  amount: number
  reason: string
  idempotencyKey: string
}

/** How a spend ended. Never rejects (see `BalanceSource.spend`). */
export type SpendOutcome =
  /** Spent; `balance` is the balance right after it (`repeat`: the server had this key already). */
  | { status: 'spent'; balance: number; repeat: boolean; error: null }
  /** The balance is short (`INSUFFICIENT_BALANCE`): nothing was spent. */
  | { status: 'insufficient'; balance: null; repeat: false; error: IapError }
  /** Nothing is known to be spent: a refusal, or no answer after every retry (the same key may be sent again). */
  | { status: 'failed'; balance: null; repeat: false; error: IapError }

/** What `useBalance()` reads and spends through: `balanceViaEndpoint`, or your own. */
export interface BalanceSource {
  /** Every balance of the signed-in user. Throws an `IapError` when it cannot tell. */
  read(): Promise<Record<string, number>>
  /** Spends once per `idempotencyKey`, retrying with the same key. Never rejects. */
  spend(call: SpendCall): Promise<SpendOutcome>
}

export interface BalanceViaEndpointOptions extends EndpointOptions {
  /** Tries of a spend with the same key when no answer came (network error, 5xx, 429). Default 3. */
  attempts?: number
  /** Wait before the first retry, doubled each time. Default 300 ms. */
  retryDelayMs?: number
}

const failed = (code: IapError['code'], message: string, cause?: unknown): SpendOutcome => ({
  status: 'failed',
  balance: null,
  repeat: false,
  error: new IapError(code, message, { cause }),
})

async function readError(response: Response): Promise<{ code: string; message: string; retryable: boolean } | null> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown; retryable?: unknown } }
    const e = body?.error
    return typeof e?.code === 'string' ? { code: e.code, message: String(e.message ?? ''), retryable: e.retryable === true } : null
  } catch {
    return null
  }
}

/**
 * A ready `balance` for `createTossIap`: GETs `urls.balance` (the server's `createBalanceHandler`)
 * and POSTs spends to `urls.spend` (`createSpendHandler`) with the key in `Idempotency-Key`. With
 * `createTossLogin` the session is sent by itself, as for `grantViaEndpoint`.
 */
export function balanceViaEndpoint(
  urls: { balance: string | URL; spend: string | URL },
  options: BalanceViaEndpointOptions = {},
): BalanceSource {
  const attempts = Math.max(1, options.attempts ?? 3)
  const delay = options.retryDelayMs ?? 300
  return {
    async read() {
      warnIfRelative(urls.balance, 'balanceViaEndpoint')
      let response: Response
      try {
        response = await sendSigned(urls.balance, options, { method: 'GET', headers: { Accept: 'application/json' } })
      } catch (error) {
        throw new IapError('NETWORK_ERROR', 'the balance endpoint could not be reached', { cause: error })
      }
      if (!response.ok || response.redirected)
        throw new IapError('INVALID_RESPONSE', `the balance endpoint answered ${response.status || 'a redirect'}`)
      const body = (await response.json().catch(() => null)) as { balances?: unknown } | null
      const balances = body?.balances
      if (typeof balances !== 'object' || balances === null || !Object.values(balances).every((v) => Number.isSafeInteger(v)))
        throw new IapError('INVALID_RESPONSE', 'the balance endpoint answered another shape than { balances: { gems: 0 } }')
      return balances as Record<string, number>
    },
    async spend(call) {
      warnIfRelative(urls.spend, 'balanceViaEndpoint')
      const body = JSON.stringify({ currency: call.currency, amount: call.amount, reason: call.reason })
      let last: SpendOutcome = failed('NETWORK_ERROR', 'the spend endpoint could not be reached')
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (attempt > 1) await new Promise((r) => setTimeout(r, delay * 2 ** (attempt - 2)))
        let response: Response
        try {
          response = await sendSigned(urls.spend, options, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': call.idempotencyKey },
            body,
          })
        } catch (error) {
          last = failed('NETWORK_ERROR', 'the spend endpoint could not be reached', error)
          continue // the same key: a spend that did land answers its first result
        }
        if (response.ok && !response.redirected) {
          const answer = (await response.json().catch(() => null)) as { spent?: unknown; balance?: unknown; repeat?: unknown } | null
          if (answer?.spent === true && Number.isSafeInteger(answer.balance))
            return { status: 'spent', balance: answer.balance as number, repeat: answer.repeat === true, error: null }
          return failed('INVALID_RESPONSE', 'the spend endpoint answered another shape than { spent: true, balance }')
        }
        const error = await readError(response)
        if (error?.code === 'INSUFFICIENT_BALANCE')
          return {
            status: 'insufficient',
            balance: null,
            repeat: false,
            error: new IapError('INSUFFICIENT_BALANCE', `not enough ${call.currency}`),
          }
        if (response.status >= 500 || response.status === 429 || error?.retryable) {
          last = failed('NETWORK_ERROR', `the spend endpoint answered ${response.status}`)
          continue
        }
        return failed('INVALID_RESPONSE', `the spend endpoint refused the spend: ${error?.code ?? response.status}`)
      }
      return last
    },
  }
}

/** A fresh idempotency key: one per spend the user meant. */
export function newIdempotencyKey(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto
  if (c?.randomUUID) return c.randomUUID()
  const bytes = new Uint8Array(16)
  if (c?.getRandomValues) c.getRandomValues(bytes)
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256)
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}
