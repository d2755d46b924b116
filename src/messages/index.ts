import type { IapErrorCode } from '../core/errors.js'
import type { ServerErrorCode } from '../server/http.js'
import type { PurchaseStatus } from '../vue/types.js'

// Words an app can show its users, in Korean and English: one sentence per whole purchase outcome
// (`outcomeMessage`, status and error read together), and a text per page error code, purchase
// status and server error code (`messageFor`). An entry of its own (`vue-toss-iap/messages`): an
// app that writes its own texts ships none of these. Each table is a `Record` over the code and
// status unions, so a code added to the package without a text here is a compile error (and
// test/messages.test.ts reads the server's source for codes answered outside the union).

export type MessageLocale = 'ko' | 'en'

export interface IapMessages {
  /** One sentence per error code, for the user (not the developer): what happened, what to do. */
  errors: Record<IapErrorCode, string>
  /** A short label per purchase status. `idle` is `''`: before a purchase there is nothing to say. */
  statuses: Record<PurchaseStatus, string>
  /**
   * Whole purchase outcomes, status and error read together (see `outcomeMessage`): each one
   * message that never says "failed" and "will be delivered" at once.
   */
  outcomes: OutcomeMessages
  /**
   * One sentence per `error.code` the server half (`vue-toss-iap/server`) answers, for the user.
   * A `Record` over the server's code union: a new code without a text is a compile error.
   */
  serverErrors: Record<ServerErrorCode, string>
}

/** The texts `outcomeMessage` picks from, beside the error texts it reuses for `failed`. */
export interface OutcomeMessages {
  purchasing: string
  /** Paid; the app's grant runs. */
  granting: string
  /** Granted (also `completed`): the product is the user's. */
  granted: string
  completed: string
  /** Paid; the grant waits for recovery. Whatever error came with it, the user need do nothing. */
  pending: string
  /** Toss holds the payment for approval (`PAYMENT_PENDING`): delivered once approved. */
  awaitingApproval: string
  /** The user closed the payment sheet (`USER_CANCELED`): nothing was charged. */
  canceled: string
  /** The app closed the purchase before payment (`ABORTED` with status `canceled`): nothing was charged. */
  abandoned: string
  /** `failed` without an error: nothing was charged. */
  failed: string
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
    INSUFFICIENT_BALANCE: '잔액이 부족해요. 충전한 뒤 다시 시도해 주세요.',
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
  outcomes: {
    purchasing: '결제하고 있어요.',
    granting: '결제됐어요. 상품을 지급하고 있어요.',
    granted: '상품이 지급됐어요.',
    completed: '구매가 끝났어요. 상품이 지급됐어요.',
    pending: '결제는 완료됐어요. 상품은 곧 자동으로 지급돼요.',
    awaitingApproval: '결제 승인을 기다리고 있어요. 승인되면 자동으로 지급돼요.',
    canceled: '결제를 취소했어요. 결제된 금액은 없어요.',
    abandoned: '결제를 중단했어요. 결제된 금액은 없어요.',
    failed: '구매하지 못했어요. 결제된 금액은 없어요.',
  },
  serverErrors: {
    ORIGIN_NOT_ALLOWED: '이 화면에서는 서버에 연결할 수 없어요. 고객센터에 알려 주세요.',
    METHOD_NOT_ALLOWED: '앱이 잘못된 요청을 보냈어요. 고객센터에 알려 주세요.',
    UNSUPPORTED_MEDIA_TYPE: '앱이 잘못된 요청을 보냈어요. 고객센터에 알려 주세요.',
    BODY_TOO_LARGE: '앱이 잘못된 요청을 보냈어요. 고객센터에 알려 주세요.',
    INVALID_JSON: '앱이 잘못된 요청을 보냈어요. 고객센터에 알려 주세요.',
    INVALID_ORDER: '주문 정보가 올바르지 않아요. 고객센터에 알려 주세요.',
    INVALID_EVENT: '토스에서 온 알림을 읽지 못했어요.',
    UNAUTHENTICATED: '로그인이 필요해요. 다시 로그인해 주세요.',
    AUTHENTICATION_UNAVAILABLE: '로그인을 확인하지 못했어요. 잠시 후 다시 시도해 주세요.',
    INVALID_LOGIN: '로그인 요청이 올바르지 않아요. 다시 로그인해 주세요.',
    LOGIN_REJECTED: '로그인이 만료됐어요. 다시 로그인해 주세요.',
    LOGIN_REFERRER_NOT_ALLOWED: '이 앱에서는 로그인할 수 없어요. 토스 앱에서 열어 주세요.',
    ORDER_OWNED_BY_ANOTHER_USER: '다른 계정에서 이미 받은 주문이에요.',
    ORDER_IN_PROGRESS: '토스가 아직 결제를 처리하고 있어요. 끝나면 자동으로 지급돼요.',
    PAYMENT_FAILED: '결제가 완료되지 않았어요. 결제된 금액은 없어요.',
    ORDER_REFUNDED: '환불된 주문이라 지급하지 않았어요.',
    ORDER_NOT_FOUND: '토스에서 이 주문을 아직 찾지 못했어요. 결제됐다면 자동으로 지급돼요.',
    MINIAPP_MISMATCH: '이 앱의 주문이 아니에요.',
    TOSS_ERROR: '토스에서 주문을 확인하지 못했어요. 결제됐다면 자동으로 지급돼요.',
    TOSS_RATE_LIMITED: '요청이 많아 잠시 기다리고 있어요. 결제됐다면 자동으로 지급돼요.',
    TOSS_UNAVAILABLE: '토스에 잠시 연결할 수 없어요. 결제됐다면 자동으로 지급돼요.',
    TOSS_TIMEOUT: '토스에서 응답이 없어요. 결제됐다면 자동으로 지급돼요.',
    TOSS_UNREACHABLE: '토스에 연결하지 못했어요. 결제됐다면 자동으로 지급돼요.',
    TOSS_TLS_REFUSED: '서버 설정에 문제가 있어요. 결제됐다면 고친 뒤 자동으로 지급돼요.',
    TOSS_REJECTED: '서버 설정에 문제가 있어요. 결제됐다면 고친 뒤 자동으로 지급돼요.',
    TOSS_BAD_RESPONSE: '토스에서 예상하지 못한 응답이 왔어요. 결제됐다면 자동으로 지급돼요.',
    GRANT_FAILED: '결제는 완료됐어요. 상품은 곧 자동으로 지급돼요.',
    LEDGER_UNAVAILABLE: '서버에 잠시 문제가 있어요. 결제됐다면 자동으로 지급돼요.',
    INVALID_SPEND: '사용 요청이 올바르지 않아요. 고객센터에 알려 주세요.',
    INSUFFICIENT_BALANCE: '잔액이 부족해요. 충전한 뒤 다시 시도해 주세요.',
    IDEMPOTENCY_KEY_REUSED: '앱이 같은 요청을 다르게 보냈어요. 아무것도 차감되지 않았어요.',
    INTERNAL: '서버에 문제가 생겼어요. 결제됐다면 자동으로 지급돼요.',
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
    INSUFFICIENT_BALANCE: 'Not enough balance. Top up, then try again.',
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
  outcomes: {
    purchasing: 'Paying…',
    granting: 'Paid. Delivering it now…',
    granted: 'Delivered. It is yours.',
    completed: 'All done. It is yours.',
    pending: 'Paid. It will be delivered automatically shortly.',
    awaitingApproval: 'Your payment is waiting for approval. It will be delivered once approved.',
    canceled: 'You closed the payment sheet. Nothing was charged.',
    abandoned: 'The purchase was stopped. Nothing was charged.',
    failed: 'The purchase did not go through. Nothing was charged.',
  },
  serverErrors: {
    ORIGIN_NOT_ALLOWED: 'This page may not reach the server. Please let support know.',
    METHOD_NOT_ALLOWED: 'The app made an invalid request. Please let support know.',
    UNSUPPORTED_MEDIA_TYPE: 'The app made an invalid request. Please let support know.',
    BODY_TOO_LARGE: 'The app made an invalid request. Please let support know.',
    INVALID_JSON: 'The app made an invalid request. Please let support know.',
    INVALID_ORDER: 'The order details are not valid. Please let support know.',
    INVALID_EVENT: 'A notice from Toss could not be read.',
    UNAUTHENTICATED: 'Please sign in again.',
    AUTHENTICATION_UNAVAILABLE: 'Your sign-in could not be checked. Please try again in a moment.',
    INVALID_LOGIN: 'The login request was not valid. Please log in again.',
    LOGIN_REJECTED: 'Your login expired. Please log in again.',
    LOGIN_REFERRER_NOT_ALLOWED: 'You cannot log in from here. Please open the app in Toss.',
    ORDER_OWNED_BY_ANOTHER_USER: 'This order was already given to another account.',
    ORDER_IN_PROGRESS: 'Toss is still processing the payment. It will be delivered automatically once done.',
    PAYMENT_FAILED: 'The payment did not go through. Nothing was charged.',
    ORDER_REFUNDED: 'This order was refunded, so it was not delivered.',
    ORDER_NOT_FOUND: 'Toss does not show this order yet. If you paid, it will be delivered automatically.',
    MINIAPP_MISMATCH: 'This order belongs to another app.',
    TOSS_ERROR: 'Toss could not confirm the order. If you paid, it will be delivered automatically.',
    TOSS_RATE_LIMITED: 'Many requests right now. If you paid, it will be delivered automatically.',
    TOSS_UNAVAILABLE: 'Toss is briefly unavailable. If you paid, it will be delivered automatically.',
    TOSS_TIMEOUT: 'Toss did not answer. If you paid, it will be delivered automatically.',
    TOSS_UNREACHABLE: 'The server could not reach Toss. If you paid, it will be delivered automatically.',
    TOSS_TLS_REFUSED: 'The server is misconfigured. If you paid, it will be delivered once it is fixed.',
    TOSS_REJECTED: 'The server is misconfigured. If you paid, it will be delivered once it is fixed.',
    TOSS_BAD_RESPONSE: 'Toss answered something unexpected. If you paid, it will be delivered automatically.',
    GRANT_FAILED: 'Paid. It will be delivered automatically shortly.',
    LEDGER_UNAVAILABLE: 'The server has a brief problem. If you paid, it will be delivered automatically.',
    INVALID_SPEND: 'The app made an invalid spend request. Please let support know.',
    INSUFFICIENT_BALANCE: 'Not enough balance. Top up, then try again.',
    IDEMPOTENCY_KEY_REUSED: 'The app sent the same request twice with different details. Nothing was spent.',
    INTERNAL: 'Something went wrong on the server. If you paid, it will be delivered automatically.',
  },
}

export const messages: Record<MessageLocale, IapMessages> = { ko, en }

/**
 * What `messageFor` takes: an error code (the page's or the server's), a status, anything with a
 * `code` (an `IapError`), a server's error body (`{ error: { code } }`), or nothing.
 */
export type MessageSubject =
  | IapErrorCode
  | ServerErrorCode
  | PurchaseStatus
  | { readonly code: IapErrorCode | ServerErrorCode }
  | { readonly error: { readonly code: ServerErrorCode } }
  | null
  | undefined

/**
 * The text to show for an error code, a purchase status or an `IapError`, in `locale` (default
 * Korean). `null`/`undefined` give `''`; a code this version does not know gives the `UNKNOWN` text.
 */
export function messageFor(subject: MessageSubject, locale: MessageLocale = 'ko'): string {
  if (subject === null || subject === undefined) return ''
  const table = messages[locale] ?? ko
  const key = typeof subject === 'string' ? subject : codeOf(subject)
  if (key === undefined) return table.errors.UNKNOWN
  if (Object.hasOwn(table.statuses, key)) return table.statuses[key as PurchaseStatus]
  // A code both halves know (GRANT_FAILED) reads the page's text; the two say the same.
  if (Object.hasOwn(table.errors, key)) return table.errors[key as IapErrorCode]
  if (Object.hasOwn(table.serverErrors, key)) return table.serverErrors[key as ServerErrorCode]
  return table.errors.UNKNOWN
}

/** The code of an error, or of a server's error body; `undefined` for anything else. */
function codeOf(subject: object): string | undefined {
  const own = (subject as { code?: unknown }).code
  if (typeof own === 'string') return own
  const body = (subject as { error?: unknown }).error
  const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : undefined
}

/** A purchase outcome as `usePurchase`, `purchase()`, an order record or `lastPurchase` give it. */
export interface OutcomeLike {
  readonly status: PurchaseStatus
  readonly error?: { readonly code: IapErrorCode } | null
}

/**
 * One message for a whole purchase outcome, status and error read together, in `locale` (default
 * Korean): the sentence to show under a buy button. It never contradicts itself: a paid order
 * (`granting`, `granted`, `completed`, `pending`) never reads "failed" or "try again", whatever error
 * came with it; `PAYMENT_PENDING` reads "waiting for approval", never "failed"; a `failed` purchase
 * reads its error's own text. `idle` and `null` give `''`.
 *
 * ```ts
 * outcomeMessage({ status: 'failed', error: new IapError('PAYMENT_PENDING', '…') }) // '결제 승인을 기다리고 있어요. 승인되면 자동으로 지급돼요.'
 * ```
 */
export function outcomeMessage(outcome: OutcomeLike | null | undefined, locale: MessageLocale = 'ko'): string {
  if (outcome === null || outcome === undefined) return ''
  const table = messages[locale] ?? ko
  const code = outcome.error?.code
  switch (outcome.status) {
    case 'idle':
      return ''
    case 'purchasing':
      return table.outcomes.purchasing
    case 'granting':
      return table.outcomes.granting
    case 'granted':
      return table.outcomes.granted
    case 'completed':
      return table.outcomes.completed
    case 'pending':
      return code === 'PAYMENT_PENDING' ? table.outcomes.awaitingApproval : table.outcomes.pending
    case 'canceled':
      return code === 'ABORTED' ? table.outcomes.abandoned : table.outcomes.canceled
    case 'failed':
      if (code === 'PAYMENT_PENDING') return table.outcomes.awaitingApproval
      return code !== undefined && Object.hasOwn(table.errors, code) ? table.errors[code] : table.outcomes.failed
    default:
      // A status from a newer version: say nothing rather than something wrong.
      return ''
  }
}
