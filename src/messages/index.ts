import type { IapErrorCode } from '../core/errors.js'
import type { PurchaseStatus } from '../vue/types.js'

// Words an app can show its users, for every error code and purchase status, in Korean and
// English. An entry of its own (`vue-toss-iap/messages`): an app that writes its own texts ships
// none of these. Each table is a `Record` over the code and status unions, so a code added to the
// package without a text here is a compile error.

export type MessageLocale = 'ko' | 'en'

export interface IapMessages {
  /** One sentence per error code, for the user (not the developer): what happened, what to do. */
  errors: Record<IapErrorCode, string>
  /** A short label per purchase status. `idle` is `''`: before a purchase there is nothing to say. */
  statuses: Record<PurchaseStatus, string>
}

export const ko: IapMessages = {
  errors: {
    USER_CANCELED: '결제를 취소했어요. 결제된 금액은 없어요.',
    ABORTED: '결제 창이 닫혔어요. 이미 결제됐다면 자동으로 지급돼요.',
    INVALID_PRODUCT_ID: '지금은 판매하지 않는 상품이에요.',
    PAYMENT_PENDING: '결제 승인을 기다리고 있어요. 승인되면 자동으로 지급돼요.',
    NETWORK_ERROR: '네트워크 연결이 불안정해요. 잠시 후 다시 시도해 주세요.',
    INVALID_USER_ENVIRONMENT: '이 기기나 계정에서는 구매할 수 없어요.',
    ITEM_ALREADY_OWNED: '이미 가지고 있는 상품이에요.',
    APP_MARKET_VERIFICATION_FAILED: '앱 마켓에서 결제를 확인하지 못했어요. 앱 마켓에 환불을 요청해 주세요.',
    TOSS_SERVER_VERIFICATION_FAILED: '결제는 됐지만 토스에서 기록하지 못했어요. 고객센터에 문의해 주세요.',
    INTERNAL_ERROR: '토스에서 문제가 생겼어요. 잠시 후 다시 시도해 주세요.',
    KOREAN_ACCOUNT_ONLY: '한국 앱스토어 계정으로만 구매할 수 있어요.',
    PRODUCT_NOT_GRANTED_BY_PARTNER: '결제는 완료됐어요. 상품은 곧 자동으로 지급돼요.',
    APP_BRIDGE_THROTTLED: '요청이 너무 많아요. 잠시 후 다시 시도해 주세요.',
    UNSUPPORTED_ENVIRONMENT: '토스 앱에서만 구매할 수 있어요.',
    UNSUPPORTED_APP_VERSION: '토스 앱을 최신 버전으로 업데이트한 뒤 다시 시도해 주세요.',
    TIMEOUT: '토스에서 응답이 없어요. 결제됐다면 자동으로 지급돼요.',
    GRANT_FAILED: '결제는 완료됐어요. 상품은 곧 자동으로 지급돼요.',
    PURCHASE_IN_PROGRESS: '진행 중인 결제가 있어요. 먼저 마무리해 주세요.',
    LOGIN_REQUIRED: '토스 로그인이 필요해요. 로그인한 뒤 다시 시도해 주세요.',
    INVALID_RESPONSE: '토스에서 예상하지 못한 응답이 왔어요. 결제됐다면 자동으로 지급돼요.',
    INVALID_ARGUMENT: '앱이 잘못된 요청을 보냈어요. 고객센터에 알려 주세요.',
    NOT_INSTALLED: '이 앱은 아직 결제를 준비하지 못했어요.',
    UNKNOWN: '문제가 생겼어요. 잠시 후 다시 시도해 주세요.',
  },
  statuses: {
    idle: '',
    purchasing: '결제 중…',
    granting: '지급 중…',
    granted: '지급 완료',
    completed: '구매 완료',
    pending: '결제 완료, 곧 지급돼요',
    canceled: '취소됨',
    failed: '구매 실패 (결제된 금액 없음)',
  },
}

export const en: IapMessages = {
  errors: {
    USER_CANCELED: 'You closed the payment sheet. Nothing was charged.',
    ABORTED: 'The payment sheet was closed. If you paid, it will be delivered automatically.',
    INVALID_PRODUCT_ID: 'This product is not on sale right now.',
    PAYMENT_PENDING: 'Your payment is waiting for approval. It will be delivered once approved.',
    NETWORK_ERROR: 'Network problem. Please try again in a moment.',
    INVALID_USER_ENVIRONMENT: 'This cannot be bought on this device or account.',
    ITEM_ALREADY_OWNED: 'You already own this.',
    APP_MARKET_VERIFICATION_FAILED: 'The app store could not verify the payment. Please ask the store for a refund.',
    TOSS_SERVER_VERIFICATION_FAILED: 'Paid, but Toss could not record it. Please contact support.',
    INTERNAL_ERROR: 'Something went wrong at Toss. Please try again in a moment.',
    KOREAN_ACCOUNT_ONLY: 'Only Korean App Store accounts can buy this.',
    PRODUCT_NOT_GRANTED_BY_PARTNER: 'Paid. It will be delivered automatically shortly.',
    APP_BRIDGE_THROTTLED: 'Too many requests. Please wait a moment and try again.',
    UNSUPPORTED_ENVIRONMENT: 'Purchases work only inside the Toss app.',
    UNSUPPORTED_APP_VERSION: 'Please update the Toss app and try again.',
    TIMEOUT: 'Toss did not answer. If you paid, it will be delivered automatically.',
    GRANT_FAILED: 'Paid. It will be delivered automatically shortly.',
    PURCHASE_IN_PROGRESS: 'Another purchase is open. Please finish it first.',
    LOGIN_REQUIRED: 'Please log in with Toss first, then try again.',
    INVALID_RESPONSE: 'Toss answered something unexpected. If you paid, it will be delivered automatically.',
    INVALID_ARGUMENT: 'The app made an invalid request. Please let support know.',
    NOT_INSTALLED: 'This app is not set up for purchases yet.',
    UNKNOWN: 'Something went wrong. Please try again in a moment.',
  },
  statuses: {
    idle: '',
    purchasing: 'Paying…',
    granting: 'Delivering…',
    granted: 'Delivered',
    completed: 'Done',
    pending: 'Paid; delivering shortly',
    canceled: 'Canceled',
    failed: 'Failed; nothing was charged',
  },
}

export const messages: Record<MessageLocale, IapMessages> = { ko, en }

/** What `messageFor` takes: an error code, a status, anything with a `code` (an `IapError`), or nothing. */
export type MessageSubject = IapErrorCode | PurchaseStatus | { readonly code: IapErrorCode } | null | undefined

/**
 * The text to show for an error code, a purchase status or an `IapError`, in `locale` (default
 * Korean). `null`/`undefined` give `''`; a code this version does not know gives the `UNKNOWN` text.
 */
export function messageFor(subject: MessageSubject, locale: MessageLocale = 'ko'): string {
  if (subject === null || subject === undefined) return ''
  const table = messages[locale] ?? ko
  const key: string = typeof subject === 'string' ? subject : subject.code
  if (Object.hasOwn(table.statuses, key)) return table.statuses[key as PurchaseStatus]
  if (Object.hasOwn(table.errors, key)) return table.errors[key as IapErrorCode]
  return table.errors.UNKNOWN
}
