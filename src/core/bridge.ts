import type { GraniteEmitter } from './environment.js'
import { toIapError } from './errors.js'
import { timeoutError, withTimeout } from './timing.js'

type Off = () => void

export interface ListenerCapture {
  /** Stops recording new registrations; the ones recorded stay removable. */
  stop(): void
  /** Stops recording and removes every listener recorded, whether or not the SDK already did. */
  release(): void
  /** Releases as soon as the host answers any of the calls recorded so far. */
  releaseOnAnswer(): void
}

type Callback = (payload: unknown) => void
/** Puts a guard around a callback the SDK registers (see `captureListeners`). */
export type CallbackGuard = (callback: Callback, event: string) => Callback

interface Sink {
  match(event: string): boolean
  record(event: string, off: Off): void
  guard?: CallbackGuard
}

interface Tap {
  original: GraniteEmitter['on']
  sinks: Set<Sink>
}

const taps = new WeakMap<GraniteEmitter, Tap>()

/**
 * Records the bridge listeners the SDK registers on `window.__GRANITE_NATIVE_EMITTER` while the
 * capture is on, so that they can be removed when a host never answers: the SDK's own async calls
 * keep their listeners until the host replies. Captures may overlap; the emitter's `on` is put back
 * when the last one stops.
 *
 * Every bridge call has event names of its own (they carry a random eventId), so a capture removes
 * its listeners by deleting their names from the emitter's table. That also mends an SDK leak: its
 * emitter keeps each name's (empty) array forever. Only names are kept, never the callbacks, so a
 * capture waiting to be released holds on to nothing of the page. An emitter without the table
 * falls back to the SDK's own removers.
 */
export function captureListeners(match: (event: string) => boolean = () => true, guard?: CallbackGuard): ListenerCapture {
  const names: string[] = []
  const offs: Off[] = []
  const emitter = typeof window === 'undefined' ? undefined : window.__GRANITE_NATIVE_EMITTER
  if (!emitter || typeof emitter.on !== 'function') return { stop() {}, release() {}, releaseOnAnswer() {} }
  const table = emitter.events && typeof emitter.events === 'object' ? emitter.events : undefined
  let tap = taps.get(emitter)
  if (!tap) {
    const created: Tap = { original: emitter.on, sinks: new Set() }
    emitter.on = function (this: unknown, event, callback) {
      let guarded = callback
      for (const sink of created.sinks) if (sink.guard && sink.match(event)) guarded = sink.guard(guarded, event)
      const off = created.original.call(this, event, guarded)
      for (const sink of created.sinks) sink.record(event, off)
      return off
    }
    taps.set(emitter, created)
    tap = created
  }
  const active = tap
  const sink: Sink = {
    match,
    record(event, off) {
      if (!match(event)) return
      names.push(event)
      if (!table) offs.push(off)
    },
    guard,
  }
  active.sinks.add(sink)
  const stop = () => {
    if (!active.sinks.delete(sink) || active.sinks.size > 0) return
    emitter.on = active.original
    taps.delete(emitter)
  }
  const release = () => {
    stop()
    for (const off of offs.splice(0)) off()
    if (table) for (const name of names.splice(0)) delete table[name]
  }
  return {
    stop,
    release,
    releaseOnAnswer() {
      // Answered already: the SDK removed its listeners and left the names empty.
      if (table && names.every((name) => !table[name]?.length)) return release()
      // Otherwise runs after the SDK's own listener (registered first) has taken the answer.
      for (const name of [...names]) active.original.call(emitter, name, () => queueMicrotask(release))
    },
  }
}

/**
 * Calls one async SDK bridge function with a timeout. When the host never answers, the promise
 * rejects with `TIMEOUT` and the listeners the SDK left waiting are removed.
 */
export function callWithTimeout<T>(name: string, call: () => Promise<T>, timeout: number): Promise<T> {
  const capture = captureListeners()
  let pending: Promise<T>
  try {
    pending = call()
  } catch (error) {
    capture.release()
    return Promise.reject(toIapError(error, { during: name }))
  } finally {
    capture.stop()
  }
  const answered = pending.then(
    (value) => (capture.release(), value),
    (error: unknown) => {
      capture.release()
      throw toIapError(error, { during: name })
    },
  )
  return withTimeout(answered, timeout, () => {
    capture.release()
    throw timeoutError(`${name} (Toss)`, timeout)
  })
}
