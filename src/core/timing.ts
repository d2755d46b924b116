import { IapError } from './errors.js'

export interface IapTimeouts {
  /** Every bridge call (products, pending orders, complete, history, subscription info). Default 15 s. */
  call: number
  /** The app's `grant`; past it Toss is told `false` and the order waits for recovery. Default 25 s, under Toss's 30 s. */
  grant: number
  /** How long the Toss payment sheet may stay up without an answer. Default 5 min. */
  purchase: number
}

export const DEFAULT_TIMEOUTS: IapTimeouts = { call: 15_000, grant: 25_000, purchase: 300_000 }

/** A clock that only moves forward: a device clock set back never stalls a throttle or a duration. */
export const monotonicNow = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now())

/**
 * The one timeout: settles with `pending`, or after `ms` with what `onTimeout` answers (or
 * rejects with what it throws). `pending` goes on either way; `onTimeout` may clean up after it.
 */
export function withTimeout<T>(pending: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout())
      } catch (error) {
        reject(error)
      }
    }, ms)
    pending.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    )
  })
}

/** `TIMEOUT`, saying what got no answer in how long. */
export const timeoutError = (what: string, ms: number, context: { orderId?: string; sku?: string } = {}) =>
  new IapError('TIMEOUT', `${what} got no answer within ${ms} ms`, context)

/**
 * The one "join the call already in flight": while a run for `key` is under way, every caller gets
 * that run's promise instead of starting another.
 */
export function singleFlight<K, T>() {
  const running = new Map<K, Promise<T>>()
  return {
    run(key: K, start: () => Promise<T>): Promise<T> {
      const current = running.get(key)
      if (current) return current
      const started = start().finally(() => running.delete(key))
      running.set(key, started)
      return started
    },
    has: (key: K) => running.has(key),
  }
}

interface TaskScheduler {
  postTask(task: () => void, options: { priority: 'user-visible' }): Promise<unknown>
}

/** How long a page that says it is visible may go without drawing a frame before `task` runs anyway. */
const FRAME_DEADLINE = 1000

/**
 * Runs `task` once, after the page's next frame where the browser can be asked to (posted from
 * `requestAnimationFrame` through `scheduler.postTask`: Chromium, and so Android's WebView; at the
 * latest after a second, for a WebView that draws nothing while it says it is visible), else as a
 * microtask after the current script (WebKit, Node, test DOMs, where fake timers in tests never
 * hold it, and a hidden page). `task` must not throw.
 */
export function afterFirstFrame(task: () => void): void {
  const scheduler = (globalThis as { scheduler?: Partial<TaskScheduler> }).scheduler
  // A hidden page draws no frame: it runs at once instead of waiting to be shown.
  const framing = typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && document.visibilityState !== 'hidden'
  if (typeof scheduler?.postTask !== 'function' || !framing) return queueMicrotask(task)
  let done = false
  const run = () => {
    if (done) return
    done = true
    clearTimeout(deadline)
    task()
  }
  const deadline = setTimeout(run, FRAME_DEADLINE)
  requestAnimationFrame(() => void scheduler.postTask!(run, { priority: 'user-visible' }))
}
