import { computed, toValue, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import type { SpendOutcome } from '../core/balance.js'
import type { IapError } from '../core/errors.js'
import { useBalanceStore } from './balanceStore.js'
import type { LoadStatus } from './types.js'

export interface UseBalanceReturn {
  /** The balance: the last known value at once (cached), then the server's; `null` before either. */
  balance: ComputedRef<number | null>
  status: ComputedRef<LoadStatus>
  /** Why the last read failed (the last value stays). */
  error: ComputedRef<IapError | null>
  /** `true` while a spend of this currency is on its way. */
  isSpending: ComputedRef<boolean>
  /** Reads the balances again. Never rejects. */
  refresh: () => Promise<unknown>
  /**
   * Spends once (its own idempotency key, retried with the same key when no answer came); a
   * second call while the same spend is on its way joins it. Never rejects: `insufficient` carries
   * `INSUFFICIENT_BALANCE`.
   */
  spend: (amount: number, reason: string) => Promise<SpendOutcome>
}

/** A consumable's balance in a component: `const { balance, spend } = useBalance('gems')`. */
export function useBalance(currency: MaybeRefOrGetter<string>): UseBalanceReturn {
  const store = useBalanceStore()
  return {
    balance: computed(() => store.balances[toValue(currency)] ?? null),
    status: computed(() => store.balanceStatus),
    error: computed(() => store.balanceError),
    isSpending: computed(() => (store.spending[toValue(currency)] ?? 0) > 0),
    refresh: store.refreshBalance,
    spend: (amount, reason) => store.spend(toValue(currency), amount, reason),
  }
}
