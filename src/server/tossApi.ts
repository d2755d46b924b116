// What Toss's partner API speaks of, apart from any client: the statuses order-status answers and
// the calls the client makes. A leaf module, so that events and the client can both name them.

/** Every status order-status is known to answer. */
export const TOSS_ORDER_STATUSES = [
  'PURCHASED',
  'PAYMENT_COMPLETED',
  'FAILED',
  'REFUNDED',
  'ORDER_IN_PROGRESS',
  'NOT_FOUND',
  'MINIAPP_MISMATCH',
  'ERROR',
] as const

export type TossOrderStatus = (typeof TOSS_ORDER_STATUSES)[number]

/** Which partner call: in errors and in the `toss.*` events. */
export type TossOperation =
  'order-status' | 'generate-token' | 'refresh-token' | 'login-me' | 'remove-by-access-token' | 'remove-by-user-key'
