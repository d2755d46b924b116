/** Which browser origins may call a handler: the mini-app's origins, exactly as the browser sends them. */
export interface CorsOptions {
  origins: readonly string[] | ((origin: string) => boolean)
  /** Seconds a browser may cache a preflight answer. Default 600. */
  maxAge?: number
}

/** The error codes the handlers answer with. */
export type ServerErrorCode =
  | 'ORIGIN_NOT_ALLOWED'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'INVALID_JSON'
  | 'INVALID_ORDER'
  | 'INVALID_EVENT'
  | 'INVALID_LOGIN'
  | 'LOGIN_REJECTED'
  | 'LOGIN_REFERRER_NOT_ALLOWED'
  | 'UNAUTHENTICATED'
  | 'AUTHENTICATION_UNAVAILABLE'
  | 'ORDER_OWNED_BY_ANOTHER_USER'
  | 'ORDER_IN_PROGRESS'
  | 'PAYMENT_FAILED'
  | 'ORDER_REFUNDED'
  | 'ORDER_NOT_FOUND'
  | 'MINIAPP_MISMATCH'
  | 'TOSS_ERROR'
  | 'TOSS_RATE_LIMITED'
  | 'TOSS_UNAVAILABLE'
  | 'TOSS_TIMEOUT'
  | 'TOSS_UNREACHABLE'
  | 'TOSS_TLS_REFUSED'
  | 'TOSS_REJECTED'
  | 'TOSS_BAD_RESPONSE'
  | 'GRANT_FAILED'
  | 'LEDGER_UNAVAILABLE'
  | 'INVALID_SPEND'
  /** The spend is more than the balance (or the balance is below zero after a refund): nothing was spent. */
  | 'INSUFFICIENT_BALANCE'
  /** The idempotency key already spent another amount or currency: nothing was spent. */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** `toNodeListener`: the handler itself threw (a bug); nothing was recorded by that request. */
  | 'INTERNAL'

/** The JSON body of every error answer. */
export interface ServerErrorBody {
  error: {
    code: ServerErrorCode
    message: string
    /** `true` when the same request may succeed later (the page keeps the order pending either way). */
    retryable: boolean
  }
}

const ALLOWED_HEADERS = 'Content-Type, Authorization'

/** Header names as the handlers set them, one value each. */
export type HeaderRecord = Record<string, string>

/**
 * An answer before it becomes a `Response`. The handlers build these; the public handler turns one
 * into a `Response`, and `toNodeListener` writes it straight to Node's response (no web streams).
 */
export interface Answer {
  status: number
  headers: HeaderRecord
  /** JSON text, or `null` for none. */
  body: string | null
}

/** A handler's answer-building core, kept on the public handler under this symbol for `toNodeListener`. */
export const ANSWER = Symbol('vue-toss-iap/server answer')

export type AnswerCore = (request: Request) => Promise<Answer>

export const toResponse = (answer: Answer): Response => new Response(answer.body, { status: answer.status, headers: answer.headers })

/** The public `(Request) => Promise<Response>` handler for a core, carrying the core for `toNodeListener`. */
export function handlerOf(core: AnswerCore): (request: Request) => Promise<Response> {
  const handler = async (request: Request) => toResponse(await core(request))
  Object.defineProperty(handler, ANSWER, { value: core })
  return handler
}

/** The core a handler made by this package carries, if it is one. */
export const answerCoreOf = (handler: unknown): AnswerCore | undefined =>
  typeof handler === 'function' ? (handler as { [ANSWER]?: AnswerCore })[ANSWER] : undefined

export interface CorsHeaders {
  /** `false` for a browser origin the options do not allow (answer 403, with no CORS headers). */
  allowed: boolean
  headers: HeaderRecord
}

/**
 * The CORS decision for one request: same-origin and origin-less (server-to-server) requests always
 * pass. `cacheControl` is the answer's `Cache-Control` (default `no-store`).
 */
export function corsHeaders(
  request: Request,
  options: CorsOptions | undefined,
  methods: string,
  cacheControl = 'no-store',
  allowHeaders = ALLOWED_HEADERS,
): CorsHeaders {
  const headers: HeaderRecord = { 'Cache-Control': cacheControl }
  if (!options) return { allowed: true, headers }
  headers['Vary'] = 'Origin'
  const origin = request.headers.get('Origin')
  if (origin === null) return { allowed: true, headers }
  let own: string | null = null
  try {
    own = new URL(request.url).origin
  } catch {
    /* a relative URL: no own origin to compare */
  }
  const listed = typeof options.origins === 'function' ? options.origins(origin) : options.origins.includes(origin)
  if (!listed) return { allowed: origin === own, headers }
  headers['Access-Control-Allow-Origin'] = origin
  headers['Access-Control-Allow-Credentials'] = 'true'
  if (request.method === 'OPTIONS') {
    headers['Access-Control-Allow-Methods'] = methods
    headers['Access-Control-Allow-Headers'] = allowHeaders
    headers['Access-Control-Max-Age'] = String(options.maxAge ?? 600)
  }
  return { allowed: true, headers }
}

export interface Cors {
  /** `false` for a browser origin the options do not allow (answer 403, with no CORS headers). */
  allowed: boolean
  headers: Headers
}

/** `corsHeaders` as a `Headers`, for handlers that answer with `Response`s. */
export function cors(request: Request, options: CorsOptions | undefined, methods: string, allowHeaders = ALLOWED_HEADERS): Cors {
  const { allowed, headers } = corsHeaders(request, options, methods, 'no-store', allowHeaders)
  return { allowed, headers: new Headers(headers) }
}

/**
 * A new header record: `base`'s headers, then `more`'s (replacing any of the same name). Copied key
 * by key rather than spread: on Node 20, `{ ...a, b: 1 }` costs about 1 µs, and 20 µs once some
 * twenty keys follow the spread, on every request.
 */
export function withHeaders(base: HeaderRecord, more?: HeaderRecord): HeaderRecord {
  const all: HeaderRecord = {}
  for (const name in base) all[name] = base[name]!
  if (more) for (const name in more) all[name] = more[name]!
  return all
}

const JSON_TYPE: HeaderRecord = { 'Content-Type': 'application/json; charset=utf-8' }

/** A JSON answer: the given headers (not changed), `Content-Type` and `extra`. */
export function jsonAnswer(status: number, body: unknown, headers: HeaderRecord, extra?: HeaderRecord): Answer {
  const all = withHeaders(headers, JSON_TYPE)
  return { status, headers: extra ? withHeaders(all, extra) : all, body: JSON.stringify(body) }
}

export function errorAnswer(
  status: number,
  code: ServerErrorCode,
  message: string,
  headers: HeaderRecord,
  { retryable = false, retryAfter }: { retryable?: boolean; retryAfter?: number } = {},
): Answer {
  const body: ServerErrorBody = { error: { code, message, retryable } }
  const answer = jsonAnswer(status, body, headers, retryAfter === undefined ? undefined : { 'Retry-After': String(Math.ceil(retryAfter)) })
  return markRefusal(answer, code, retryable) // for the handlers' onEvent (events.ts)
}

export function json(status: number, body: unknown, headers: Headers, extra: Record<string, string> = {}): Response {
  const all = new Headers(headers)
  all.set('Content-Type', 'application/json; charset=utf-8')
  for (const [k, v] of Object.entries(extra)) all.set(k, v)
  return new Response(JSON.stringify(body), { status, headers: all })
}

export function errorResponse(
  status: number,
  code: ServerErrorCode,
  message: string,
  headers: Headers,
  { retryable = false, retryAfter }: { retryable?: boolean; retryAfter?: number } = {},
): Response {
  const body: ServerErrorBody = { error: { code, message, retryable } }
  const response = json(status, body, headers, retryAfter === undefined ? {} : { 'Retry-After': String(Math.ceil(retryAfter)) })
  return markRefusal(response, code, retryable) // for the handlers' onEvent (events.ts)
}

/**
 * The start every JSON `POST` endpoint shares: the CORS decision (403 for a browser origin not
 * allowed), the preflight (204), `POST` only (405, saying `post`), and the body read as JSON within
 * `limit` bytes (413, 415, 400). Either the answer to give back, or the CORS headers and the body.
 */
export async function readJsonPost(
  request: Request,
  options: { cors: CorsOptions | undefined; limit: number; refused: string; post: string; allowHeaders?: string },
): Promise<{ answer: Response } | { headers: Headers; body: unknown }> {
  const { allowed, headers } = cors(request, options.cors, 'POST, OPTIONS', options.allowHeaders)
  if (!allowed) return { answer: errorResponse(403, 'ORIGIN_NOT_ALLOWED', options.refused, headers) }
  if (request.method === 'OPTIONS') return { answer: new Response(null, { status: 204, headers }) }
  if (request.method !== 'POST') {
    headers.set('Allow', 'POST, OPTIONS')
    return { answer: errorResponse(405, 'METHOD_NOT_ALLOWED', options.post, headers) }
  }
  try {
    return { headers, body: await readJson(request, options.limit) }
  } catch (error) {
    if (error instanceof BodyError) return { answer: errorResponse(error.status, error.code, error.message, headers) }
    return { answer: errorResponse(400, 'INVALID_JSON', 'the body could not be read', headers) }
  }
}

const refusals = new WeakMap<object, { code: ServerErrorCode; retryable: boolean }>()

/** Marks an error answer (a `Response` or the package's plain answer) with its code, so a handler's wrapper can report it without reading the body. */
export function markRefusal<T extends object>(answer: T, code: ServerErrorCode, retryable: boolean): T {
  refusals.set(answer, { code, retryable })
  return answer
}

export const refusalOf = (answer: object) => refusals.get(answer)

export class BodyError extends Error {
  constructor(
    readonly status: 413 | 400 | 415,
    readonly code: 'BODY_TOO_LARGE' | 'INVALID_JSON' | 'UNSUPPORTED_MEDIA_TYPE',
    message: string,
  ) {
    super(message)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false })

/** The complete body `toNodeListener` already read for a request, so that `readJson` need not stream it again. */
const bodies = new WeakMap<Request, Buffer>()
export const setReadBody = (request: Request, body: Buffer) => void bodies.set(request, body)

/** Reads a JSON body, stopping as soon as it passes `limit` bytes (a missing or lying Content-Length included). */
export async function readJson(request: Request, limit: number, { anyContentType = false } = {}): Promise<unknown> {
  const type = request.headers.get('Content-Type') ?? ''
  if (!anyContentType && !/^application\/json\b/i.test(type.trim()))
    throw new BodyError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the order as Content-Type: application/json')
  const declared = Number(request.headers.get('Content-Length') ?? NaN)
  if (declared > limit) throw new BodyError(413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`)
  const read = request.bodyUsed ? undefined : bodies.get(request)
  if (read !== undefined) {
    if (read.length > limit) throw new BodyError(413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`)
    return parseJson(utf8.decode(read))
  }
  const chunks: Uint8Array[] = []
  let size = 0
  if (request.body) {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > limit) {
        await reader.cancel().catch(() => {})
        throw new BodyError(413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`)
      }
      chunks.push(value)
    }
  }
  return parseJson(utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new BodyError(400, 'INVALID_JSON', 'the body is not valid JSON')
  }
}
