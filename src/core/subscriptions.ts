import { IAP } from '@apps-in-toss/web-framework'
import type { IapClient } from './client.js'
import { requireOrderId } from './errors.js'
import { isObj, num, str, strOrNull } from './normalize.js'
import type { SubscriptionInfo, SubscriptionStatus } from './types.js'

// The subscription call, in a module of its own: an app that sells no subscription never ships it.

const SUB_STATUSES: ReadonlySet<string> = new Set(['ACTIVE', 'EXPIRED', 'IN_GRACE_PERIOD', 'ON_HOLD', 'PAUSED', 'REVOKED'])

/** `null` when the host answered `{}` or nothing usable: the subscription is unknown, not active. */
export function normalizeSubscription(value: unknown): SubscriptionInfo | null {
  const sub = isObj(value) ? value.subscription : undefined
  if (!isObj(sub)) return null
  const status = str(sub.status)
  return {
    catalogId: num(sub.catalogId),
    status: (SUB_STATUSES.has(status) ? status : 'UNKNOWN') as SubscriptionStatus,
    expiresAt: strOrNull(sub.expiresAt),
    isAutoRenew: sub.isAutoRenew === true,
    gracePeriodExpiresAt: strOrNull(sub.gracePeriodExpiresAt),
    isAccessible: sub.isAccessible === true,
  }
}

/** One subscription's state; `null` when the host does not know it (it answered `{}`). */
export async function getSubscriptionInfo(client: IapClient, orderId: string): Promise<SubscriptionInfo | null> {
  const id = requireOrderId(orderId)
  return client.request(
    'subscriptions',
    'getSubscriptionInfo',
    () => IAP.getSubscriptionInfo({ params: { orderId: id } }),
    normalizeSubscription,
    id,
  )
}
