import { useIntervalFn } from '@vueuse/core'
import { inject, shallowRef } from 'vue'
import type { PurchaseScript, SimOrder } from 'vue-toss-iap/testing'
import { SIMULATOR } from '../simulator'

interface ServerLedger {
  grants: Record<
    string,
    { orderId: string; sku: string; source: string; grantedAt: string; requests: number; state: string; subscriptionStatus: string | null }
  >
  failing: boolean
}

const tossOrders = shallowRef<SimOrder[]>([])
const server = shallowRef<ServerLedger>({ grants: {}, failing: false })
const queuedScripts = shallowRef<PurchaseScript[]>([])

/** Both ledgers, polled: the simulated host's (with its queued scripts) and the fulfilment server's. */
export function useLedgers() {
  const sim = inject(SIMULATOR)!
  async function refreshLedgers() {
    tossOrders.value = structuredClone([...sim.orders])
    queuedScripts.value = sim.queuedPurchases()
    const response = await fetch('/api/iap/ledger').catch(() => null)
    if (response?.ok) server.value = (await response.json()) as ServerLedger
  }
  useIntervalFn(refreshLedgers, 500, { immediateCallback: true })
  return { tossOrders, server, queuedScripts, refreshLedgers }
}
