import { REFUSE_PAYMENT, refuseUnusableGrant, type RefusePayment } from './endpointUrl.js'
import { detectEnvironment } from './environment.js'
import { sessionSource } from './session.js'
import type { GrantFn } from './types.js'

/** Headers for each request: fixed, or computed per call (a fresh login token each time). */
export type EndpointHeaders = HeadersInit | (() => HeadersInit | Promise<HeadersInit>)

export interface EndpointOptions extends Omit<RequestInit, 'body' | 'method' | 'headers' | 'redirect'> {
  /** Sent with every request; a function is called before each one (e.g. `() => ({ Authorization: `Bearer ${token()}` })`). */
  headers?: EndpointHeaders
  /**
   * Default `'include'`: in production the page is served from a Toss-hosted origin, so the app's
   * server is cross-origin and must answer CORS with `Access-Control-Allow-Credentials: true` and
   * the page's exact origin. Prefer a token in `headers`: cookies of the app's domain may be
   * blocked as third-party cookies in the WebView.
   */
  credentials?: RequestCredentials
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch
}

export type GrantViaEndpointOptions = EndpointOptions

const ABSOLUTE = /^[a-z][a-z\d+.-]*:/i
const warned = new Set<string>()

/**
 * In development, says once per URL that a relative URL inside Toss or the sandbox app reaches
 * Toss's host, not the app's server (the page is served from a Toss-hosted origin).
 */
export function warnIfRelative(url: string | URL, helper: string): void {
  if (process.env.NODE_ENV === 'production' || typeof url !== 'string' || ABSOLUTE.test(url) || url.startsWith('//')) return
  if (warned.has(url)) return
  const kind = detectEnvironment().kind
  if (kind !== 'toss' && kind !== 'sandbox') return
  warned.add(url)
  console.warn(
    `[vue-toss-iap] ${helper}('${url}') uses a relative URL inside the Toss app. The mini-app is served from a Toss-hosted origin, so this request goes to Toss's host, not your server. Use your server's absolute URL, e.g. ${helper}('https://api.example.com${url.startsWith('/') ? '' : '/'}${url}'), and answer CORS there.`,
  )
}

/** Builds one request's init: the caller's options, the headers (computed now), and never a followed redirect. */
export async function endpointInit(options: EndpointOptions, init: RequestInit): Promise<RequestInit> {
  const { fetch: _fetch, headers, credentials = 'include', ...rest } = options
  const resolved = new Headers(typeof headers === 'function' ? await headers() : headers)
  for (const [name, value] of new Headers(init.headers)) if (!resolved.has(name)) resolved.set(name, value)
  // The page's login (createTossLogin) signs each request, unless the caller did.
  const token = resolved.has('Authorization') ? null : sessionSource()?.token()
  if (token) resolved.set('Authorization', `Bearer ${token}`)
  return { ...rest, credentials, ...init, headers: resolved, redirect: 'manual' }
}

/**
 * Sends one request; when the server refuses the page's login session (401), logs in again once
 * (`renew`) and sends it once more. Never a loop.
 */
export async function sendSigned(url: string | URL, options: EndpointOptions, init: RequestInit): Promise<Response> {
  const login = sessionSource()
  let signed = false
  const send = async () => {
    const request = await endpointInit(options, init)
    signed = !!login && (request.headers as Headers).get('Authorization') === `Bearer ${login.token()}`
    return (options.fetch ?? fetch)(url, request)
  }
  const response = await send()
  return response.status === 401 && signed && (await login!.renew()) ? send() : response
}

/**
 * True only when the endpoint itself answered 2xx: a redirect (an expired session sent to a login
 * page) is never a grant, and neither is a 2xx whose JSON body says `granted: false` or `ok: false`.
 */
export async function answeredYes(response: Response): Promise<boolean> {
  if (!response.ok || response.redirected || response.type === 'opaqueredirect') return false
  if (!/\bjson\b/i.test(response.headers.get('Content-Type') ?? '')) return true
  try {
    const body: unknown = await response.json()
    if (body !== null && typeof body === 'object') {
      const said = body as { granted?: unknown; ok?: unknown }
      return said.granted !== false && said.ok !== false
    }
    return body !== false
  } catch {
    return false // a 2xx that claims JSON and sends something else is no answer to trust
  }
}

/**
 * A ready `grant`: POSTs the order (`{ orderId, sku, kind, subscriptionId?, source }`) as JSON to
 * your server's absolute URL and answers `true` only when the server itself answered 2xx (see
 * `answeredYes`). The endpoint must be idempotent on `orderId`: recovery may send the same order
 * again. `vue-toss-iap/server`'s `createFulfilmentHandler` is such an endpoint.
 *
 * ```ts
 * grantViaEndpoint('https://api.example.com/iap/fulfil', { headers: async () => ({ Authorization: `Bearer ${await token()}` }) })
 * ```
 */
export function grantViaEndpoint(url: string | URL, options: GrantViaEndpointOptions = {}): GrantFn {
  return Object.assign(
    async (order: Parameters<GrantFn>[0]) => {
      warnIfRelative(url, 'grantViaEndpoint')
      return answeredYes(
        await sendSigned(url, options, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(order) }),
      )
    },
    { [REFUSE_PAYMENT]: ((sku) => refuseUnusableGrant(url, detectEnvironment().kind, sku)) satisfies RefusePayment },
  )
}
