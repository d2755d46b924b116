import {
  createEntitlementsHandler,
  createFulfilmentHandler,
  createHealthHandler,
  createSubscriptionWebhookHandler,
  type Authenticate,
  type GrantLedger,
  type ProductType,
  type ServerEventListener,
  type TossPartnerClient,
} from 'vue-toss-iap/server'

export interface IapOptions {
  toss: TossPartnerClient
  ledger: GrantLedger
  /** Your session check: `{ userId, userKey }` or `null`. */
  authenticate: Authenticate
  /** The mini-app's origins (CORS). */
  origins: string[]
  products: Record<string, ProductType>
  /** The `Authorization` value set for the subscription webhook in the console. */
  webhookCredential: string
  onEvent?: ServerEventListener
}

/** The four handlers each framework below mounts: plain `(request: Request) => Promise<Response>`. */
export function createIapHandlers({ toss, ledger, authenticate, origins, products, webhookCredential, onEvent }: IapOptions) {
  const cors = { origins }
  return {
    fulfil: createFulfilmentHandler({ toss, ledger, authenticate, cors, onEvent }),
    entitlements: createEntitlementsHandler({ ledger, authenticate, products, cors, onEvent }),
    subscriptions: createSubscriptionWebhookHandler({ ledger, credential: webhookCredential, onEvent }),
    health: createHealthHandler({ ledger, toss, onEvent }),
  }
}

export type IapHandlers = ReturnType<typeof createIapHandlers>
