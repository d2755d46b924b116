export { createTossPartnerClient, parseTossTime, TOSS_LOGIN_PATHS, TOSS_ORDER_STATUSES } from './partnerClient.js'
export type {
  GetOrderStatusOptions,
  TossCallOptions,
  TossLoginField,
  TossLoginTokens,
  TossLoginUser,
  TossCertificateInfo,
  TossOperation,
  TossClientLogEvent,
  TossCredential,
  TossOrderStatus,
  TossOrderStatusResult,
  TossPartnerClient,
  TossPartnerClientOptions,
  TossRetryOptions,
} from './partnerClient.js'
export { TossApiError } from './errors.js'
export type { TossApiErrorCode, TossApiErrorOptions } from './errors.js'
export { createGrantLedger, GrantTimeoutError } from './ledger.js'
export type {
  GrantLedger,
  GrantLedgerOptions,
  GrantOptions,
  GrantRecord,
  OwnedOrder,
  GrantResult,
  GrantState,
  GrantTransaction,
  NewGrant,
  PGliteLike,
  PgPoolLike,
  SqlQueryable,
  SubscriptionChange,
  SubscriptionEventInput,
  SubscriptionEventStore,
  SubscriptionListener,
  SubscriptionSnapshot,
} from './ledger.js'
export { reconcile, tokenBucket } from './reconcile.js'
export type { ReconcileClock, ReconcileLogEvent, ReconcileOptions, ReconcileSummary } from './reconcile.js'
export { createSubscriptionWebhookHandler, parseSubscriptionEvent, subscriptionEventKey } from './webhooks.js'
export type { SubscriptionWebhookBody, SubscriptionWebhookHandler, SubscriptionWebhookHandlerOptions } from './webhooks.js'
export { createFulfilmentHandler, parseGrantOrder } from './fulfilment.js'
export type { Authenticate, AuthenticatedUser, FulfilmentHandler, FulfilmentHandlerOptions, FulfilmentSuccessBody } from './fulfilment.js'
export type { CorsOptions, ServerErrorBody, ServerErrorCode } from './http.js'
export { createEntitlementsHandler, entitlementsFrom } from './entitlements.js'
export type { EntitlementsBody, EntitlementsHandlerOptions } from './entitlements.js'
export { toNodeListener } from './node.js'
export { bearerToken, createSessionStore } from './sessions.js'
export type { Session, SessionAnswer, SessionOptions, SessionStore } from './sessions.js'
export { createLoginHandler, createLogoutHandler, createUnlinkHandler, decryptTossUserField } from './login.js'
export type { LoginHandler, LoginHandlerOptions, LogoutHandlerOptions, TossLoginInfo, TossUnlink, UnlinkHandlerOptions } from './login.js'
// The types the page half sends and reads, so both halves share one definition.
export type { ServerEntitlement } from '../core/entitlements.js'
export type { GrantOrder, GrantOrderKind, OrderKind, ProductType, SubscriptionInfo } from '../core/types.js'
export { createHealthHandler } from './health.js'
export type { HealthBody, HealthHandlerOptions } from './health.js'
export { combineEventListeners } from './events.js'
export type { ServerEvent, ServerEventListener, ServerEventType } from './events.js'
export { createBalances, spendProblem } from './balance.js'
export type { BalanceEntry, Balances, BalancesOptions, CreditTable, RefundPolicy, SpendRequest, SpendResult } from './balance.js'
export { createBalanceHandler, createSpendHandler } from './balanceHandlers.js'
export type { BalanceBody, BalanceHandlerOptions, SpendBody, SpendHandlerOptions, SpendSuccessBody } from './balanceHandlers.js'
