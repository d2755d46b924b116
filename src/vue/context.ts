import type { InjectionKey } from 'vue'
import type { IapCache } from '../core/cache.js'
import type { BridgeCallEvent, IapClient } from '../core/client.js'
import type { ServerEntitlement } from '../core/entitlements.js'
import type { GrantOutcome } from '../core/grants.js'
import type { GrantOrder } from '../core/types.js'

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
  /** Refresh entitlements on install, after recovery. Default `true`. */
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
}

export const TOSS_IAP_KEY: InjectionKey<TossIapContext> = Symbol(process.env.NODE_ENV !== 'production' ? 'vue-toss-iap' : '')
