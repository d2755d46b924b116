import { tryOnScopeDispose } from '@vueuse/core'
import type { Listeners } from '../core/listeners.js'

/**
 * Adds a listener to one of the context's channels (`onOrderEvent`, `onRevoked`): it is removed
 * with the scope that added it, and one that throws or rejects is reported to
 * `app.config.errorHandler` (or the console) without touching what emitted the event.
 */
export function listenInScope<T>(channel: Listeners<T>, listener: (event: T) => unknown): { off: () => void } {
  const off = channel.add(listener)
  tryOnScopeDispose(off)
  return { off }
}
