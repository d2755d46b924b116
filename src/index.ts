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
export { grantViaEndpoint } from './core/grantViaEndpoint'
export type { GrantViaEndpointOptions } from './core/grantViaEndpoint'

// Vue
export { createTossIap, DEFAULT_RECOVERY } from './vue/plugin'
export type { TossIapOptions } from './vue/plugin'
export type { RecoverySettings } from './vue/context'
export { useIapStore } from './vue/store'
export type { IapOrder, IapOrderEvent, IapStore, OrderStatus, PurchaseOptions, PurchaseOutcome, PurchaseStatus, RecoveryState } from './vue/store'
export { usePurchase } from './vue/usePurchase'
export type { UsePurchaseOptions, UsePurchaseReturn } from './vue/usePurchase'
export { useSubscriptionPurchase } from './vue/useSubscriptionPurchase'
export { useProducts } from './vue/useProducts'
export type { UseProductsReturn } from './vue/useProducts'
