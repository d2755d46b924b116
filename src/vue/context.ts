import type { EffectScope, InjectionKey } from 'vue'
import type { IapCache } from '../core/cache.js'
import type { BridgeCallEvent, IapClient } from '../core/client.js'
import type { ServerEntitlement } from '../core/entitlements.js'
import type { GrantOutcome } from '../core/grants.js'
import type { ListenerErrorReporter } from '../core/listeners.js'
import type { GrantOrder } from '../core/types.js'
import type { RevokedEvent } from './entitlementStore.js'

export interface RecoverySettings {
  /** Recover when the plugin is installed. Default `true`. */
  onInstall: boolean
  /** Recover (and refresh entitlements) when the page becomes visible after being hidden. Default `true`. */
  onVisible: boolean
  /** The visibility trigger runs at most once per this many ms. Default 30 s. */
  throttle: number
  /** Orders granted at once during a recovery. Default 4. */
  concurrency: number
}

export interface EntitlementSettings {
  /**
   * The app's own record of what the user owns (e.g. `() => fetch('/api/me/entitlements').then(r => r.json())`).
   * When given it wins over what the client derives from Toss: only the server knows about grants
   * made elsewhere, manual refunds and revocations.
   */
  source?: () => ServerEntitlement[] | Promise<ServerEntitlement[]>
  /**
   * Refresh entitlements at startup, after recovery, when they are in use (a `useEntitlement` or
   * `useSubscription` at startup). `false` leaves the first refresh to the first `useEntitlement`
   * or `refresh()`. Default `true`.
   */
  refreshOnInstall: boolean
}

/** @internal What the plugin provides to the store. */
export interface TossIapContext {
  client: IapClient
  recovery: RecoverySettings
  entitlements: EntitlementSettings
  cache: IapCache
  /** The store listens here for grants that settle after their purchase ended. */
  grantSettled?: (order: GrantOrder, outcome: GrantOutcome) => void
  /** The devtools timeline listens here (development builds only). */
  onBridgeCall?: (event: BridgeCallEvent) => void
  /** Set by the entitlement store once it exists: what runs after each recovery. */
  afterRecovery?: () => Promise<unknown>
  /** Told of every entitlement lost (the plugin's `onRevoked`, devtools). */
  revokedListeners: Set<(event: RevokedEvent) => void>
  /** Where a listener's error goes: `app.config.errorHandler` when the app has one, else the console. */
  reportError: ListenerErrorReporter
  /** The plugin's scope: what it starts stops when the app unmounts. Absent on the server. */
  scope?: EffectScope
}

export const TOSS_IAP_KEY: InjectionKey<TossIapContext> = Symbol(process.env.NODE_ENV !== 'production' ? 'vue-toss-iap' : '')
