import { tryOnScopeDispose } from '@vueuse/core'
import { createListeners } from '../core/listeners.js'
import type { TossIapContext } from './context.js'

/**
 * An event of the stores (`onOrderEvent`, `onRevoked`): listeners are removed with the scope that
 * added them, and one that throws or rejects is reported to `app.config.errorHandler` (or the
 * console) without touching the purchase that emitted the event.
 */
export function createEventChannel<T>(where: string, ctx: Pick<TossIapContext, 'reportError'>) {
  const listeners = createListeners<T>(where, () => ctx.reportError)
  return {
    on(listener: (event: T) => unknown): { off: () => void } {
      const off = listeners.add(listener)
      tryOnScopeDispose(off)
      return { off }
    },
    trigger: listeners.emit,
  }
}
