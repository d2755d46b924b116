import { useTimeoutFn } from '@vueuse/core'
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import {
  deriveEntitlements,
  fromServer,
  parseCachedEntitlements,
  revokeReason,
  type Entitlement,
  type RevokedEvent,
} from '../core/entitlements.js'
import { createCache } from '../core/cache.js'
import { isClient } from '../core/environment.js'
import { IapError, toIapError } from '../core/errors.js'
import { getOrderHistory } from '../core/history.js'
import { getSubscriptionInfo } from '../core/subscriptions.js'
import { singleFlight } from '../core/timing.js'
import type { HistoryOrder, OrderHistoryPage, SubscriptionInfo } from '../core/types.js'
import { useTossIapContext } from './context.js'
import { listenInScope } from './events.js'
import { useProductStore } from './productStore.js'
import { useIapStore } from './store.js'
import type { LoadStatus } from './types.js'

export type { RevokedEvent }

export interface SubscriptionRecord {
  /** `null` while unknown: never loaded, or the host answered `{}`. */
  info: SubscriptionInfo | null
  status: LoadStatus
  error: IapError | null
  updatedAt: number | null
}

/** The most history pages one refresh walks (20 orders a page on Toss). */
const MAX_HISTORY_PAGES = 50

/** setTimeout's longest delay; a later expiry is checked again when this one fires. */
const MAX_DELAY = 2_147_483_647

/**
 * What the user owns (id `'toss-iap-entitlements'`): entitlements per sku, subscription states,
 * and the `revoked` event. A store of its own, created on first use (`useEntitlement`,
 * `useSubscription`), so an app that never asks pays neither its bytes nor its bridge calls.
 */
export const useEntitlementStore = defineStore('toss-iap-entitlements', () => {
  const ctx = useTossIapContext('useEntitlementStore()')
  const { client } = ctx
  const iap = useIapStore()
  const catalogue = useProductStore()
  const cache = createCache(ctx.cacheOptions)

  const entitlements = ref<Record<string, Entitlement>>({})
  const entitlementsStatus = ref<LoadStatus>('idle')
  const entitlementsError = shallowRef<IapError | null>(null)
  const subscriptions = ref<Record<string, SubscriptionRecord>>({})
  // A cached entitlement may paint the UI; it is marked stale and the next refresh decides.
  cache.read('entitlements', parseCachedEntitlements, ({ value }) => {
    if (entitlementsStatus.value === 'idle') entitlements.value = value
  })

  const subscriptionFlights = singleFlight<string, SubscriptionRecord>()
  /** Loads one subscription's state; concurrent callers for the same order share one call. Never rejects. */
  function loadSubscription(orderId: string): Promise<SubscriptionRecord> {
    return subscriptionFlights.run(orderId, () => {
      const prev = subscriptions.value[orderId]
      subscriptions.value[orderId] = { info: prev?.info ?? null, status: 'loading', error: null, updatedAt: prev?.updatedAt ?? null }
      return getSubscriptionInfo(client, orderId)
        .then(
          (info): SubscriptionRecord => ({ info, status: 'success', error: null, updatedAt: Date.now() }),
          (error: unknown): SubscriptionRecord => ({
            info: prev?.info ?? null,
            status: 'error',
            error: toIapError(error, { orderId, during: 'getSubscriptionInfo' }),
            updatedAt: prev?.updatedAt ?? null,
          }),
        )
        .then((record) => {
          subscriptions.value[orderId] = record
          return subscriptions.value[orderId] as SubscriptionRecord
        })
    })
  }

  async function readHistory(): Promise<HistoryOrder[]> {
    const all: HistoryOrder[] = []
    let key: string | null = null
    for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
      const result: OrderHistoryPage = await getOrderHistory(client, { key })
      all.push(...result.orders)
      if (!result.hasNext || !result.nextKey) break
      key = result.nextKey
    }
    return all
  }

  function apply(next: Record<string, Entitlement>, history: readonly HistoryOrder[]) {
    const previous = entitlements.value
    entitlements.value = next
    entitlementsStatus.value = 'success'
    entitlementsError.value = null
    cache.write('entitlements', next)
    for (const [sku, before] of Object.entries(previous)) {
      const after = next[sku]
      if (before.isActive && after && !after.isActive) {
        const event: RevokedEvent = { sku, reason: revokeReason(before, after, history), previous: before, entitlement: after }
        ctx.revoked.emit(event)
      }
    }
  }

  const refreshFlight = singleFlight<'refresh', Record<string, Entitlement>>()
  /**
   * Re-derives every entitlement (or asks the app's source). Concurrent callers share one run.
   * Never rejects: on failure the last entitlements stay and `entitlementsError` says why.
   */
  function refreshEntitlements(): Promise<Record<string, Entitlement>> {
    return refreshFlight.run('refresh', async () => {
      entitlementsStatus.value = 'loading'
      try {
        const products = await catalogue.ensure(true)
        const source = ctx.entitlements.source
        if (source) {
          apply(fromServer(await source(), products), [])
        } else if (!products.some((p) => p.type !== 'CONSUMABLE')) {
          // Nothing in the catalogue can be owned: no history to read.
          apply({}, [])
        } else {
          const history = await readHistory()
          const session = Object.values(iap.orders)
            .filter((o) => o.status === 'granted' || o.status === 'completed')
            .sort((a, b) => b.createdAt - a.createdAt)
          const next = await deriveEntitlements({
            products,
            history,
            session,
            async subscriptionInfo(orderId) {
              const record = await loadSubscription(orderId)
              if (record.error) throw record.error
              return record.info
            },
          })
          apply(next, history)
        }
      } catch (error) {
        entitlementsStatus.value = 'error'
        entitlementsError.value = toIapError(error, { during: 'the entitlement refresh' })
      }
      return entitlements.value
    })
  }

  // A purchase changes what the user owns at once: a non-consumable from its granted order; a
  // subscription (or anything, when the app's server is the source) through a refresh.
  iap.onOrderEvent((event) => {
    if (event.type !== 'granted' && event.type !== 'completed' && event.type !== 'recovered') return
    const product = catalogue.products.find((p) => p.sku === event.order.sku)
    if (!product || product.type === 'CONSUMABLE') return
    if (product.type === 'NON_CONSUMABLE' && !ctx.entitlements.source) {
      if (entitlements.value[product.sku]?.isActive && !entitlements.value[product.sku]?.isStale) return
      entitlements.value[product.sku] = {
        sku: product.sku,
        isActive: true,
        source: 'order',
        orderId: event.order.orderId,
        subscription: null,
        isStale: false,
        updatedAt: Date.now(),
      }
      return
    }
    if (event.type !== 'granted') void refreshEntitlements()
  })

  /** The next moment an active subscription expires or leaves its grace period: a refresh is due then. */
  const nextExpiry = computed<number | null>(() => {
    const now = Date.now()
    let soonest: number | null = null
    for (const e of Object.values(entitlements.value)) {
      if (!e.isActive || !e.subscription) continue
      for (const at of [e.subscription.expiresAt, e.subscription.gracePeriodExpiresAt]) {
        const ends = at ? Date.parse(at) : Number.NaN
        // Only moments still ahead: a host that keeps an old date must not cause a refresh loop.
        if (ends > now && (soonest === null || ends < soonest)) soonest = ends
      }
    }
    return soonest
  })

  // Startup and every return to the foreground refresh after recovery, once this store exists.
  ctx.afterRecovery.add(refreshEntitlements)

  /** Refreshes unless entitlements are loaded (or loading), or the startup refresh is still to come. */
  function ensureFresh() {
    if (entitlementsStatus.value !== 'idle' || !isClient) return
    if (!iap.isReady && ctx.entitlements.refreshOnInstall) return
    void refreshEntitlements()
  }

  // When a subscription's expiry passes, what the user owns may have changed. The timer lives
  // with the plugin (stopped when the app unmounts), not with Pinia.
  ctx.scope?.run(() => {
    const delay = shallowRef(0)
    const expiry = useTimeoutFn(() => void refreshEntitlements(), delay, { immediate: false })
    watch(nextExpiry, (at) => {
      expiry.stop()
      if (at === null) return
      delay.value = Math.min(at - Date.now() + 1000, MAX_DELAY)
      expiry.start()
    })
  })

  return {
    entitlements,
    entitlementsStatus,
    entitlementsError,
    subscriptions,
    nextExpiry,
    loadSubscription,
    refreshEntitlements,
    ensureFresh,
    /** Listens for entitlements lost (refund, expiry, revocation); removed with the calling scope. */
    onRevoked: (listener: (event: RevokedEvent) => unknown) => listenInScope(ctx.revoked, listener),
  }
})

export type EntitlementStore = ReturnType<typeof useEntitlementStore>
