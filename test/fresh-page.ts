import { promisify } from 'node:util'
import { afterAll, vi } from 'vitest'

/**
 * The unit project runs its files one after another in one worker (`isolate: false` in
 * vitest.config.ts): no new process, happy-dom window, Vue or Pinia per file, which was most of
 * the project's time. What one file could leave behind for the next is reset here, so that each
 * still starts as on a page just opened:
 *
 * - modules: this repository's (src, the test helpers) and the SDK's are evaluated again for each
 *   file (the SDK and @vue/test-utils are inlined for it in vitest.config.ts), so their
 *   module-level state starts over: the SDK's bridge emitter on `window`, warn-once sets,
 *   @vue/test-utils' auto-unmount list;
 * - the page: the page-wide grant map, the bridge globals, storage, the body, a
 *   `document.visibilityState` a test set;
 * - when the file ends, what it left running: its timers, and its listeners on `window` and
 *   `document` (an app it never unmounted must not wake up in a later file), and its spies, fake
 *   timers and stubs.
 */
vi.resetModules()

if (typeof document !== 'undefined') {
  const page = globalThis as Record<string | symbol, unknown>
  delete page[Symbol.for('vue-toss-iap.grants')]
  for (const name of ['__GRANITE_NATIVE_EMITTER', '__CONSTANT_HANDLER_MAP', 'ReactNativeWebView']) delete page[name]
  localStorage.clear()
  sessionStorage.clear()
  document.body.innerHTML = ''
  if (Object.getOwnPropertyDescriptor(document, 'visibilityState')) delete (document as { visibilityState?: unknown }).visibilityState

  // What a file leaves on window and document is removed after it. The record holds only the
  // listeners still added (one per type, listener and capture flag, as the DOM counts them): one
  // that kept them all would keep every app a file ever mounted (the schedule search mounts
  // thousands, and ran out of memory past about 15,000 schedules).
  type Options = boolean | { capture?: boolean } | undefined
  const capture = (options: Options) => (typeof options === 'boolean' ? options : !!options?.capture)
  for (const target of [window, document] as EventTarget[]) {
    const { addEventListener: add, removeEventListener: remove } = target
    const live: Array<[type: string, listener: any, capture: boolean]> = []
    const find = (type: string, listener: unknown, options: Options) =>
      live.findIndex(([t, l, c]) => t === type && l === listener && c === capture(options))
    target.addEventListener = function (this: EventTarget, type: string, listener: any, options?: any) {
      if (listener && find(type, listener, options) === -1) live.push([type, listener, capture(options)])
      return add.call(this, type, listener, options)
    }
    target.removeEventListener = function (this: EventTarget, type: string, listener: any, options?: any) {
      const at = find(type, listener, options)
      if (at !== -1) live.splice(at, 1)
      return remove.call(this, type, listener, options)
    }
    afterAll(() => {
      for (const [type, listener, flag] of live.splice(0)) remove.call(target, type, listener, flag)
      delete (target as { addEventListener?: unknown }).addEventListener
      delete (target as { removeEventListener?: unknown }).removeEventListener
    })
  }
}

const timers = new Set<ReturnType<typeof setTimeout>>()
const realSetTimeout = globalThis.setTimeout
const realSetInterval = globalThis.setInterval
const tracked = <T extends (...args: any[]) => ReturnType<typeof setTimeout>>(real: T): T =>
  Object.assign(
    function (this: unknown, ...args: Parameters<T>) {
      const timer = real.apply(this, args)
      timers.add(timer)
      return timer
    } as T,
    { [promisify.custom]: (real as { [promisify.custom]?: unknown })[promisify.custom] },
  )
globalThis.setTimeout = tracked(realSetTimeout)
globalThis.setInterval = tracked(realSetInterval)

afterAll(() => {
  vi.useRealTimers()
  globalThis.setTimeout = realSetTimeout
  globalThis.setInterval = realSetInterval
  for (const timer of timers) clearTimeout(timer)
  timers.clear()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
  vi.unstubAllEnvs()
})
