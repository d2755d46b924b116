import type { GrantFn } from './types.js'

export interface GrantViaEndpointOptions extends Omit<RequestInit, 'body' | 'method'> {
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch
}

/**
 * A ready `grant`: POSTs the order (`{ orderId, sku, kind, subscriptionId?, source }`) as JSON to
 * `url` with same-origin credentials, and answers whether the response was ok (2xx). The endpoint
 * must be idempotent on `orderId`: recovery may send the same order again.
 */
export function grantViaEndpoint(url: string | URL, options: GrantViaEndpointOptions = {}): GrantFn {
  const { fetch: customFetch, headers, ...init } = options
  return async (order) => {
    const allHeaders = new Headers(headers)
    if (!allHeaders.has('Content-Type')) allHeaders.set('Content-Type', 'application/json')
    const response = await (customFetch ?? fetch)(url, {
      credentials: 'same-origin',
      ...init,
      method: 'POST',
      headers: allHeaders,
      body: JSON.stringify(order),
    })
    return response.ok
  }
}
