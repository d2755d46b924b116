import type { ServerEntitlement } from './entitlements.js'
import { IapError } from './errors.js'

export interface EntitlementsViaEndpointOptions {
  /** Sent with each request, e.g. `{ Authorization: 'Bearer …' }`; a function is called each time (for a fresh token). */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>)
  /** Default `'include'`: the endpoint is usually on the app's own origin, not the mini-app's. */
  credentials?: RequestCredentials
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch
}

const isEntitlement = (e: unknown): e is ServerEntitlement =>
  typeof e === 'object' && e !== null && typeof (e as ServerEntitlement).sku === 'string' && typeof (e as ServerEntitlement).isActive === 'boolean'

/**
 * A ready `entitlements.source`: GETs `url` (the server's entitlements handler) and answers its
 * `{ entitlements: [{ sku, isActive, orderId?, subscription? }] }`. Throws an `IapError` on a
 * non-2xx answer, a redirect or a body of another shape, so the store keeps what it had.
 */
export function entitlementsViaEndpoint(url: string | URL, options: EntitlementsViaEndpointOptions = {}): () => Promise<ServerEntitlement[]> {
  return async () => {
    const headers = new Headers(typeof options.headers === 'function' ? await options.headers() : options.headers)
    if (!headers.has('Accept')) headers.set('Accept', 'application/json')
    let response: Response
    try {
      response = await (options.fetch ?? fetch)(url, { method: 'GET', headers, credentials: options.credentials ?? 'include', redirect: 'manual' })
    } catch (error) {
      throw new IapError('NETWORK_ERROR', 'the entitlements endpoint could not be reached', { cause: error })
    }
    if (!response.ok || response.type === 'opaqueredirect')
      throw new IapError('INVALID_RESPONSE', `the entitlements endpoint answered ${response.status || 'a redirect'}`)
    let body: unknown
    try {
      body = await response.json()
    } catch (error) {
      throw new IapError('INVALID_RESPONSE', 'the entitlements endpoint answered something that is not JSON', { cause: error })
    }
    const list = Array.isArray(body) ? body : (body as { entitlements?: unknown } | null)?.entitlements
    if (!Array.isArray(list) || !list.every(isEntitlement))
      throw new IapError('INVALID_RESPONSE', 'the entitlements endpoint answered another shape than { entitlements: [{ sku, isActive }] }')
    return list
  }
}
