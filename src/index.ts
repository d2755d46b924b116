// Framework-free core
export { IapError, isIapError, isCancellation, toIapError, TOSS_ERROR_CODES, PACKAGE_ERROR_CODES } from './core/errors'
export type { IapErrorCode, TossErrorCode } from './core/errors'
export { detectEnvironment, detectCapabilities, MIN_VERSIONS } from './core/environment'
export type { IapCapabilities, IapCapability, IapEnvironment, IapEnvironmentKind } from './core/environment'
export { createIapClient, DEFAULT_TIMEOUTS } from './core/client'
export type { IapClient, IapClientOptions, IapTimeouts } from './core/client'
export type { PurchaseRequest, PurchaseResult } from './core/purchase'
export type { GrantOutcome } from './core/grants'
export { recoverPendingOrders, DEFAULT_RECOVERY_CONCURRENCY } from './core/recovery'
export type { RecoveryOptions, RecoveryReport, RecoveryStep } from './core/recovery'
export type {
  GrantFn,
  GrantOrder,
  HistoryOrder,
  IapOffer,
  IapProduct,
  OrderHistoryPage,
  OrderKind,
  PendingOrder,
  ProductType,
  PurchaseReceipt,
  SubscriptionInfo,
  SubscriptionStatus,
} from './core/types'
