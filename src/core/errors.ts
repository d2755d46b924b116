/** Codes Toss itself sends when a purchase or a bridge call fails. */
export const TOSS_ERROR_CODES = [
  'INVALID_PRODUCT_ID',
  'PAYMENT_PENDING',
  'NETWORK_ERROR',
  'INVALID_USER_ENVIRONMENT',
  'ITEM_ALREADY_OWNED',
  'APP_MARKET_VERIFICATION_FAILED',
  'TOSS_SERVER_VERIFICATION_FAILED',
  'INTERNAL_ERROR',
  'KOREAN_ACCOUNT_ONLY',
  'USER_CANCELED',
  'PRODUCT_NOT_GRANTED_BY_PARTNER',
  'APP_BRIDGE_THROTTLED',
] as const

/** Codes this package adds on top of Toss's own. */
export const PACKAGE_ERROR_CODES = [
  'UNSUPPORTED_ENVIRONMENT',
  'UNSUPPORTED_APP_VERSION',
  'TIMEOUT',
  'GRANT_FAILED',
  'PURCHASE_IN_PROGRESS',
  'ABORTED',
  'INVALID_RESPONSE',
  'INVALID_ARGUMENT',
  'NOT_INSTALLED',
  'LOGIN_REQUIRED',
  'INSUFFICIENT_BALANCE',
  'UNKNOWN',
] as const

export type TossErrorCode = (typeof TOSS_ERROR_CODES)[number]
export type IapErrorCode = TossErrorCode | (typeof PACKAGE_ERROR_CODES)[number]

export interface IapErrorOptions {
  cause?: unknown
  orderId?: string
  sku?: string
}

/**
 * The one error type of `vue-toss-iap`. `code` tells what happened; `cause` keeps whatever the SDK
 * or the host threw.
 */
export class IapError extends Error {
  override readonly name = 'IapError'
  readonly code: IapErrorCode
  readonly orderId?: string
  readonly sku?: string

  constructor(code: IapErrorCode, message: string, options: IapErrorOptions = {}) {
    super(`[vue-toss-iap] ${message}`, { cause: options.cause })
    // Every field is an own property (class fields), `undefined` when not given.
    this.code = code
    this.orderId = options.orderId
    this.sku = options.sku
  }
}

export function isIapError(value: unknown, code?: IapErrorCode): value is IapError {
  return value instanceof IapError && (code === undefined || value.code === code)
}

/** True for the outcomes a user chose (cancel, abort), which are not failures. */
export function isCancellation(error: unknown): boolean {
  return isIapError(error) && (error.code === 'USER_CANCELED' || error.code === 'ABORTED')
}

/** What the SDK throws outside the Toss app. */
const BROWSER_ERROR = /not available in browser environment|is not a constant handler|__GRANITE_NATIVE_EMITTER is not available/i

/** A code of Toss's in what the host sent (the code alone, or a message naming it). */
function findCode(text: string): IapErrorCode | undefined {
  for (const code of TOSS_ERROR_CODES) if (new RegExp(`\\b${code}\\b`).test(text)) return code
  if (BROWSER_ERROR.test(text)) return 'UNSUPPORTED_ENVIRONMENT'
  return undefined
}

/** Reads `key` of `value`; a getter that throws, or a hostile proxy, reads as `undefined`. */
function field(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

/**
 * Reads anything the SDK or a host may reject with (a 2.x `Error` with `code`, a bare `Error`, a
 * plain object, a string) into an `IapError`. Unknown shapes become `UNKNOWN`. It never throws,
 * whatever the value does when read: a timeout waiting on it must still settle.
 */
export function toIapError(error: unknown, context: IapErrorOptions & { during?: string } = {}): IapError {
  if (error instanceof IapError) return error
  const options: IapErrorOptions = { cause: error, orderId: context.orderId, sku: context.sku }
  const during = context.during ? ` during ${context.during}` : ''
  let rawCode: unknown
  let message = ''
  if (typeof error === 'string') {
    message = error
  } else if (error !== null && typeof error === 'object') {
    rawCode = field(error, 'code')
    const m = field(error, 'message')
    message = typeof m === 'string' ? m : ''
  }
  const code = (typeof rawCode === 'string' ? findCode(rawCode) : undefined) ?? (message ? findCode(message) : undefined) ?? 'UNKNOWN'
  const detail = message || (typeof rawCode === 'string' ? rawCode : '') || 'no details'
  return new IapError(code, `Toss answered ${code}${during}: ${detail.slice(0, 500)}`, options)
}

/** A short, safe rendering of any value for an error message: never throws, never long. */
export function describeValue(value: unknown): string {
  try {
    if (value === undefined) return 'undefined'
    const text = JSON.stringify(value)
    return (text === undefined ? String(value) : text).slice(0, 120)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** Throws `INVALID_ARGUMENT` unless `value` is a non-empty string (a sku, a key). */
export function requireText(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new IapError('INVALID_ARGUMENT', `${name} must be a non-empty string, got ${describeValue(value)}`)
  }
  return value
}

/**
 * The one orderId rule, page and server alike (docs/server.md, "Order ids"): 1–128 characters, each
 * an ASCII letter, a digit or one of `. _ : -`. Toss's orderIds are UUIDs (36 of them); the rule
 * leaves room for other id formats and refuses only what no id format needs and what means
 * something in a path, a URL, HTML or a log line (`/`, `%`, `<`, spaces, control characters).
 */
const ORDER_ID = /^[A-Za-z0-9_.:-]{1,128}$/

/** How `readOrderId` is explained in errors, page and server alike: the rule itself. */
export const ORDER_ID_RULE = `orderId must match ${ORDER_ID}`

/**
 * The one orderId check, applied wherever an orderId enters: a pending list, a `purchased` or
 * `success` event, an app's call, and on the server the fulfilment body, the webhook body and the
 * partner client (so `reconcile`). Answers the id, or `null` for anything outside the rule.
 */
export function readOrderId(value: unknown): string | null {
  return typeof value === 'string' && ORDER_ID.test(value) ? value : null
}

/** Throws `INVALID_ARGUMENT` unless `value` is a valid orderId (see `readOrderId`). */
export function requireOrderId(value: unknown): string {
  const id = readOrderId(value)
  if (id === null) throw new IapError('INVALID_ARGUMENT', `${ORDER_ID_RULE}, got ${describeValue(value)}`)
  return id
}
