/** Why a call to Toss's partner API did not give an answer. */
export type TossApiErrorCode =
  /** The connection failed or dropped (DNS, refused, reset). */
  | 'NETWORK'
  /** No answer within `timeoutMs`. */
  | 'TIMEOUT'
  /** `429` on every attempt. */
  | 'RATE_LIMITED'
  /** `5xx` on every attempt. */
  | 'SERVER_ERROR'
  /** Toss refused every configured client certificate at the TLS handshake. */
  | 'TLS_REFUSED'
  /** Toss answered `resultType: "FAIL"` or a `4xx`: the request itself was refused. */
  | 'REJECTED'
  /** The answer was not the documented JSON. */
  | 'BAD_RESPONSE'
  /** The call was aborted by the caller's signal. */
  | 'ABORTED'
  /** The client was configured or called wrongly (no certificate, unreadable PEM, empty orderId). */
  | 'INVALID_ARGUMENT'

export interface TossApiErrorOptions {
  /** HTTP status of the last answer, when there was one. */
  httpStatus?: number
  /** How many requests were made. */
  attempts?: number
  /** Seconds Toss asked to wait (`Retry-After`), when it said. */
  retryAfter?: number
  /** Toss's own error code from a `FAIL` answer, when it sent one. */
  tossCode?: string
  cause?: unknown
}

const PEM = /-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g

/** Removes anything that looks like PEM material from a text (certificates and keys alike). */
export function redact(text: string): string {
  return text.replace(PEM, '[redacted PEM]')
}

/**
 * Rebuilds an error from Node or a socket as a plain one that carries only its name, code and
 * message (PEM-looking text removed), so that nothing the original held on to (request options,
 * secure contexts, sockets) travels with it into a log.
 */
export function safeCause(error: unknown): Error | undefined {
  if (error === undefined) return undefined
  const source = error as { name?: unknown; code?: unknown; message?: unknown }
  const message = typeof source?.message === 'string' ? source.message : String(error)
  const safe = new Error(redact(message))
  if (typeof source?.name === 'string') safe.name = source.name
  if (typeof source?.code === 'string') (safe as Error & { code?: string }).code = source.code
  safe.stack = `${safe.name}: ${safe.message}`
  return safe
}

/** An order-status call that did not give an answer. Never carries key material or user keys. */
export class TossApiError extends Error {
  override readonly name = 'TossApiError'
  readonly code: TossApiErrorCode
  readonly httpStatus: number | undefined
  readonly attempts: number
  readonly retryAfter: number | undefined
  readonly tossCode: string | undefined

  constructor(code: TossApiErrorCode, message: string, options: TossApiErrorOptions = {}) {
    super(`vue-toss-iap/server: ${redact(message)}`, options.cause === undefined ? undefined : { cause: safeCause(options.cause) })
    this.code = code
    this.httpStatus = options.httpStatus
    this.attempts = options.attempts ?? 0
    this.retryAfter = options.retryAfter
    this.tossCode = options.tossCode
  }
}
