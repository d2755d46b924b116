import type { ServerEntitlement } from './entitlements.js'
import { IapError } from './errors.js'
import { sendSigned, warnIfRelative, type EndpointOptions } from './grantViaEndpoint.js'

/** As for `grantViaEndpoint`: headers (or a function for a fresh token each time), credentials, fetch. */
export type EntitlementsViaEndpointOptions = EndpointOptions

const isEntitlement = (e: unknown): e is ServerEntitlement =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as ServerEntitlement).sku === 'string' &&
  typeof (e as ServerEntitlement).isActive === 'boolean'

/**
 * A ready `entitlements.source`: GETs `url` (the server's entitlements handler, by its absolute
 * URL) and answers its `{ entitlements: [{ sku, isActive, orderId?, subscription? }] }`. Throws an
 * `IapError` on a non-2xx answer, a redirect or a body of another shape, so the store keeps what it had.
 */
export function entitlementsViaEndpoint(
  url: string | URL,
  options: EntitlementsViaEndpointOptions = {},
): () => Promise<ServerEntitlement[]> {
  return async () => {
    warnIfRelative(url, 'entitlementsViaEndpoint')
    let response: Response
    try {
      response = await sendSigned(url, options, { method: 'GET', headers: { Accept: 'application/json' } })
    } catch (error) {
      throw new IapError('NETWORK_ERROR', 'the entitlements endpoint could not be reached', { cause: error })
    }
    if (!response.ok || response.redirected || response.type === 'opaqueredirect')
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
