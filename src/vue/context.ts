import type { InjectionKey } from 'vue'
import type { IapClient } from '../core/client.js'
import type { GrantOutcome } from '../core/grants.js'
import type { GrantOrder } from '../core/types.js'

export interface RecoverySettings {
  /** Recover when the plugin is installed. Default `true`. */
  onInstall: boolean
  /** Recover when the page becomes visible after being hidden. Default `true`. */
  onVisible: boolean
  /** The visibility trigger runs at most once per this many ms. Default 30 s. */
  throttle: number
  /** Orders granted at once during a recovery. Default 4. */
  concurrency: number
}

/** @internal What the plugin provides to the store. */
export interface TossIapContext {
  client: IapClient
  recovery: RecoverySettings
  /** The store listens here for grants that settle after their purchase ended. */
  grantSettled?: (order: GrantOrder, outcome: GrantOutcome) => void
}

export const TOSS_IAP_KEY: InjectionKey<TossIapContext> = Symbol(process.env.NODE_ENV !== 'production' ? 'vue-toss-iap' : '')
