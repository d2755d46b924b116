import type { IapError } from './errors.js'
import { notify, type ListenerErrorReporter } from './listeners.js'
import { monotonicNow } from './timing.js'

/** One IAP bridge call (or purchase flow), as it starts and as it ends. */
export interface BridgeCallEvent {
  name: string
  phase: 'start' | 'success' | 'error'
  /** What was asked: an orderId, a sku, a history key. */
  detail?: string
  /** On `success` and `error`. */
  durationMs?: number
  error?: IapError
}

/**
 * Runs one call (`work`) of the client under observation; `failed` tells an answer that is a
 * failure (a purchase resolves with its outcome, it never rejects).
 */
export type Observer = <T>(
  name: string,
  detail: string | undefined,
  work: () => Promise<T>,
  failed?: (value: T) => IapError | null,
) => Promise<T>

/**
 * Tells `listener` when each call starts and ends. A listener: what it throws is reported, never in
 * the way. In a module of its own: a production app, where nothing listens, never ships it.
 */
export function observeBridgeCalls(listener: (event: BridgeCallEvent) => unknown, report: ListenerErrorReporter): Observer {
  const tell = (event: BridgeCallEvent) => notify(listener, [event], 'onBridgeCall', report)
  return async (name, detail, work, failed) => {
    const started = monotonicNow()
    tell({ name, phase: 'start', detail })
    try {
      const value = await work()
      const error = failed?.(value)
      tell({ name, phase: error ? 'error' : 'success', detail, durationMs: monotonicNow() - started, ...(error && { error }) })
      return value
    } catch (error) {
      tell({ name, phase: 'error', detail, durationMs: monotonicNow() - started, error: error as IapError })
      throw error
    }
  }
}
