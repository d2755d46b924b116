import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { newIdempotencyKey, type SpendOutcome } from '../core/balance.js'
import { createCache } from '../core/cache.js'
import { isClient } from '../core/environment.js'
import { IapError, toIapError } from '../core/errors.js'
import { singleFlight } from '../core/timing.js'
import { useTossIapContext } from './context.js'
import { listenInScope } from './events.js'
import type { LoadStatus } from './types.js'

const parseBalances = (raw: unknown): Record<string, number> | null =>
  typeof raw === 'object' && raw !== null && Object.values(raw).every((v) => Number.isSafeInteger(v))
    ? (raw as Record<string, number>)
    : null

/**
 * Balances of consumables (id `'toss-iap-balance'`, visible in Vue DevTools): the signed-in user's
 * balances, shown at once from the last known values (cached per user) and refreshed from the
 * server at first use, after each completed purchase and after each spend. A store of its own,
 * created by the first `useBalance()`: an app that never shows a balance never ships it.
 * Needs `createTossIap({ balance: balanceViaEndpoint({ balance, spend }) })`.
 */
export const useBalanceStore = defineStore('toss-iap-balance', () => {
  const ctx = useTossIapContext('useBalance()')
  const source = ctx.balance
  if (!source)
    throw new IapError('NOT_INSTALLED', 'useBalance() needs createTossIap({ balance: balanceViaEndpoint({ balance: url, spend: url }) })')
  const cache = createCache(ctx.cacheOptions)
  const balances = ref<Record<string, number>>({})
  const balanceStatus = ref<LoadStatus>('idle')
  const balanceError = shallowRef<IapError | null>(null)
  /** Spends on their way, by `currency amount reason`: a second tap joins the first. */
  const spending = ref<Record<string, number>>({})
  const user = () => ctx.login?.session()?.user.userId ?? ''
  let cachedFor: string | null = null
  const loadCache = () => {
    const who = user()
    if (cachedFor === who) return
    cachedFor = who
    balances.value = {}
    cache.read(`balance:${who}`, parseBalances, ({ value }) => {
      if (cachedFor === who) balances.value = value
    })
  }
  loadCache()

  const flight = singleFlight<'refresh', Record<string, number>>()
  /** Spends answered so far: a read that started before one is read again. */
  let writes = 0
  /** Reads every balance from the server. Concurrent callers share one read. Never rejects: on failure the last values stay. */
  function refreshBalance(): Promise<Record<string, number>> {
    return flight.run('refresh', async () => {
      balanceStatus.value = 'loading'
      try {
        // A spend that answers while the read is on its way may be missing from it: read again.
        for (let tries = 0; ; tries++) {
          const who = user()
          const seen = writes
          const next = await source!.read()
          if (seen !== writes && tries < 3) continue
          if (who === user()) {
            balances.value = next
            cache.write(`balance:${who}`, next)
          }
          break
        }
        balanceStatus.value = 'success'
        balanceError.value = null
      } catch (error) {
        balanceStatus.value = 'error'
        balanceError.value = toIapError(error, { during: 'balance' })
      }
      return balances.value
    })
  }

  const spends = new Map<string, Promise<SpendOutcome>>()
  /**
   * Spends `amount` of `currency` once: one idempotency key per call, retried with the same key
   * when no answer came. A call made while the same spend (currency, amount, reason) is on its way
   * joins it: a double tap spends once. Never rejects; refreshes the balance afterwards.
   */
  function spend(currency: string, amount: number, reason: string): Promise<SpendOutcome> {
    const id = `${currency}\n${amount}\n${reason}`
    const running = spends.get(id)
    if (running) return running
    const run = (async (): Promise<SpendOutcome> => {
      spending.value = { ...spending.value, [currency]: (spending.value[currency] ?? 0) + 1 }
      try {
        const outcome = await source!.spend({ currency, amount, reason, idempotencyKey: newIdempotencyKey() })
        writes++
        if (outcome.status === 'spent') balances.value = { ...balances.value, [currency]: outcome.balance }
        void refreshBalance()
        return outcome
      } finally {
        spends.delete(id)
        const left = (spending.value[currency] ?? 1) - 1
        const { [currency]: _, ...rest } = spending.value
        spending.value = left > 0 ? { ...rest, [currency]: left } : rest
      }
    })()
    spends.set(id, run)
    return run
  }

  // A completed purchase may have credited a balance; a new user has balances of their own.
  listenInScope(ctx.orderEvents, (event) => {
    if (event.type === 'completed' || event.type === 'recovered') void refreshBalance()
  })
  if (ctx.login) {
    const stop = ctx.login.subscribe(() => {
      if (cachedFor === user()) return
      loadCache()
      void refreshBalance()
    })
    ctx.unmounted.addEventListener('abort', stop, { once: true })
  }
  // On the server (SSR) nothing is read: the page reads when it hydrates.
  if (isClient) void refreshBalance()

  return { balances, balanceStatus, balanceError, spending, refreshBalance, spend }
})

export type BalanceStore = ReturnType<typeof useBalanceStore>
