/**
 * Where an error thrown by app code that only listens (an event listener, an analytics callback)
 * is reported. The Vue plugin points it at `app.config.errorHandler`.
 */
export type ListenerErrorReporter = (error: unknown, where: string) => void

export const reportToConsole: ListenerErrorReporter = (error, where) => {
  console.error(`[vue-toss-iap] ${where} threw; the purchase flow went on without it.`, error)
}

/** Reports once; an error handler that throws itself goes to the console. */
export function reportSafely(report: ListenerErrorReporter, error: unknown, where: string): void {
  try {
    report(error, where)
  } catch (reportError) {
    reportToConsole(reportError, `the error handler for ${where}`)
  }
}

/**
 * Calls app code that only listens, so that nothing it does reaches the money path: a sync throw
 * and an async rejection alike are reported once and swallowed. Returns nothing on purpose.
 */
export function notify<A extends unknown[]>(
  listener: ((...args: A) => unknown) | undefined,
  args: A,
  where: string,
  report: ListenerErrorReporter = reportToConsole,
): void {
  if (!listener) return
  const safeReport = (error: unknown) => reportSafely(report, error, where)
  try {
    const result = listener(...args)
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      ;(result as PromiseLike<unknown>).then(undefined, safeReport)
    }
  } catch (error) {
    safeReport(error)
  }
}

/** A one-way channel: listeners added, events emitted; `emit` never throws and never waits (see `notify`). */
export type Listeners<T> = ReturnType<typeof createListeners<T>>

/** A set of listeners whose `emit` never throws and never waits (see `notify`). */
export function createListeners<T>(where: string, report: ListenerErrorReporter) {
  const listeners = new Set<(event: T) => unknown>()
  return {
    /** Adds a listener; the answer removes it. */
    add(listener: (event: T) => unknown): () => void {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit(event: T): void {
      for (const listener of [...listeners]) notify(listener, [event], where, report)
    },
    get size() {
      return listeners.size
    },
  }
}
