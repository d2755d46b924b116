import type { Pinia } from 'pinia'
import { effectScope, type App, type Plugin } from 'vue'
import type { CacheOptions } from '../core/cache.js'
import { createCatalogue } from '../core/catalogue.js'
import { createClient, resolveTimeouts, type BridgeCallEvent, type IapClient, type IapTimeouts } from '../core/client.js'
import { observeBridgeCalls } from '../core/observe.js'
import { isClient } from '../core/environment.js'
import { IapError } from '../core/errors.js'
import { createListeners, reportSafely, reportToConsole, type ListenerErrorReporter } from '../core/listeners.js'
import { DEFAULT_RECOVERY_CONCURRENCY } from '../core/recovery.js'
import { afterFirstFrame } from '../core/timing.js'
import type { TossLogin } from '../core/login.js'
import type { BalanceSource } from '../core/balance.js'
import type { GrantFn } from '../core/types.js'
import {
  registerContext,
  TOSS_IAP_KEY,
  type EntitlementSettings,
  type GrantSettledEvent,
  type RecoverySettings,
  type TossIapContext,
} from './context.js'
import type { RevokedEvent } from '../core/entitlements.js'
import { useIapStore } from './store.js'
import type { IapOrderEvent } from './types.js'

export interface TossIapOptions {
  /**
   * The app's server fulfilment, called once per paid order (and again by recovery only if it did
   * not say `true`). Answer `true` only once the server has durably recorded the grant.
   */
  grant: GrantFn
  /** Bridge call, grant and payment-sheet timeouts in ms. Defaults: 15 s, 25 s, 5 min. */
  timeouts?: Partial<IapTimeouts>
  /** When recovery runs by itself. Defaults: on install, on return to the foreground, throttled to once per 30 s, 4 at once. */
  recovery?: Partial<RecoverySettings>
  /** Where entitlements come from and when they refresh. */
  entitlements?: Partial<EntitlementSettings>
  /** The product and entitlement cache. Default: `localStorage`, 24 h. `false` turns it off. */
  cache?: CacheOptions | false
  /** Every order transition (a shortcut for `useIapStore().onOrderEvent`). */
  onOrderEvent?: (event: IapOrderEvent) => void
  /** Every entitlement lost (a shortcut for `useEntitlementStore().onRevoked`). */
  onRevoked?: (event: RevokedEvent) => void
  /**
   * Toss login (`createTossLogin({ endpoint })`): `grantViaEndpoint` and `entitlementsViaEndpoint`
   * then send its session by themselves, `useTossLogin()` works, and a purchase by a user who is
   * not logged in logs in first (see `requireLogin` of `createTossLogin`).
   */
  login?: TossLogin
  /**
   * Consumables as a balance (`balanceViaEndpoint({ balance, spend })`): what `useBalance()`
   * reads and spends through. Only an app that calls `useBalance()` ships its code.
   */
  balance?: BalanceSource
}

export const DEFAULT_RECOVERY: RecoverySettings = {
  onInstall: true,
  onVisible: true,
  throttle: 30_000,
  concurrency: DEFAULT_RECOVERY_CONCURRENCY,
}

/**
 * The Vue plugin: `app.use(createTossIap({ grant }))` after Pinia. Install recovers pending orders
 * and refreshes entitlements in the background (await `useIapStore().whenReady()` if you need
 * to), and again whenever the page comes back to the foreground.
 */
export function createTossIap(options: TossIapOptions): Plugin {
  if (typeof options?.grant !== 'function') {
    throw new IapError('INVALID_ARGUMENT', 'createTossIap needs a grant function, e.g. grantViaEndpoint(url)')
  }
  const recovery: RecoverySettings = { ...DEFAULT_RECOVERY, ...options.recovery }
  if (!(recovery.throttle >= 0) || !(recovery.concurrency >= 1)) {
    throw new IapError('INVALID_ARGUMENT', 'recovery.throttle must be >= 0 and recovery.concurrency >= 1')
  }
  const timeouts = resolveTimeouts(options.timeouts)
  const { grant, login } = options

  const entitlements: EntitlementSettings = { refreshOnInstall: true, ...options.entitlements }
  if (entitlements.source !== undefined && typeof entitlements.source !== 'function') {
    throw new IapError('INVALID_ARGUMENT', 'entitlements.source must be a function')
  }

  return {
    install(app: App) {
      const pinia = app.config.globalProperties.$pinia as Pinia | undefined
      if (!pinia) {
        throw new IapError('NOT_INSTALLED', 'createTossIap needs Pinia: app.use(createPinia()) first')
      }
      // Listener errors go where Vue apps look for errors; they never reach the money path.
      const reportError: ListenerErrorReporter = (error, where) => {
        const handler = app.config.errorHandler
        if (handler) handler(error, null, `vue-toss-iap: ${where}`)
        else reportToConsole(error, where)
      }
      const grantSettled = createListeners<GrantSettledEvent>('onGrantSettled', reportError)
      const bridgeCalls = createListeners<BridgeCallEvent>('onBridgeCall', reportError)
      const revoked = createListeners<RevokedEvent>('an onRevoked listener', reportError)
      if (options.onRevoked) revoked.add(options.onRevoked)
      const lifetime = new AbortController()
      app.onUnmount(() => lifetime.abort())
      let client: IapClient | undefined
      const ctx: TossIapContext = {
        // Built on first use (by the store, after the first frame), not during app.use.
        get client() {
          return (client ??= createClient(
            {
              grant,
              timeouts,
              onGrantSettled: (order, outcome) => grantSettled.emit({ order, outcome }),
              reportError,
              beforePurchase: login?.beforePurchase,
            },
            // Only the devtools timeline listens, in development builds: production ships no observer.
            process.env.NODE_ENV !== 'production' ? observeBridgeCalls((event) => bridgeCalls.emit(event), reportError) : undefined,
          ))
        },
        pinia,
        catalogue: createCatalogue(),
        reportError,
        unmounted: lifetime.signal,
        recovery,
        entitlements,
        // On the server there is nothing to recover and no window to watch.
        startup: { recover: isClient && recovery.onInstall, entitlements: isClient && entitlements.refreshOnInstall },
        orderEvents: createListeners<IapOrderEvent>('an onOrderEvent listener', reportError),
        grantSettled,
        bridgeCalls,
        revoked,
        afterRecovery: new Set(),
        // What the plugin starts (the entitlement expiry timer) stops when the app unmounts.
        scope: isClient ? effectScope(true) : undefined,
        cacheOptions: options.cache === false ? { storage: false } : (options.cache ?? {}),
        login,
        balance: options.balance,
      }
      app.provide(TOSS_IAP_KEY, ctx)
      registerContext(ctx)
      if (options.onOrderEvent) ctx.orderEvents.add(options.onOrderEvent)
      const store = () => app.runWithContext(() => useIapStore(pinia))
      if (!isClient) return void store()

      app.onUnmount(() => ctx.scope?.stop())
      // Development builds only: bundlers drop this branch, and the devtools code with it, when
      // they replace process.env.NODE_ENV with "production".
      if (process.env.NODE_ENV !== 'production') {
        void import('./devtools.js')
          .then(({ installDevtools }) => lifetime.signal.aborted || installDevtools(app, store, ctx))
          .catch(() => {})
      }
      // The store, and with it the startup work (recovery, then watching for the page's return to
      // the foreground), comes after the app's first frame (or, where the browser cannot be asked
      // for that, once the code that installs and mounts the app has run): neither the first render
      // nor the first paint waits for it. An app unmounted by then starts nothing.
      afterFirstFrame(() => {
        if (lifetime.signal.aborted) return
        try {
          store()
        } catch (error) {
          reportSafely(reportError, error, 'creating the vue-toss-iap store')
        }
      })
    },
  }
}
