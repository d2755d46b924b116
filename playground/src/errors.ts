import type { IapError, PurchaseStatus } from 'vue-toss-iap'
import { messageFor } from 'vue-toss-iap/messages'

// The words the user sees come from `vue-toss-iap/messages`, in Korean as the Toss app speaks.
export const describeError = (error: IapError | null) => messageFor(error, 'ko')
export const statusLabel = (status: PurchaseStatus) => messageFor(status, 'ko')
