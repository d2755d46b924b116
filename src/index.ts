// Framework-free core
export { IapError, isIapError, isCancellation, toIapError, TOSS_ERROR_CODES, PACKAGE_ERROR_CODES } from './core/errors.js'
export type { IapErrorCode, TossErrorCode } from './core/errors.js'
export { detectEnvironment, detectCapabilities, MIN_VERSIONS } from './core/environment.js'
export type { IapCapabilities, IapCapability, IapEnvironment, IapEnvironmentKind } from './core/environment.js'
export { createIapClient, DEFAULT_TIMEOUTS } from './core/client.js'
export type { BridgeCallEvent, IapClient, IapClientOptions, IapTimeouts } from './core/client.js'
export { getProducts } from './core/products.js'
export { getOrderHistory } from './core/history.js'
export { getSubscriptionInfo } from './core/subscriptions.js'
export type { ListenerErrorReporter } from './core/listeners.js'
export type { PurchaseRequest, PurchaseResult } from './core/purchase.js'
export type { GrantOutcome } from './core/grants.js'
export { recoverPendingOrders, DEFAULT_RECOVERY_CONCURRENCY } from './core/recovery.js'
export type { RecoveryOptions, RecoveryReport, RecoveryStep } from './core/recovery.js'
export type {
  GrantFn,
  GrantOrder,
  GrantOrderKind,
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
} from './core/types.js'
export { grantViaEndpoint } from './core/grantViaEndpoint.js'
export type { EndpointHeaders, EndpointOptions, GrantViaEndpointOptions } from './core/grantViaEndpoint.js'
export { entitlementsViaEndpoint } from './core/entitlementsViaEndpoint.js'
export type { EntitlementsViaEndpointOptions } from './core/entitlementsViaEndpoint.js'

// Vue
export { createTossIap, DEFAULT_RECOVERY } from './vue/plugin.js'
export type { TossIapOptions } from './vue/plugin.js'
export type { EntitlementSettings, RecoverySettings } from './vue/context.js'
export { useIapStore } from './vue/store.js'
export type { IapStore, RecoveryState } from './vue/store.js'
export type { IapOrder, IapOrderEvent, LoadStatus, OrderStatus, PurchaseOptions, PurchaseOutcome, PurchaseStatus } from './vue/types.js'
export { useProductStore } from './vue/productStore.js'
export type { ProductStore } from './vue/productStore.js'
export { useOrderHistoryStore } from './vue/historyStore.js'
export type { HistoryState, OrderHistoryStore } from './vue/historyStore.js'
export { useEntitlementStore } from './vue/entitlementStore.js'
export type { EntitlementStore, RevokedEvent, SubscriptionRecord } from './vue/entitlementStore.js'
export { usePurchase } from './vue/usePurchase.js'
export type { UsePurchaseOptions, UsePurchaseReturn } from './vue/usePurchase.js'
export { useSubscriptionPurchase } from './vue/useSubscriptionPurchase.js'
export { useProducts } from './vue/useProducts.js'
export type { UseProductsReturn } from './vue/useProducts.js'
export { useEntitlement } from './vue/useEntitlement.js'
export type { UseEntitlementReturn } from './vue/useEntitlement.js'
export { useSubscription } from './vue/useSubscription.js'
export type { UseSubscriptionReturn } from './vue/useSubscription.js'
export { useOrderHistory } from './vue/useOrderHistory.js'
export type { UseOrderHistoryReturn } from './vue/useOrderHistory.js'
export { createCache, DEFAULT_CACHE_TTL } from './core/cache.js'
export type { CacheOptions, StorageLike } from './core/cache.js'
export type { Entitlement, EntitlementSource, RevokeReason, ServerEntitlement } from './core/entitlements.js'
// Toss login: the session every grant and entitlements request is verified with.
export { createTossLogin } from './core/login.js'
export type { TossLogin, TossLoginOptions, TossLoginOutcome, TossLoginSession } from './core/login.js'
export { useLoginStore } from './vue/loginStore.js'
export type { LoginStore, TossLoginStatus } from './vue/loginStore.js'
export { useTossLogin } from './vue/useTossLogin.js'
export type { UseTossLoginReturn } from './vue/useTossLogin.js'
// Consumables as a balance: only an app that calls useBalance() ships this.
export { balanceViaEndpoint } from './core/balance.js'
export type { BalanceSource, BalanceViaEndpointOptions, SpendCall, SpendOutcome } from './core/balance.js'
export { useBalanceStore } from './vue/balanceStore.js'
export type { BalanceStore } from './vue/balanceStore.js'
export { useBalance } from './vue/useBalance.js'
export type { UseBalanceReturn } from './vue/useBalance.js'
