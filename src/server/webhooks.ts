import { createHash, timingSafeEqual } from 'node:crypto'
import { ORDER_ID_RULE, readOrderId } from '../core/errors.js'
import { eventEmitter, type ServerEventListener } from './events.js'
import { BodyError, errorResponse, json, readJson, refusalOf } from './http.js'
import type { GrantLedger, SubscriptionEventInput, SubscriptionListener, SubscriptionSnapshot } from './ledger.js'
import { parseTossTime } from './partnerClient.js'

export interface SubscriptionWebhookHandlerOptions {
  ledger: GrantLedger
  /**
   * The `Authorization` value set for the callback in the Apps in Toss console: the token alone or
   * with its scheme (`Basic dXNlcjpwYXNz`). Both the `Basic` and the `Bearer` form are accepted.
   * Several while one is being replaced.
   */
  credential: string | readonly string[]
  /**
   * Runs in the transaction that changes the ledger row (write through `tx`): both commit or
   * neither. Once per stored event that changed the row, never for one that changed nothing; act
   * on `change.record` (for a `late` event it is the re-derived state, not `change.current`).
   * Throwing leaves the event stored and pending; `applyPending()` tries it again.
   */
  onSubscriptionChange?: SubscriptionListener
  /** Largest body read, in bytes. Default 64 KiB. */
  maxBodyBytes?: number
  /** Told of failures after the event was stored (it stays pending), and of storage failures. Default: one `console.error` line. */
  onError?: (error: unknown, context: { orderId: string | null; stage: 'store' | 'apply' }) => void
  /**
   * Told of what happened to each request and event (`webhook.stored`, `.duplicate`, `.applied`,
   * `.lost`, `.failed`, `.refused`, …) after the fact; never awaited, a throw is caught.
   */
  onEvent?: ServerEventListener
}

export interface SubscriptionWebhookHandler {
  (request: Request): Promise<Response>
  /** Applies events stored but not applied (a process stopped between the two, a listener that threw). Cheap when there is none. */
  applyPending(): Promise<{ applied: number; failed: number }>
  /** Resolves once the `applyPending()` run at creation has finished. */
  readonly ready: Promise<void>
}

/** The webhook's answer body for a stored event. */
export interface SubscriptionWebhookBody {
  received: true
  /** `true` when an equal event was stored before (Toss sent it twice, or a replay). */
  duplicate: boolean
}

type ParsedEvent =
  | { ok: true; kind: 'verification' }
  | { ok: true; kind: 'status_changed'; event: SubscriptionEventInput }
  | { ok: true; kind: 'other'; eventType: string }
  | { ok: false; message: string }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function snapshot(value: unknown, name: string): SubscriptionSnapshot | string {
  if (!isObject(value)) return `subscription.${name} must be an object`
  if (typeof value.status !== 'string' || value.status === '' || value.status.length > 64)
    return `subscription.${name}.status must be a string of 1 to 64 characters`
  if (value.accessGranted !== undefined && value.accessGranted !== null && typeof value.accessGranted !== 'boolean')
    return `subscription.${name}.accessGranted must be a boolean`
  if (value.autoRenew !== undefined && value.autoRenew !== null && typeof value.autoRenew !== 'boolean')
    return `subscription.${name}.autoRenew must be a boolean`
  let expiresAt: Date | null = null
  if (value.expiresAt !== undefined && value.expiresAt !== null) {
    expiresAt = parseTossTime(value.expiresAt)
    if (!expiresAt) return `subscription.${name}.expiresAt must be a date-time`
  }
  return {
    status: value.status,
    accessGranted: typeof value.accessGranted === 'boolean' ? value.accessGranted : null,
    expiresAt,
    autoRenew: typeof value.autoRenew === 'boolean' ? value.autoRenew : null,
  }
}

/**
 * The dedup key: Toss sends no event id, so an event is who it is by its content. Raw strings as
 * sent (a time is not reformatted), so a replay of the same body always gives the same key.
 */
export function subscriptionEventKey(body: Record<string, unknown>): string {
  const sub = isObject(body.subscription) ? body.subscription : {}
  const current = isObject(sub.current) ? sub.current : {}
  const content = [
    body.eventType,
    body.orderId,
    body.occurredAt,
    [current.status, current.accessGranted ?? null, current.expiresAt ?? null, current.autoRenew ?? null],
    body.changeReason ?? null,
  ]
  return createHash('sha256').update(JSON.stringify(content)).digest('hex')
}

/** Reads a webhook body: `callback.registration_verification`, `subscription.status_changed`, or another type (ignored). */
export function parseSubscriptionEvent(body: unknown): ParsedEvent {
  if (!isObject(body)) return { ok: false, message: 'the body must be a JSON object' }
  if (typeof body.eventType !== 'string' || body.eventType === '') return { ok: false, message: 'eventType is required' }
  if (body.eventType === 'callback.registration_verification') return { ok: true, kind: 'verification' }
  if (body.eventType !== 'subscription.status_changed') return { ok: true, kind: 'other', eventType: body.eventType.slice(0, 64) }
  // The page's and the fulfilment's rule: an order the ledger can hold is never refused here.
  const orderId = readOrderId(body.orderId)
  if (orderId === null) return { ok: false, message: ORDER_ID_RULE }
  const occurredAt = parseTossTime(body.occurredAt)
  if (!occurredAt) return { ok: false, message: 'occurredAt must be a date-time' }
  if (body.sku !== undefined && body.sku !== null && (typeof body.sku !== 'string' || body.sku.length > 256))
    return { ok: false, message: 'sku must be a string of at most 256 characters' }
  if (
    body.changeReason !== undefined &&
    body.changeReason !== null &&
    (typeof body.changeReason !== 'string' || body.changeReason.length > 64)
  )
    return { ok: false, message: 'changeReason must be a string of at most 64 characters' }
  if (!isObject(body.subscription)) return { ok: false, message: 'subscription must be an object' }
  const current = snapshot(body.subscription.current, 'current')
  if (typeof current === 'string') return { ok: false, message: current }
  let previous: SubscriptionSnapshot | null = null
  if (body.subscription.previous !== undefined && body.subscription.previous !== null) {
    const p = snapshot(body.subscription.previous, 'previous')
    if (typeof p === 'string') return { ok: false, message: p }
    previous = p
  }
  return {
    ok: true,
    kind: 'status_changed',
    event: {
      key: subscriptionEventKey(body),
      orderId,
      sku: typeof body.sku === 'string' ? body.sku : null,
      occurredAt,
      changeReason: typeof body.changeReason === 'string' ? body.changeReason : null,
      current,
      previous,
      payload: body,
    },
  }
}

export const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/** The token of an `Authorization` value, without its `Basic`/`Bearer` scheme. */
export const tokenOf = (value: string) =>
  value
    .trim()
    .replace(/^(basic|bearer)\s+/i, '')
    .trim()

/** Compares in time that does not depend on where the values differ, against every configured credential. */
export function credentialMatches(header: string | null, expected: readonly Buffer[]): boolean {
  if (header === null || !/^(basic|bearer)\s+\S/i.test(header.trim())) return false
  const given = digest(tokenOf(header))
  let match = false
  for (const e of expected) match = timingSafeEqual(given, e) || match
  return match
}

/**
 * The endpoint Toss posts subscription status changes to. Every event is stored durably before the
 * 2xx (Toss does not resend), then applied to the ledger row of its order. See docs/server.md.
 */
export function createSubscriptionWebhookHandler(options: SubscriptionWebhookHandlerOptions): SubscriptionWebhookHandler {
  const list = typeof options.credential === 'string' ? [options.credential] : [...options.credential]
  const tokens = list.map(tokenOf)
  if (tokens.length === 0 || tokens.some((t) => t === ''))
    throw new TypeError('vue-toss-iap/server: createSubscriptionWebhookHandler needs the credential set in the console')
  const expected = tokens.map(digest)
  const limit = options.maxBodyBytes ?? 64 * 1024
  const { ledger } = options
  const report =
    options.onError ??
    ((error: unknown, { orderId, stage }: { orderId: string | null; stage: string }) =>
      console.error(
        `vue-toss-iap/server: subscription event ${stage} failed for order ${orderId ?? '-'}: ${error instanceof Error ? error.message : String(error)}`,
      ))
  ledger.subscriptionEvents.listen(options.onSubscriptionChange)
  const emit = eventEmitter(options.onEvent)

  const applyPending = async () => {
    const done = await ledger.subscriptionEvents.applyPending()
    if (done.applied > 0 || done.failed > 0) emit({ type: 'webhook.pending-applied', ...done })
    return done
  }
  const ready = applyPending().then(
    () => undefined,
    (error: unknown) => report(error, { orderId: null, stage: 'apply' }),
  )

  const handle = async (request: Request): Promise<Response> => {
    const headers = new Headers({ 'Cache-Control': 'no-store' })
    if (request.method !== 'POST') {
      headers.set('Allow', 'POST')
      return errorResponse(405, 'METHOD_NOT_ALLOWED', 'Toss POSTs its events', headers)
    }
    if (!credentialMatches(request.headers.get('Authorization'), expected)) {
      await request.body?.cancel().catch(() => {})
      headers.set('WWW-Authenticate', 'Basic realm="vue-toss-iap webhook"')
      return errorResponse(401, 'UNAUTHENTICATED', 'the Authorization value does not match the one set in the console', headers)
    }
    let body: unknown
    try {
      // Toss's Content-Type is not documented: any is read as JSON rather than losing an event.
      body = await readJson(request, limit, { anyContentType: true })
    } catch (error) {
      if (error instanceof BodyError) return errorResponse(error.status, error.code, error.message, headers)
      return errorResponse(400, 'INVALID_JSON', 'the body could not be read', headers)
    }
    const parsed = parseSubscriptionEvent(body)
    if (!parsed.ok) return errorResponse(400, 'INVALID_EVENT', parsed.message, headers)
    if (parsed.kind === 'verification') {
      emit({ type: 'webhook.verification' })
      return new Response(null, { status: 204, headers })
    }
    if (parsed.kind === 'other') {
      emit({ type: 'webhook.ignored', eventType: parsed.eventType })
      return json(202, { received: true, ignored: parsed.eventType }, headers)
    }

    const { event } = parsed
    let stored: boolean
    try {
      stored = await ledger.subscriptionEvents.store(event)
    } catch (error) {
      report(error, { orderId: event.orderId, stage: 'store' })
      emit({ type: 'webhook.failed', orderId: event.orderId, stage: 'store' })
      return errorResponse(503, 'LEDGER_UNAVAILABLE', 'the event could not be stored', headers, { retryable: true })
    }
    emit(
      stored
        ? { type: 'webhook.stored', orderId: event.orderId, status: event.current.status, changeReason: event.changeReason }
        : { type: 'webhook.duplicate', orderId: event.orderId },
    )
    // Stored: from here the answer is 2xx whatever happens, and the event is applied now or later.
    try {
      const changes = await ledger.subscriptionEvents.apply(event.orderId)
      for (const c of changes) {
        emit({
          type: 'webhook.applied',
          orderId: c.orderId,
          status: c.current.status,
          accessActive: c.record.accessActive,
          lostEvent: c.lostEvent,
        })
        if (c.lostEvent) emit({ type: 'webhook.lost', orderId: c.orderId })
      }
    } catch (error) {
      report(error, { orderId: event.orderId, stage: 'apply' })
      emit({ type: 'webhook.failed', orderId: event.orderId, stage: 'apply' })
    }
    return json(200, { received: true, duplicate: !stored } satisfies SubscriptionWebhookBody, headers)
  }
  const handler = async (request: Request): Promise<Response> => {
    const response = await handle(request)
    const refusal = refusalOf(response)
    if (refusal && response.status < 500) emit({ type: 'webhook.refused', httpStatus: response.status, code: refusal.code })
    return response
  }
  return Object.assign(handler, { applyPending, ready })
}
