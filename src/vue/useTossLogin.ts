import { storeToRefs } from 'pinia'
import type { ComputedRef, Ref } from 'vue'
import type { IapError } from '../core/errors.js'
import type { TossLoginOutcome, TossLoginSession } from '../core/login.js'
import { useLoginStore, type TossLoginStatus } from './loginStore.js'

export interface UseTossLoginReturn {
  isLoggedIn: ComputedRef<boolean>
  /** The app's user (`{ userId }`) while logged in. */
  user: ComputedRef<{ userId: string } | null>
  status: ComputedRef<TossLoginStatus>
  /** Why the last login did not work (`USER_CANCELED` when the user closed the sheet). */
  error: Ref<IapError | null>
  session: Ref<TossLoginSession | null>
  /** Logs in; never rejects. Calls made while one runs share it. */
  login: () => Promise<TossLoginOutcome>
  logout: () => Promise<void>
}

/** Toss login in a component: `const { isLoggedIn, user, login, logout } = useTossLogin()`. */
export function useTossLogin(): UseTossLoginReturn {
  const store = useLoginStore()
  const { isLoggedIn, user, status, error, session } = storeToRefs(store)
  return { isLoggedIn, user, status, error, session, login: store.login, logout: store.logout }
}
