import { useDocumentVisibility } from '@vueuse/core'
import type { Pinia } from 'pinia'
import { effectScope, watch, type App, type Plugin } from 'vue'
import { createIapClient, type IapTimeouts } from '../core/client.js'
import { isClient } from '../core/environment.js'
import { IapError } from '../core/errors.js'
import { DEFAULT_RECOVERY_CONCURRENCY } from '../core/recovery.js'
import type { GrantFn } from '../core/types.js'
import { TOSS_IAP_KEY, type RecoverySettings, type TossIapContext } from './context.js'
import { useIapStore, type IapOrderEvent } from './store.js'

export interface TossIapOptions {
  /**
   * The app's server fulfilment, called once per paid order (and again by recovery only if it did
   * not say `true`). Answer `true` only once the server has durably recorded the grant.
   */
  grant: GrantFn
  /** Bridge call, grant and payment-sheet timeouts in ms. Defaults: 15 s, 25 s, 5 min. */
  timeouts?: Partial<IapTimeouts>
  /** When recovery runs by itself. Defaults: on install, on return to the foreground, throttled to once per 30 s. */
  recovery?: Partial<RecoverySettings>
  /** Every order transition (a shortcut for `useIapStore().onOrderEvent`). */
  onOrderEvent?: (event: IapOrderEvent) => void
}

export const DEFAULT_RECOVERY: RecoverySettings = { onInstall: true, onVisible: true, throttle: 30_000, concurrency: DEFAULT_RECOVERY_CONCURRENCY }

/**
 * The Vue plugin: `app.use(createTossIap({ grant }))` after Pinia. Install recovers pending orders
 * in the background (await `useIapStore().whenReady()` if you need to) and again whenever the page
 * comes back to the foreground.
 */
export function createTossIap(options: TossIapOptions): Plugin {
  if (typeof options?.grant !== 'function') {
    throw new IapError('INVALID_ARGUMENT', 'createTossIap needs a grant function, e.g. createTossIap({ grant: grantViaEndpoint("/api/iap/fulfill") })')
  }
  const recovery: RecoverySettings = { ...DEFAULT_RECOVERY, ...options.recovery }
  if (!(recovery.throttle >= 0) || !(recovery.concurrency >= 1)) {
    throw new IapError('INVALID_ARGUMENT', 'recovery.throttle must be >= 0 and recovery.concurrency >= 1')
  }

  return {
    install(app: App) {
      const pinia = app.config.globalProperties.$pinia as Pinia | undefined
      if (!pinia) {
        throw new IapError('NOT_INSTALLED', 'createTossIap needs Pinia: call app.use(createPinia()) before app.use(createTossIap(...))')
      }
      const ctx: TossIapContext = {
        recovery,
        client: createIapClient({
          grant: options.grant,
          timeouts: options.timeouts,
          onGrantSettled: (order, outcome) => ctx.grantSettled?.(order, outcome),
        }),
      }
      app.provide(TOSS_IAP_KEY, ctx)
      const store = app.runWithContext(() => useIapStore(pinia))
      if (options.onOrderEvent) store.onOrderEvent(options.onOrderEvent)

      // On the server there is nothing to recover and no window to watch.
      if (!isClient) return store.start(false)

      const scope = effectScope(true)
      scope.run(() => {
        if (!recovery.onVisible) return
        const visibility = useDocumentVisibility()
        watch(
          visibility,
          (now, before) => {
            if (now !== 'visible' || before !== 'hidden') return
            const last = store.recovery.lastStartedAt
            if (last !== null && Date.now() - last < recovery.throttle) return
            void store.recover()
          },
          { flush: 'sync' },
        )
      })
      app.onUnmount(() => scope.stop())
      store.start(recovery.onInstall)
    },
  }
}
