import { IAP } from '@apps-in-toss/web-framework'
import { captureListeners, type ListenerCapture } from './bridge.js'
import type { RefusePayment } from './endpointUrl.js'
import { assertCapability } from './environment.js'
import { describeValue, IapError, readOrderId, requireText, toIapError } from './errors.js'
import type { GrantOutcome, GrantRegistry } from './grants.js'
import { notify, reportSafely, reportToConsole, type ListenerErrorReporter } from './listeners.js'
import { normalizeReceipt } from './normalize.js'
import { timeoutError, type IapTimeouts } from './timing.js'
import type { OrderKind, PurchaseReceipt } from './types.js'

export interface PurchaseRequest {
  sku: string
  kind?: OrderKind
  /** Subscriptions only. */
  offerId?: string | null
  /** Aborting closes the flow and removes its listeners; a payment already taken waits for recovery. */
  signal?: AbortSignal
  /** Toss took payment and created this order; the grant starts now. A listener: what it throws is reported, never in the way. */
  onPurchased?: (order: { orderId: string; subscriptionId?: string }) => void
  /** What this purchase told Toss about the grant (within the grant's time budget). A listener, like `onPurchased`. */
  onGrantAnswer?: (orderId: string, outcome: GrantOutcome) => void
}

/**
 * How one purchase ended.
 * - `success`: the app granted the order and Toss confirmed the payment; it still needs `completeProductGrant`.
 * - `canceled`: the user backed out (`USER_CANCELED`) or the app aborted before payment (`ABORTED`).
 * - `failed`: Toss refused or could not start the purchase; no order was created. A `success` for an
 *   order Toss never reported as paid (`purchased`) is `failed` with `INVALID_RESPONSE`: recovery
 *   finds the order if Toss really took payment.
 * - `unfinished`: Toss took payment (`orderId`) but the flow did not end in success; `granted` says
 *   whether the app's grant answered `true`, `false`, or has not answered (`null`). Recovery finishes it.
 */
export type PurchaseResult =
  | { status: 'success'; orderId: string; receipt: PurchaseReceipt }
  | { status: 'canceled'; error: IapError }
  | { status: 'failed'; error: IapError }
  | { status: 'unfinished'; orderId: string; granted: boolean | null; error: IapError }

interface PurchaseContext {
  grants: GrantRegistry
  timeouts: IapTimeouts
  report?: ListenerErrorReporter
  /** The grant's own check before any payment (`grantViaEndpoint`'s: a URL that can never reach the server). */
  refuse?: RefusePayment
}

const isGrantAnswer = (event: string) => event.startsWith('processProductGrant/')

/**
 * The SDK answers Toss's grant question with a bridge call of its own, made just after the grant
 * callback returns, whose listeners stay until the host replies. This records that call's event
 * names (only those: the window closes on the next task) so that a host that never replies leaves
 * nothing behind. Defined out here so that its timers keep nothing of the purchase alive.
 */
function captureGrantAnswer(): ListenerCapture {
  const capture = captureListeners(isGrantAnswer)
  setTimeout(() => {
    capture.stop()
    capture.releaseOnAnswer()
  }, 0)
  return capture
}

function releaseLater(capture: ListenerCapture, ms: number) {
  setTimeout(() => capture.release(), ms)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

/**
 * The SDK's own purchase handlers read what the host sends without checks, in an async function
 * whose promise nobody awaits: a `null` event, or a `purchased` event without `data`, becomes an
 * unhandled rejection the page cannot catch. Each payload is read here first, as JSON (what a real
 * bridge carries). A purchase event the SDK could not read is reported and dropped (the purchase
 * ends by its timeout); an error that cannot be read still ends the purchase, as an error without
 * details.
 */
function guardSheetCallback(callback: (payload: unknown) => void, event: string, report: ListenerErrorReporter) {
  const isError = event.includes('/onError/')
  // Reported as a typed error, the raw one (a RangeError of a payload nested past the stack, a
  // TypeError of a cyclic one, a BigInt, a getter that throws, or the SDK choking) as its cause.
  const drop = (error: unknown) =>
    reportSafely(
      report,
      error instanceof IapError ? error : new IapError('INVALID_RESPONSE', 'the host sent an unreadable event', { cause: error }),
      `the SDK's handler for ${event} (the host sent an unreadable event)`,
    )
  return (payload: unknown) => {
    let copy: unknown = payload
    if (payload !== null && payload !== undefined) {
      try {
        copy = JSON.parse(JSON.stringify(payload) ?? 'null')
      } catch (error) {
        // Nested past the stack, cyclic, a BigInt, a getter that throws: typed, the raw error as cause.
        if (!isError) return drop(error)
        copy = { message: 'the host sent an error that could not be read' }
      }
    }
    if (!isError && (!isObject(copy) || (copy.type === 'purchased' && !isObject(copy.data)))) {
      return drop(new IapError('INVALID_RESPONSE', `the host sent ${describeValue(payload)} as a purchase event`))
    }
    try {
      callback(copy)
    } catch (error) {
      drop(error)
    }
  }
}

export function runPurchase(request: PurchaseRequest, { grants, timeouts, report, refuse }: PurchaseContext): Promise<PurchaseResult> {
  // A request that is not an object is refused below like a missing sku, never thrown.
  const { sku, signal, offerId } = (request ?? {}) as PurchaseRequest
  const kind: OrderKind = request?.kind ?? 'one-time'
  try {
    requireText('sku', sku)
    assertCapability(kind === 'subscription' ? 'subscriptions' : 'purchase')
    const refused = refuse?.(sku)
    if (refused) throw refused
  } catch (error) {
    return Promise.resolve({ status: 'failed', error: toIapError(error, { sku }) })
  }
  if (signal?.aborted) {
    return Promise.resolve({
      status: 'canceled',
      error: new IapError('ABORTED', `the purchase of ${sku} was aborted before it started`, { sku }),
    })
  }

  return new Promise<PurchaseResult>((resolve) => {
    let settled = false
    let cleanup: (() => void) | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    let firstOrderId: string | undefined
    let running = 0
    const answers = new Map<string, boolean | null>()
    const grantAnswers: ListenerCapture[] = []

    /** Ends without success: `unfinished` once Toss took payment, else `failed` (or `canceled`). */
    const fail = (error: IapError, before: 'failed' | 'canceled' = 'failed') =>
      finish(
        firstOrderId
          ? { status: 'unfinished', orderId: firstOrderId, granted: answers.get(firstOrderId) ?? null, error }
          : { status: before, error },
      )
    const arm = (ms: number, what: string) => {
      clearTimeout(timer)
      timer = setTimeout(() => fail(timeoutError(what, ms, { sku, orderId: firstOrderId })), ms)
    }
    const onAbort = () => fail(new IapError('ABORTED', `the purchase of ${sku} was aborted`, { sku, orderId: firstOrderId }), 'canceled')
    function finish(result: PurchaseResult) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      const close = cleanup
      cleanup = undefined
      try {
        close?.()
      } catch {
        // The SDK's cleanup posts before it removes its listeners, so it throws without removing
        // them when the host is gone; the capture below removes them either way.
      }
      sheetListeners.release()
      for (const capture of grantAnswers.splice(0)) capture.release()
      resolve(result)
    }

    const processProductGrant = async (params: { orderId: string; subscriptionId?: string }): Promise<boolean> => {
      const orderId = readOrderId(params?.orderId)
      if (orderId === null) return false
      const subscriptionId = readOrderId(params.subscriptionId) ?? undefined
      firstOrderId ??= orderId
      if (!answers.has(orderId)) {
        answers.set(orderId, null)
        notify(request.onPurchased, [{ orderId, subscriptionId }], 'onPurchased', report)
      }
      if (!settled) clearTimeout(timer) // the grant has its own budget
      running++
      const outcome = await grants.run(
        { orderId, sku, kind, source: 'purchase', ...(subscriptionId !== undefined && { subscriptionId }) },
        timeouts.grant,
      )
      running--
      answers.set(orderId, outcome.granted)
      notify(request.onGrantAnswer, [orderId, outcome], 'onGrantAnswer', report)
      const answer = captureGrantAnswer()
      // Settled already (aborted, timed out): give the host the usual time to take the answer.
      if (settled) releaseLater(answer, timeouts.call)
      else {
        grantAnswers.push(answer)
        if (running === 0) arm(timeouts.call, `the confirmation of order ${orderId}`)
      }
      return outcome.granted
    }

    const onEvent = (event: { type?: string; data?: { orderId?: unknown } }) => {
      try {
        if (event?.type !== 'success') return
        const orderId = readOrderId(event.data?.orderId) ?? firstOrderId
        // Success counts only for an order Toss reported as paid in this flow and the app granted.
        // Toss never reports success before that; if a host does, do not believe it, and never
        // turn an order nobody reported as sold into a paid one.
        if (orderId && answers.has(orderId) && grants.isGranted(orderId)) {
          finish({ status: 'success', orderId, receipt: normalizeReceipt(event.data, orderId) })
          return
        }
        fail(
          new IapError('INVALID_RESPONSE', `Toss reported success for order ${orderId ?? '(none)'} that the app has not granted`, {
            sku,
            orderId,
          }),
        )
      } catch (raw) {
        fail(new IapError('INVALID_RESPONSE', `the purchase of ${sku} got an unreadable event`, { sku, cause: raw }))
      }
    }
    const onError = (raw: unknown) => {
      const error = toIapError(raw, { sku, orderId: firstOrderId, during: `the purchase of ${sku}` })
      fail(error, error.code === 'USER_CANCELED' ? 'canceled' : 'failed')
    }

    const sheetListeners = captureListeners(undefined, (callback, event) => guardSheetCallback(callback, event, report ?? reportToConsole))
    try {
      const close =
        kind === 'subscription'
          ? IAP.createSubscriptionPurchaseOrder({ options: { sku, offerId: offerId ?? null, processProductGrant }, onEvent, onError })
          : IAP.createOneTimePurchaseOrder({ options: { sku, processProductGrant }, onEvent, onError })
      if (typeof close === 'function') {
        if (settled) close()
        else cleanup = close
      }
    } catch (error) {
      finish({ status: 'failed', error: toIapError(error, { sku, during: `the purchase of ${sku}` }) })
      return
    } finally {
      sheetListeners.stop()
    }
    if (settled) return
    signal?.addEventListener('abort', onAbort, { once: true })
    arm(timeouts.purchase, `the purchase of ${sku}`)
  })
}
