import type { TossLogin } from '../core/login.js'
import type { BalanceSource } from '../core/balance.js'
import { getActivePinia, type Pinia } from 'pinia'
import type { EffectScope, InjectionKey } from 'vue'
import { IapError } from '../core/errors.js'
import type { CacheOptions } from '../core/cache.js'
import type { Catalogue } from '../core/catalogue.js'
import type { BridgeCallEvent, IapClient } from '../core/client.js'
import type { RevokedEvent, ServerEntitlement } from '../core/entitlements.js'
import type { GrantOutcome } from '../core/grants.js'
import type { ListenerErrorReporter, Listeners } from '../core/listeners.js'
import type { GrantOrder } from '../core/types.js'
import type { IapOrderEvent } from './types.js'

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

/** A grant's own result, when it settles. */
export interface GrantSettledEvent {
  order: GrantOrder
  outcome: GrantOutcome
}

/** @internal What the plugin provides to the store. */
export interface TossIapContext {
  client: IapClient
  /** The app's Pinia: the stores are created from it on first use, not at install. */
  pinia: Pinia
  /** The catalogue as Toss last answered it, shared by recovery and the product store. */
  catalogue: Catalogue
  recovery: RecoverySettings
  entitlements: EntitlementSettings
  /** What the stores that cache (products, entitlements) keep their cache with. */
  cacheOptions: CacheOptions
  /** What the store does once it exists: recover, then refresh entitlements (both off on the server). */
  startup: { recover: boolean; entitlements: boolean }
  // One-way channels, made by the plugin: a part that must tell another emits here, and the other
  // listens; nothing is a slot filled in later.
  /** Every order transition (the plugin's `onOrderEvent`, the store's listeners, devtools). */
  orderEvents: Listeners<IapOrderEvent>
  /** Every grant's own result when it settles (the orders slice listens, for grants that outlive their purchase). */
  grantSettled: Listeners<GrantSettledEvent>
  /** Every bridge call's start and end (the devtools timeline listens, in development builds). */
  bridgeCalls: Listeners<BridgeCallEvent>
  /** Every entitlement lost (the plugin's `onRevoked` and devtools listen). */
  revoked: Listeners<RevokedEvent>
  /** Work awaited after each recovery (the entitlement store adds its refresh once it exists). */
  afterRecovery: Set<() => Promise<unknown>>
  /** Where a listener's error goes: `app.config.errorHandler` when the app has one, else the console. */
  reportError: ListenerErrorReporter
  /** The plugin's scope: what it starts stops when the app unmounts. Absent on the server. */
  scope?: EffectScope
  /** Aborted when the app unmounts: a recovery under way starts no new grant after that. */
  unmounted: AbortSignal
  /** Toss login, when the plugin was given one (`useTossLogin`, the login store). */
  login?: TossLogin
  /** Where balances come from (`useBalance`), when the plugin was given one. */
  balance?: BalanceSource
}

export const TOSS_IAP_KEY: InjectionKey<TossIapContext> = Symbol(process.env.NODE_ENV !== 'production' ? 'vue-toss-iap' : '')

/**
 * Each Pinia's plugin context. A store is built in the context of the last app that installed its
 * Pinia, which need not be the plugin's (a second app on the page may share the Pinia), and the
 * plugin builds its store after the first frame: the stores find their context by their Pinia.
 */
const contexts = new WeakMap<Pinia, TossIapContext>()

/** @internal The plugin's install. */
export function registerContext(ctx: TossIapContext): void {
  contexts.set(ctx.pinia, ctx)
}

/** The plugin's context, or the error that says how to install it, naming what asked (`what`). */
export function useTossIapContext(what: string): TossIapContext {
  const pinia = getActivePinia()
  const ctx = pinia && contexts.get(pinia)
  if (!ctx) {
    throw new IapError('NOT_INSTALLED', `${what} needs the plugin: app.use(createPinia()) then app.use(createTossIap({ grant }))`)
  }
  return ctx
}
