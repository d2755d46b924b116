import { getOperationalEnvironment, getPlatformOS, getTossAppVersion, isMinVersionSupported } from '@apps-in-toss/web-framework'
import { IapError } from './errors.js'

/** Where the page runs: the Toss app, its sandbox app, a plain browser, or the server (SSR). */
export type IapEnvironmentKind = 'toss' | 'sandbox' | 'browser' | 'server'

export interface IapEnvironment {
  kind: IapEnvironmentKind
  /** The Toss app version, e.g. `'5.240.0'`; `null` outside the app. */
  appVersion: string | null
  os: 'ios' | 'android' | null
}

/** Each IAP capability and the Toss app versions that have it. */
export const MIN_VERSIONS = {
  products: { android: '5.219.0', ios: '5.219.0' },
  /**
   * Buying, which this package allows only where a failed grant can be recovered: the
   * `processProductGrant` flow (Android 5.231.1, iOS 5.230.0; older apps ignore what the grant
   * answers) together with `getPendingOrders` and `completeProductGrant`. Between those versions a
   * purchase could start, but an order whose grant failed could never be finished in the app.
   */
  purchase: { android: '5.234.0', ios: '5.233.0' },
  completeProductGrant: { android: '5.233.0', ios: '5.233.0' },
  pendingOrders: { android: '5.234.0', ios: '5.231.0' },
  orderHistory: { android: '5.231.0', ios: '5.231.0' },
  subscriptions: { android: '5.248.0', ios: '5.249.0' },
} as const satisfies Record<string, { android: string; ios: string }>

export type IapCapability = keyof typeof MIN_VERSIONS
export type IapCapabilities = Record<IapCapability, boolean>

export const isClient = typeof window !== 'undefined'

function constant<T>(read: () => T): T | null {
  try {
    return read() ?? null
  } catch {
    return null
  }
}

/** Tells the four environments apart. It never throws. */
export function detectEnvironment(): IapEnvironment {
  if (typeof window === 'undefined') return { kind: 'server', appVersion: null, os: null }
  const operational = window.ReactNativeWebView ? constant(getOperationalEnvironment) : null
  if (operational !== 'toss' && operational !== 'sandbox') return { kind: 'browser', appVersion: null, os: null }
  const os = constant(getPlatformOS)
  return {
    kind: operational,
    appVersion: constant(getTossAppVersion),
    os: os === 'ios' || os === 'android' ? os : null,
  }
}

function supports(env: IapEnvironment, name: IapCapability): boolean {
  return env.kind === 'sandbox' || (env.kind === 'toss' && constant(() => isMinVersionSupported(MIN_VERSIONS[name])) === true)
}

/** Which IAP calls this app version supports. Outside the app, none. */
export function detectCapabilities(env: IapEnvironment = detectEnvironment()): IapCapabilities {
  const result = {} as IapCapabilities
  for (const name of Object.keys(MIN_VERSIONS) as IapCapability[]) result[name] = supports(env, name)
  return result
}

/** Throws the `IapError` that explains why `capability` cannot be used here, if it cannot. */
export function assertCapability(capability: IapCapability, env: IapEnvironment = detectEnvironment()): void {
  if (env.kind === 'server' || env.kind === 'browser') {
    const where = env.kind === 'server' ? 'on the server (SSR)' : 'in a plain browser'
    throw new IapError('UNSUPPORTED_ENVIRONMENT', `${capability} needs the Toss app; this code runs ${where}`)
  }
  if (!supports(env, capability)) {
    const min = MIN_VERSIONS[capability]
    throw new IapError(
      'UNSUPPORTED_APP_VERSION',
      `${capability} needs Toss ${min.android} on Android or ${min.ios} on iOS; this app is ${env.os ?? 'unknown OS'} ${env.appVersion ?? 'unknown version'}`,
    )
  }
}

declare global {
  interface Window {
    ReactNativeWebView?: { postMessage(message: string): void }
    __GRANITE_NATIVE_EMITTER?: GraniteEmitter
    __CONSTANT_HANDLER_MAP?: Record<string, unknown>
  }
}

export interface GraniteEmitter {
  on(event: string, callback: (payload: unknown) => void): () => void
  emit(event: string, payload?: unknown): void
  events?: Record<string, Array<(payload: unknown) => void> | undefined>
}
