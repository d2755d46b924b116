import { getCurrentScope, onScopeDispose } from 'vue'
import type { Listeners } from '../core/listeners.js'

/**
 * Adds a listener to one of the context's channels (`onOrderEvent`, `onRevoked`): it is removed
 * with the scope that added it (vueuse's `tryOnScopeDispose`, written out: the purchase path then
 * needs nothing of `@vueuse/core`), and one that throws or rejects is reported to
 * `app.config.errorHandler` (or the console) without touching what emitted the event.
 */
export function listenInScope<T>(channel: Listeners<T>, listener: (event: T) => unknown): { off: () => void } {
  const off = channel.add(listener)
  if (getCurrentScope()) onScopeDispose(off)
  return { off }
}
