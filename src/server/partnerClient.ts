import { X509Certificate } from 'node:crypto'
import https from 'node:https'
import tls from 'node:tls'
import { ORDER_ID_RULE, readOrderId } from '../core/errors.js'
import { TossApiError, type TossApiErrorCode } from './errors.js'
import { eventEmitter, since, type ServerEventListener } from './events.js'
import { withHeaders } from './http.js'
import { TOSS_ORDER_STATUSES, type TossOperation, type TossOrderStatus } from './tossApi.js'

export { TOSS_ORDER_STATUSES }
export type { TossOperation, TossOrderStatus }

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
  /**
   * Told of every request (`toss.attempt`: duration, HTTP status, fault), retry, rotation and call
   * (`toss.call`: total duration and outcome), after the fact; never awaited, a throw is caught.
   * Never given key material or user keys.
   */
  onEvent?: ServerEventListener
}

/** What the health check may know of a configured client certificate: its validity, nothing secret. */
export interface TossCertificateInfo {
  /** Position in `credentials` (or `cert`). */
  index: number
  notBefore: Date
  notAfter: Date
}

export interface GetOrderStatusOptions {
  /** The user who paid (`x-toss-user-key`), from Toss login. */
  userKey: string
  signal?: AbortSignal
}

/** What `generateToken` and `refreshToken` answer. The tokens are Toss's: keep them on the server. */
export interface TossLoginTokens {
  accessToken: string
  /** `null` when Toss sent none. */
  refreshToken: string | null
  /** Seconds the access token lives, as Toss said (`expiresIn`); `null` when it did not say. */
  expiresIn: number | null
  /** `null` when Toss sent none. */
  scope: string | null
  tokenType: string | null
}

/** The personal fields of login-me, as Toss sends them: encrypted (see `decryptTossUserField`), `null` when not shared. */
export type TossLoginField = 'name' | 'phone' | 'birthday' | 'ci' | 'di' | 'gender' | 'nationality' | 'email'

/** What login-me answers about the user. */
export interface TossLoginUser {
  /** The user's key for this mini-app, always as a string (Toss may send a JSON number; no digit is lost). */
  userKey: string
  scope: string | null
  agreedTerms: string[]
  /** Each personal field still encrypted as Toss sent it, `null` when the user did not share it. */
  encrypted: Record<TossLoginField, string | null>
}

/** An abort signal for one call. */
export interface TossCallOptions {
  signal?: AbortSignal
}

export interface TossPartnerClient {
  getOrderStatus(orderId: string, options: GetOrderStatusOptions): Promise<TossOrderStatusResult>
  /**
   * Toss login: exchanges the page's `appLogin()` answer for Toss's tokens. A code works once and
   * for about 10 minutes; a refused one is `REJECTED` (ask the user to log in again).
   */
  generateToken(grant: { authorizationCode: string; referrer: string }, options?: TossCallOptions): Promise<TossLoginTokens>
  /** Renews Toss's access token. */
  refreshToken(refreshToken: string, options?: TossCallOptions): Promise<TossLoginTokens>
  /** Who the access token belongs to: the `userKey` every order-status call needs. */
  getLoginUser(accessToken: string, options?: TossCallOptions): Promise<TossLoginUser>
  /** Logs one access token out at Toss. */
  removeAccessByAccessToken(accessToken: string, options?: TossCallOptions): Promise<void>
  /** Logs every token of a user out at Toss. */
  removeAccessByUserKey(userKey: string, options?: TossCallOptions): Promise<void>
  /** Closes kept-alive sockets. */
  close(): void
  /** The validity of each configured client certificate (for `createHealthHandler`); `[]` when one is unreadable as X.509. */
  readonly certificates: readonly TossCertificateInfo[]
}

const PARTNER = '/api-partner/v1/apps-in-toss'
const ORDER_STATUS_PATH = `${PARTNER}/order/get-order-status`

/** Toss login's partner paths. */
export const TOSS_LOGIN_PATHS = {
  generateToken: `${PARTNER}/user/oauth2/generate-token`,
  refreshToken: `${PARTNER}/user/oauth2/refresh-token`,
  loginMe: `${PARTNER}/user/oauth2/login-me`,
  removeByAccessToken: `${PARTNER}/user/oauth2/access/remove-by-access-token`,
  removeByUserKey: `${PARTNER}/user/oauth2/access/remove-by-user-key`,
} as const
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

/** One request to the partner API. */
interface Call {
  method: 'GET' | 'POST'
  path: string
  /** JSON text, or none (GET). */
  body?: string
  headers: Record<string, string>
  /** What the call is, for errors and events: `order-status`, `generate-token`, … */
  what: TossOperation
  /** The order asked about (order-status only), for events. */
  orderId?: string
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
  const emit = eventEmitter(options.onEvent)
  const certificates = certificateInfo(credentials)
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
  const timeoutMs = options.timeoutMs ?? 5000
  const retry = options.retry === false ? { attempts: 1 } : (options.retry ?? {})
  const attempts = Math.max(1, retry.attempts ?? 3)
  const baseDelay = retry.baseDelayMs ?? 200
  const maxDelay = retry.maxDelayMs ?? 3000
  let current = 0
  // Each path's URL, parsed once (there are six).
  const urls = new Map<string, URL>()
  const urlOf = (path: string) => {
    let url = urls.get(path)
    if (!url) urls.set(path, (url = new URL(path, base)))
    return url
  }

  const post = (agent: https.Agent, call: Call, signal?: AbortSignal) =>
    new Promise<Answer>((resolve, reject) => {
      const request = https.request(urlOf(call.path), {
        method: call.method,
        agent,
        headers:
          call.body === undefined
            ? call.headers
            : withHeaders(call.headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(call.body)) }),
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
      request.end(call.body)
    })

  /**
   * One request, rotating through the pairs when the handshake is refused: a TLS alert, or (TLS 1.3,
   * where the server checks the client certificate after the client thinks it is done) a reset of a
   * fresh connection before any answer. A pair becomes the current one only once it got an answer,
   * so a plain network reset never moves the client off a good pair.
   */
  async function send(call: Call, signal?: AbortSignal): Promise<Answer> {
    const start = current
    let alerts = 0
    let lastReset: PostFailure | undefined
    for (let tried = 0; tried < agents.length; tried++) {
      const index = (start + tried) % agents.length
      try {
        const answer = await post(agents[index]!, call, signal)
        if (index !== current) {
          options.log?.({ type: 'rotate', from: current, to: index })
          emit({ type: 'toss.rotate', from: current, to: index })
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

  function classify(error: unknown, attempt: number, what: string): TossApiError {
    if (error instanceof TossApiError) return error
    const e = error as NodeJS.ErrnoException
    if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR')
      return new TossApiError('ABORTED', `the ${what} call was aborted`, { attempts: attempt })
    if (e?.code === 'VUE_TOSS_IAP_TIMEOUT')
      return new TossApiError('TIMEOUT', `no answer from Toss within ${timeoutMs} ms`, { attempts: attempt })
    if (e?.code === 'VUE_TOSS_IAP_TOO_LARGE')
      return new TossApiError('BAD_RESPONSE', 'the answer from Toss was too large', { attempts: attempt })
    if (isUntrustedServer(e))
      return new TossApiError('TLS_REFUSED', `Toss's server certificate was not trusted (${e.code})`, { attempts: attempt, cause: e })
    return new TossApiError('NETWORK', `could not reach Toss (${e?.code ?? 'network error'})`, { attempts: attempt, cause: e })
  }

  /**
   * The `success` object of an answer, or the typed refusal. `userKey` is read from the raw text
   * first: Toss may send it as a JSON number, which `JSON.parse` would round above 2^53.
   */
  function unwrap(answer: Answer, attempt: number, what: string): Record<string, unknown> | undefined {
    let json: unknown
    try {
      const text = answer.body.includes('"userKey"') ? answer.body.replace(/("userKey"\s*:\s*)(-?\d+)(?=\s*[,}])/g, '$1"$2"') : answer.body
      json = JSON.parse(text)
    } catch {
      throw new TossApiError('BAD_RESPONSE', `Toss answered ${answer.status} with a body that is not JSON`, {
        httpStatus: answer.status,
        attempts: attempt,
      })
    }
    const body = json as { resultType?: unknown; success?: unknown; error?: { errorCode?: unknown; reason?: unknown } }
    if (body?.resultType === 'FAIL' || answer.status >= 400) {
      const tossCode = typeof body?.error?.errorCode === 'string' ? body.error.errorCode.slice(0, 80) : undefined
      throw new TossApiError('REJECTED', `Toss refused the ${what} request (${answer.status}${tossCode ? ` ${tossCode}` : ''})`, {
        httpStatus: answer.status,
        attempts: attempt,
        tossCode,
      })
    }
    const success = body?.success
    return body?.resultType === 'SUCCESS' && typeof success === 'object' && success !== null && !Array.isArray(success)
      ? (success as Record<string, unknown>)
      : undefined
  }

  function parse(answer: Answer, orderId: string, attempt: number): TossOrderStatusResult {
    const success = unwrap(answer, attempt, 'order-status')
    const status = success?.status
    if (!success || typeof status !== 'string' || !(TOSS_ORDER_STATUSES as readonly string[]).includes(status))
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

  /**
   * One call with bounded retries on network errors, timeouts, `5xx` and `429`. `read` turns an
   * answer into the result, or into an outcome worth one more try (`again`: order-status `ERROR`),
   * which is what the call gives when the tries run out.
   */
  async function request<T>(
    call: Call,
    signal: AbortSignal | undefined,
    read: (answer: Answer, attempt: number) => { done: T } | { again: T },
    stats: { attempts: number; tossStatus?: TossOrderStatus | null } = { attempts: 0 },
  ): Promise<T> {
    let last: { error: TossApiError } | { again: T } | undefined
    const orderId = call.orderId ?? null
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryAfter: number | undefined
      stats.attempts = attempt
      stats.tossStatus = null
      const attemptStart = performance.now()
      const attempted = (httpStatus: number | null, code: TossApiErrorCode | null) =>
        emit({
          type: 'toss.attempt',
          operation: call.what,
          orderId,
          attempt,
          durationMs: since(attemptStart),
          httpStatus,
          tossStatus: stats.tossStatus ?? null,
          code,
        })
      try {
        const answer = await send(call, signal)
        if (answer.status === 429) {
          retryAfter = retryAfterSeconds(answer.headers['retry-after'])
          last = {
            error: new TossApiError('RATE_LIMITED', 'Toss is rate-limiting this mini-app (429)', {
              httpStatus: 429,
              attempts: attempt,
              retryAfter,
            }),
          }
          attempted(429, 'RATE_LIMITED')
        } else if (answer.status >= 500) {
          last = {
            error: new TossApiError('SERVER_ERROR', `Toss answered ${answer.status}`, { httpStatus: answer.status, attempts: attempt }),
          }
          attempted(answer.status, 'SERVER_ERROR')
        } else {
          const step = read(answer, attempt) // a refused or unreadable answer throws: reported below
          attempted(answer.status, null)
          if ('done' in step) return step.done
          last = step
        }
      } catch (failure) {
        const e = classify(failure instanceof TossApiError ? failure : ((failure as PostFailure).error ?? failure), attempt, call.what)
        attempted(e.httpStatus ?? null, e.code)
        if (e.code !== 'NETWORK' && e.code !== 'TIMEOUT') throw e
        last = { error: e }
      }
      if (attempt === attempts) break
      const backoff = Math.random() * Math.min(maxDelay, baseDelay * 2 ** (attempt - 1))
      const delayMs = retryAfter === undefined ? backoff : retryAfter * 1000 + backoff
      if (delayMs > maxDelay) break // Toss asks for a longer pause than a waiting user should sit through
      options.log?.({
        type: 'retry',
        attempt,
        code: 'error' in last ? last.error.code : 'STATUS_ERROR',
        delayMs: Math.round(delayMs),
      })
      emit({
        type: 'toss.retry',
        operation: call.what,
        orderId,
        attempt,
        code: 'error' in last ? last.error.code : 'STATUS_ERROR',
        delayMs: Math.round(delayMs),
      })
      try {
        await sleep(delayMs, signal)
      } catch {
        throw new TossApiError('ABORTED', `the ${call.what} call was aborted`, { attempts: attempt })
      }
    }
    if ('error' in last!) throw last.error
    return last!.again // status ERROR on every attempt: the caller decides
  }

  /** Runs one partner call and tells `toss.call` of it: attempts, duration and outcome. */
  async function tracked<T>(
    operation: TossOperation,
    orderId: string | null,
    run: (stats: { attempts: number; tossStatus?: TossOrderStatus | null }) => Promise<T>,
  ): Promise<T> {
    const start = performance.now()
    const stats: { attempts: number; tossStatus?: TossOrderStatus | null } = { attempts: 0 }
    try {
      const result = await run(stats)
      emit({
        type: 'toss.call',
        operation,
        orderId,
        attempts: stats.attempts,
        durationMs: since(start),
        tossStatus: stats.tossStatus ?? null,
        code: null,
      })
      return result
    } catch (error) {
      const code = error instanceof TossApiError ? error.code : 'NETWORK'
      emit({ type: 'toss.call', operation, orderId, attempts: stats.attempts, durationMs: since(start), tossStatus: null, code })
      throw error
    }
  }

  const getOrderStatus = (orderId: string, { userKey, signal }: GetOrderStatusOptions): Promise<TossOrderStatusResult> =>
    tracked('order-status', readOrderId(orderId), async (stats) => {
      // Never ask Toss about an id no order can have (reconcile and fulfilment both come through here).
      if (readOrderId(orderId) === null) throw new TossApiError('INVALID_ARGUMENT', ORDER_ID_RULE)
      if (typeof userKey !== 'string' || userKey === '') throw new TossApiError('INVALID_ARGUMENT', 'userKey must be a non-empty string')
      const call: Call = {
        method: 'POST',
        path: ORDER_STATUS_PATH,
        body: JSON.stringify({ orderId }),
        headers: { 'x-toss-user-key': userKey },
        what: 'order-status',
        orderId,
      }
      return request<TossOrderStatusResult>(
        call,
        signal,
        (answer, attempt) => {
          const result = parse(answer, orderId, attempt)
          stats.tossStatus = result.status
          return result.status === 'ERROR' ? { again: result } : { done: result }
        },
        stats,
      )
    })

  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null)
  const needText = (name: string, value: unknown) => {
    if (typeof value !== 'string' || value === '' || value.length > 4096 || /[\s\p{Cc}]/u.test(value))
      throw new TossApiError('INVALID_ARGUMENT', `${name} must be a non-empty string without spaces`)
    return value
  }
  /** Toss's own word on a login call: the success object, or BAD_RESPONSE. */
  const loginSuccess = (answer: Answer, attempt: number, what: string) => {
    const success = unwrap(answer, attempt, what)
    if (!success)
      throw new TossApiError('BAD_RESPONSE', `Toss's ${what} answer has no success object`, {
        httpStatus: answer.status,
        attempts: attempt,
      })
    return success
  }
  const tokens = (what: string) => (answer: Answer, attempt: number) => {
    const success = loginSuccess(answer, attempt, what)
    const accessToken = text(success.accessToken)
    if (!accessToken)
      throw new TossApiError('BAD_RESPONSE', `Toss's ${what} answer has no accessToken`, { httpStatus: answer.status, attempts: attempt })
    const expiresIn = Number(success.expiresIn ?? success.expires_in ?? NaN)
    return {
      done: {
        accessToken,
        refreshToken: text(success.refreshToken),
        expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
        scope: text(success.scope),
        tokenType: text(success.tokenType),
      } satisfies TossLoginTokens,
    }
  }
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })
  /** A userKey as Toss types it: digits go as a JSON number written digit for digit, anything else as a string. */
  const userKeyJson = (userKey: string) => (/^[1-9]\d{0,30}$/.test(userKey) ? userKey : JSON.stringify(userKey))

  /** A login call: `request` with its `toss.call` event. */
  const loginCall = <T>(
    call: Call,
    signal: AbortSignal | undefined,
    read: (answer: Answer, attempt: number) => { done: T } | { again: T },
  ) => tracked(call.what, null, (stats) => request(call, signal, read, stats))

  const FIELDS: readonly TossLoginField[] = ['name', 'phone', 'birthday', 'ci', 'di', 'gender', 'nationality', 'email']

  return {
    getOrderStatus,
    generateToken: async ({ authorizationCode, referrer }, { signal } = {}) => {
      needText('authorizationCode', authorizationCode)
      needText('referrer', referrer)
      const body = JSON.stringify({ authorizationCode, referrer })
      return loginCall(
        { method: 'POST', path: TOSS_LOGIN_PATHS.generateToken, body, headers: {}, what: 'generate-token' },
        signal,
        tokens('generate-token'),
      )
    },
    refreshToken: async (refreshToken, { signal } = {}) => {
      needText('refreshToken', refreshToken)
      const body = JSON.stringify({ refreshToken })
      return loginCall(
        { method: 'POST', path: TOSS_LOGIN_PATHS.refreshToken, body, headers: {}, what: 'refresh-token' },
        signal,
        tokens('refresh-token'),
      )
    },
    getLoginUser: async (accessToken, { signal } = {}) => {
      needText('accessToken', accessToken)
      const call: Call = { method: 'GET', path: TOSS_LOGIN_PATHS.loginMe, headers: bearer(accessToken), what: 'login-me' }
      return loginCall(call, signal, (answer, attempt) => {
        const success = loginSuccess(answer, attempt, 'login-me')
        const userKey = typeof success.userKey === 'string' ? success.userKey.trim() : ''
        if (userKey === '' || userKey.length > 128)
          throw new TossApiError('BAD_RESPONSE', "Toss's login-me answer has no userKey", { httpStatus: answer.status, attempts: attempt })
        const terms = Array.isArray(success.agreedTerms) ? success.agreedTerms.filter((t): t is string => typeof t === 'string') : []
        const encrypted = Object.fromEntries(FIELDS.map((f) => [f, text(success[f])])) as Record<TossLoginField, string | null>
        return { done: { userKey, scope: text(success.scope), agreedTerms: terms, encrypted } }
      })
    },
    removeAccessByAccessToken: async (accessToken, { signal } = {}) => {
      needText('accessToken', accessToken)
      const call: Call = {
        method: 'POST',
        path: TOSS_LOGIN_PATHS.removeByAccessToken,
        body: '{}',
        headers: bearer(accessToken),
        what: 'remove-by-access-token',
      }
      await loginCall(call, signal, (answer, attempt) => (unwrap(answer, attempt, call.what), { done: undefined }))
    },
    removeAccessByUserKey: async (userKey, { signal } = {}) => {
      needText('userKey', userKey)
      const call: Call = {
        method: 'POST',
        path: TOSS_LOGIN_PATHS.removeByUserKey,
        body: `{"userKey":${userKeyJson(userKey)}}`,
        headers: {},
        what: 'remove-by-user-key',
      }
      await loginCall(call, signal, (answer, attempt) => (unwrap(answer, attempt, call.what), { done: undefined }))
    },
    close: () => agents.forEach((agent) => agent.destroy()),
    certificates,
  }
}

/** Each pair's certificate validity (the first certificate of a PEM chain is the client's own). */
function certificateInfo(credentials: readonly TossCredential[]): TossCertificateInfo[] {
  try {
    return credentials.map((c, index) => {
      const x509 = new X509Certificate(c.cert)
      return { index, notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) }
    })
  } catch {
    return []
  }
}
