import type { IapError, PurchaseStatus } from 'vue-toss-iap'

/** What the user sees for each error code (the README's troubleshooting table, in the UI). */
const MESSAGES: Record<string, string> = {
  USER_CANCELED: 'You closed the payment sheet. Nothing was charged.',
  ABORTED: 'The purchase was closed by the app.',
  INVALID_PRODUCT_ID: 'This product is not on sale right now.',
  PAYMENT_PENDING: 'Your payment is still being approved. It will appear once approved.',
  NETWORK_ERROR: 'Network problem. Please try again.',
  INVALID_USER_ENVIRONMENT: 'This product cannot be bought on this device or account.',
  ITEM_ALREADY_OWNED: 'You already own this.',
  APP_MARKET_VERIFICATION_FAILED: 'The app store could not verify the payment. Ask the store for a refund.',
  TOSS_SERVER_VERIFICATION_FAILED: 'Paid, but Toss could not record it. Contact support.',
  INTERNAL_ERROR: 'Something went wrong at Toss. Please try again.',
  KOREAN_ACCOUNT_ONLY: 'Only Korean App Store accounts can buy this.',
  PRODUCT_NOT_GRANTED_BY_PARTNER: 'Paid; delivery failed. It will be delivered automatically.',
  APP_BRIDGE_THROTTLED: 'Too many requests. Wait a moment and try again.',
  UNSUPPORTED_ENVIRONMENT: 'Purchases work only inside the Toss app.',
  UNSUPPORTED_APP_VERSION: 'Please update the Toss app to buy this.',
  TIMEOUT: 'Toss did not answer in time. If you paid, it will be delivered automatically.',
  GRANT_FAILED: 'Paid; delivery failed. It will be delivered automatically.',
  PURCHASE_IN_PROGRESS: 'Another purchase is open. Finish it first.',
  INVALID_RESPONSE: 'Toss answered something unexpected. If you paid, it will be delivered automatically.',
  INVALID_ARGUMENT: 'The app asked for something invalid.',
  NOT_INSTALLED: 'The app is not set up for purchases.',
  UNKNOWN: 'Something went wrong. Please try again.',
}

export const describeError = (error: IapError | null) => (error ? (MESSAGES[error.code] ?? MESSAGES.UNKNOWN!) : '')

export const STATUS_LABEL: Record<PurchaseStatus, string> = {
  idle: '',
  purchasing: 'Paying…',
  granting: 'Delivering…',
  granted: 'Delivered',
  completed: 'Done',
  pending: 'Waiting for delivery',
  canceled: 'Canceled',
  failed: 'Failed',
}
