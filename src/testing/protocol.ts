import { MIN_VERSIONS, type GraniteEmitter, type IapCapability } from '../core/environment.js'

// Bridge-protocol helpers of the simulated host: which version each call needs, and an emitter.

export { MIN_VERSIONS }

/** Which capability (and so which minimum version) each bridge method needs. */
export const CAPABILITY_OF: Record<string, IapCapability> = {
  iapGetProductItemList: 'products',
  processProductGrant: 'purchase',
  completeProductGrant: 'completeProductGrant',
  getPendingOrders: 'pendingOrders',
  getCompletedOrRefundedOrders: 'orderHistory',
  getSubscriptionInfo: 'subscriptions',
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0)
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/** The emitter the SDK would create, for a page where the SDK is not loaded yet. */
export function createEmitter(): GraniteEmitter {
  const events: Record<string, Array<(payload: unknown) => void>> = {}
  return {
    events,
    emit(event, payload) {
      for (const cb of [...(events[event] ?? [])]) cb(payload)
    },
    on(event, cb) {
      ;(events[event] ??= []).push(cb)
      return () => {
        events[event] = (events[event] ?? []).filter((c) => c !== cb)
      }
    },
  }
}
