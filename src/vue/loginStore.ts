import { defineStore } from 'pinia'
import { computed, shallowRef } from 'vue'
import { IapError } from '../core/errors.js'
import type { TossLoginOutcome, TossLoginSession } from '../core/login.js'
import { useTossIapContext } from './context.js'

/** Where a login stands: `logging-in` while the Toss sheet or the server is at work. */
export type TossLoginStatus = 'logged-out' | 'logging-in' | 'logged-in'

/**
 * Toss login's state (id `'toss-iap-login'`, visible in Vue DevTools): the session, where a login
 * stands and why the last one failed. Needs `createTossIap({ login })`.
 */
export const useLoginStore = defineStore('toss-iap-login', () => {
  const ctx = useTossIapContext('useLoginStore()')
  const login = ctx.login
  if (!login) throw new IapError('NOT_INSTALLED', 'Toss login needs createTossIap({ login: createTossLogin({ endpoint }) })')
  const session = shallowRef<TossLoginSession | null>(login.session())
  const pending = shallowRef(false)
  const error = shallowRef<IapError | null>(null)
  const stop = login.subscribe((s) => (session.value = s))
  ctx.unmounted.addEventListener('abort', stop, { once: true })

  const isLoggedIn = computed(() => session.value !== null && session.value.expiresAt > Date.now())
  const status = computed<TossLoginStatus>(() => (pending.value ? 'logging-in' : isLoggedIn.value ? 'logged-in' : 'logged-out'))
  const user = computed(() => (isLoggedIn.value ? session.value!.user : null))

  /** Logs in (the Toss sheet, then the server). Never rejects; a closed sheet is `canceled`. */
  async function logIn(): Promise<TossLoginOutcome> {
    pending.value = true
    try {
      const outcome = await login!.login()
      error.value = outcome.error
      return outcome
    } finally {
      pending.value = false
    }
  }
  /** Ends the session here and on the server. */
  async function logOut(): Promise<void> {
    error.value = null
    await login!.logout()
  }
  return { session, status, isLoggedIn, user, error, login: logIn, logout: logOut }
})

export type LoginStore = ReturnType<typeof useLoginStore>
