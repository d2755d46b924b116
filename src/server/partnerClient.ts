import https from 'node:https'
import tls from 'node:tls'
import { TossApiError, type TossApiErrorCode } from './errors.js'

/** Every status order-status is known to answer. */
export const TOSS_ORDER_STATUSES = [
  'PURCHASED',
  'PAYMENT_COMPLETED',
  'FAILED',
  'REFUNDED',
  'ORDER_IN_PROGRESS',
  'NOT_FOUND',
  'MINIAPP_MISMATCH',
  'ERROR',
] as const

export type TossOrderStatus = (typeof TOSS_ORDER_STATUSES)[number]

/** What Toss says about one order. */
export interface TossOrderStatusResult {
  orderId: string
  /** The sku Toss has for the order (may be the server-side `ait.…` id); `null` when Toss omits it. */
  sku: string | null
  status: TossOrderStatus
  /** `true` for `PURCHASED` and `PAYMENT_COMPLETED`: both have been seen for a paid order. */
  paid: boolean
  /** `statusDeterminedAt`, read as Korean time when it carries no zone; `null` when absent or unreadable. */
  statusDeterminedAt: Date | null
  reason: string | null
}

type Pem = string | Buffer

export interface TossCredential {
  cert: Pem
  key: Pem
  passphrase?: string
}

export interface TossRetryOptions {
  /** Requests per call at most, the first included. Default 3. */
  attempts?: number
  /** First backoff in ms; doubles each time, with full jitter. Default 200. */
  baseDelayMs?: number
  /** Longest wait between attempts; a `Retry-After` longer than this ends the call. Default 3000. */
  maxDelayMs?: number
}

export type TossClientLogEvent =
  | { type: 'retry'; attempt: number; code: TossApiErrorCode | 'STATUS_ERROR'; delayMs: number }
  | { type: 'rotate'; from: number; to: number }

export interface TossPartnerClientOptions {
  /**
   * The console-issued client certificate(s), PEM. Several, in the same order as `key`, while a
   * rotation is under way: see `credentials`.
   */
  cert?: Pem | Pem[]
  /** The private key(s) for `cert`, PEM. */
  key?: Pem | Pem[]
  /**
   * Certificate and key pairs, tried in order. The client uses one pair until Toss refuses it at the
   * TLS handshake, then moves to the next one for that request and for every later one. So during
   * a rotation list the new pair first and the old one second (or the other way round): no request
   * fails while either one is registered in the console.
   */
  credentials?: TossCredential[]
  /** Extra trusted CAs for Toss's server certificate (tests and the playground's fake API). */
  ca?: Pem | Pem[]
  /** Default `https://apps-in-toss-api.toss.im`. */
  baseUrl?: string | URL
  /** Per request, from connect to the last byte. Default 5000. */
  timeoutMs?: number
  /** Retries for network errors, timeouts, `5xx`, `429` and status `ERROR`; `false` for none. */
  retry?: TossRetryOptions | false
  /** Sockets kept per credential. Default 32. */
  maxSockets?: number
  /** Told of every retry and rotation. Never given key material or user keys. */
  log?: (event: TossClientLogEvent) => void
}

export interface GetOrderStatusOptions {
  /** The user who paid (`x-toss-user-key`), from Toss login. */
  userKey: string
  signal?: AbortSignal
}

export interface TossPartnerClient {
  getOrderStatus(orderId: string, options: GetOrderStatusOptions): Promise<TossOrderStatusResult>
  /** Closes kept-alive sockets. */
  close(): void
}

const ORDER_STATUS_PATH = '/api-partner/v1/apps-in-toss/order/get-order-status'
const MAX_ANSWER_BYTES = 64 * 1024

/** Reads a Toss timestamp: with `Z` or an offset as given, without one as Korean time (UTC+9). */
export function parseTossTime(value: unknown): Date | null {
  if (typeof value !== 'string' || value.trim() === '') return null
  let text = value.trim().replace(' ', 'T')
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) text += '+09:00'
  const time = Date.parse(text)
  return Number.isNaN(time) ? null : new Date(time)
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value])

function credentialsOf(options: TossPartnerClientOptions): TossCredential[] {
  if (options.credentials) return options.credentials
  const certs = list(options.cert)
  const keys = list(options.key)
  if (certs.length !== keys.length)
    throw new TossApiError('INVALID_ARGUMENT', `${certs.length} certificate(s) but ${keys.length} key(s): give them in pairs`)
  return certs.map((cert, i) => ({ cert, key: keys[i]! }))
}

/** A failed request, and whether it failed on a fresh connection before any answer. */
interface PostFailure {
  error: NodeJS.ErrnoException
  handshake: boolean
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Handshake refusals by the peer (a TLS alert), as opposed to a dropped connection. */
const isRefusedHandshake = (error: NodeJS.ErrnoException) =>
  /^ERR_SSL_.*ALERT/.test(error.code ?? '') || /alert (certificate|unknown ca|bad certificate|handshake|access denied)/i.test(error.message)

/** Toss's own certificate was not trusted: never retried, never rotated. */
const isUntrustedServer = (error: NodeJS.ErrnoException) =>
  /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_)/.test(error.code ?? '')

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })

function retryAfterSeconds(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000)
}

/**
 * A client for Toss's partner API over mutual TLS. Only order-status for now.
 *
 * Certificates and keys stay inside the client: they are in no property, no log event and no error.
 */
export function createTossPartnerClient(options: TossPartnerClientOptions): TossPartnerClient {
  const credentials = credentialsOf(options)
  if (credentials.length === 0)
    throw new TossApiError('INVALID_ARGUMENT', 'a client certificate and key are required (cert and key, or credentials)')
  // One secure context per pair, made here once: Node's https.Agent would otherwise put the CA text
  // into its pool key on every request and build a context (140-odd roots) on every connection.
  const extraCa = list(options.ca).map(String)
  const agents = credentials.map((credential, i) => {
    let secureContext: tls.SecureContext
    try {
      // Fails here, at startup, on an unreadable or mismatched pair rather than at the first order.
      secureContext = tls.createSecureContext({ cert: credential.cert, key: credential.key, passphrase: credential.passphrase })
    } catch (error) {
      throw new TossApiError(
        'INVALID_ARGUMENT',
        `client certificate pair ${i + 1} cannot be used (${(error as Error & { code?: string }).code ?? 'unreadable PEM or key that does not match'})`,
      )
    }
    if (extraCa.length > 0)
      try {
        // Node's roots and the extra CAs, as `ca` on a request would give.
        secureContext = tls.createSecureContext({
          cert: credential.cert,
          key: credential.key,
          passphrase: credential.passphrase,
          ca: [...tls.rootCertificates, ...extraCa],
        })
      } catch (error) {
        throw new TossApiError('INVALID_ARGUMENT', `ca cannot be read (${(error as Error & { code?: string }).code ?? 'unreadable PEM'})`)
      }
    return new https.Agent({ secureContext, keepAlive: true, maxSockets: options.maxSockets ?? 32 })
  })
  const base = new URL(options.baseUrl ?? 'https://apps-in-toss-api.toss.im')
  if (base.protocol !== 'https:') throw new TossApiError('INVALID_ARGUMENT', 'baseUrl must be https: the partner API is mutual TLS')
  const url = new URL(ORDER_STATUS_PATH, base)
  const timeoutMs = options.timeoutMs ?? 5000
  const retry = options.retry === false ? { attempts: 1 } : (options.retry ?? {})
  const attempts = Math.max(1, retry.attempts ?? 3)
  const baseDelay = retry.baseDelayMs ?? 200
  const maxDelay = retry.maxDelayMs ?? 3000
  let current = 0

  const post = (agent: https.Agent, body: string, userKey: string, signal?: AbortSignal) =>
    new Promise<Answer>((resolve, reject) => {
      const request = https.request(url, {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'x-toss-user-key': userKey,
        },
        signal,
      })
      const timer = setTimeout(() => request.destroy(Object.assign(new Error('timed out'), { code: 'VUE_TOSS_IAP_TIMEOUT' })), timeoutMs)
      let answered = false
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject({ error, handshake: !answered && !request.reusedSocket } satisfies PostFailure)
      })
      request.on('response', (response) => {
        answered = true
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_ANSWER_BYTES) request.destroy(Object.assign(new Error('answer too large'), { code: 'VUE_TOSS_IAP_TOO_LARGE' }))
          else chunks.push(chunk)
        })
        response.on('end', () => {
          clearTimeout(timer)
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })
        })
        response.on('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(timer)
          reject({ error, handshake: false } satisfies PostFailure)
        })
      })
      request.end(body)
    })

  /**
   * One request, rotating through the pairs when the handshake is refused: a TLS alert, or (TLS 1.3,
   * where the server checks the client certificate after the client thinks it is done) a reset of a
   * fresh connection before any answer. A pair becomes the current one only once it got an answer,
   * so a plain network reset never moves the client off a good pair.
   */
  async function send(body: string, userKey: string, signal?: AbortSignal): Promise<Answer> {
    const start = current
    let alerts = 0
    let lastReset: PostFailure | undefined
    for (let tried = 0; tried < agents.length; tried++) {
      const index = (start + tried) % agents.length
      try {
        const answer = await post(agents[index]!, body, userKey, signal)
        if (index !== current) {
          options.log?.({ type: 'rotate', from: current, to: index })
          current = index
        }
        return answer
      } catch (failure) {
        const { error, handshake } = failure as PostFailure
        if (isRefusedHandshake(error)) alerts++
        else if (handshake && agents.length > 1 && error.code === 'ECONNRESET') lastReset = failure as PostFailure
        else throw error
      }
    }
    if (alerts === 0 && lastReset) throw lastReset.error // every pair reset: more likely the network
    throw new TossApiError('TLS_REFUSED', `Toss refused every client certificate (${agents.length}) at the TLS handshake`)
  }

  function classify(error: unknown, attempt: number): TossApiError {
    if (error instanceof TossApiError) return error
    const e = error as NodeJS.ErrnoException
    if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR')
      return new TossApiError('ABORTED', 'the order-status call was aborted', { attempts: attempt })
    if (e?.code === 'VUE_TOSS_IAP_TIMEOUT')
      return new TossApiError('TIMEOUT', `no answer from Toss within ${timeoutMs} ms`, { attempts: attempt })
    if (e?.code === 'VUE_TOSS_IAP_TOO_LARGE')
      return new TossApiError('BAD_RESPONSE', 'the answer from Toss was too large', { attempts: attempt })
    if (isUntrustedServer(e))
      return new TossApiError('TLS_REFUSED', `Toss's server certificate was not trusted (${e.code})`, { attempts: attempt, cause: e })
    return new TossApiError('NETWORK', `could not reach Toss (${e?.code ?? 'network error'})`, { attempts: attempt, cause: e })
  }

  function parse(answer: Answer, orderId: string, attempt: number): TossOrderStatusResult {
    let json: unknown
    try {
      json = JSON.parse(answer.body)
    } catch {
      throw new TossApiError('BAD_RESPONSE', `Toss answered ${answer.status} with a body that is not JSON`, {
        httpStatus: answer.status,
        attempts: attempt,
      })
    }
    const body = json as { resultType?: unknown; success?: Record<string, unknown>; error?: { errorCode?: unknown; reason?: unknown } }
    if (body?.resultType === 'FAIL' || answer.status >= 400) {
      const tossCode = typeof body?.error?.errorCode === 'string' ? body.error.errorCode : undefined
      throw new TossApiError('REJECTED', `Toss refused the order-status request (${answer.status}${tossCode ? ` ${tossCode}` : ''})`, {
        httpStatus: answer.status,
        attempts: attempt,
        tossCode,
      })
    }
    const success = body?.success
    const status = success?.status
    if (
      body?.resultType !== 'SUCCESS' ||
      !success ||
      typeof status !== 'string' ||
      !(TOSS_ORDER_STATUSES as readonly string[]).includes(status)
    )
      throw new TossApiError(
        'BAD_RESPONSE',
        `Toss answered an order status this client does not know (${typeof status === 'string' ? status.slice(0, 40) : 'none'})`,
        {
          httpStatus: answer.status,
          attempts: attempt,
        },
      )
    if (typeof success.orderId === 'string' && success.orderId !== orderId)
      throw new TossApiError('BAD_RESPONSE', 'Toss answered about another order', { httpStatus: answer.status, attempts: attempt })
    const s = status as TossOrderStatus
    return {
      orderId,
      sku: typeof success.sku === 'string' && success.sku !== '' ? success.sku : null,
      status: s,
      paid: s === 'PURCHASED' || s === 'PAYMENT_COMPLETED',
      statusDeterminedAt: parseTossTime(success.statusDeterminedAt),
      reason: typeof success.reason === 'string' ? success.reason : null,
    }
  }

  async function getOrderStatus(orderId: string, { userKey, signal }: GetOrderStatusOptions): Promise<TossOrderStatusResult> {
    if (typeof orderId !== 'string' || orderId === '') throw new TossApiError('INVALID_ARGUMENT', 'orderId must be a non-empty string')
    if (typeof userKey !== 'string' || userKey === '') throw new TossApiError('INVALID_ARGUMENT', 'userKey must be a non-empty string')
    const body = JSON.stringify({ orderId })
    let last: TossApiError | TossOrderStatusResult | undefined
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryAfter: number | undefined
      try {
        const answer = await send(body, userKey, signal)
        if (answer.status === 429) {
          retryAfter = retryAfterSeconds(answer.headers['retry-after'])
          last = new TossApiError('RATE_LIMITED', 'Toss is rate-limiting this mini-app (429)', {
            httpStatus: 429,
            attempts: attempt,
            retryAfter,
          })
        } else if (answer.status >= 500) {
          last = new TossApiError('SERVER_ERROR', `Toss answered ${answer.status}`, { httpStatus: answer.status, attempts: attempt })
        } else {
          const result = parse(answer, orderId, attempt)
          if (result.status !== 'ERROR') return result
          last = result
        }
      } catch (failure) {
        const e = classify(failure instanceof TossApiError ? failure : ((failure as PostFailure).error ?? failure), attempt)
        if (e.code !== 'NETWORK' && e.code !== 'TIMEOUT') throw e
        last = e
      }
      if (attempt === attempts) break
      const backoff = Math.random() * Math.min(maxDelay, baseDelay * 2 ** (attempt - 1))
      const delayMs = retryAfter === undefined ? backoff : retryAfter * 1000 + backoff
      if (delayMs > maxDelay) break // Toss asks for a longer pause than a waiting user should sit through
      options.log?.({
        type: 'retry',
        attempt,
        code: last instanceof TossApiError ? last.code : 'STATUS_ERROR',
        delayMs: Math.round(delayMs),
      })
      try {
        await sleep(delayMs, signal)
      } catch {
        throw new TossApiError('ABORTED', 'the order-status call was aborted', { attempts: attempt })
      }
    }
    if (last instanceof TossApiError) throw last
    return last! // status ERROR on every attempt: the caller decides
  }

  return {
    getOrderStatus,
    close: () => agents.forEach((agent) => agent.destroy()),
  }
}
