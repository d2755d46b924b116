import { IapError } from './errors.js'

// Whether a server URL can be reached from the Toss app, where the page is served from a
// Toss-hosted https origin: shared by the build check (vue-toss-iap/vite) and the page.

/** Why a URL cannot reach the app's server from the Toss app; `undefined` when it can. */
export type EndpointProblem = 'missing' | 'relative' | 'insecure'

/**
 * `missing`: no URL, or one built from an unset variable (`${undefined}/api/iap/fulfill`).
 * `relative`: it would go to Toss's host. `insecure`: `http:` from an https page.
 */
export function unusableEndpoint(url: string | URL | undefined | null): EndpointProblem | undefined {
  const text = String(url ?? '').trim()
  if (!text || /^(undefined|null)\b/.test(text)) return 'missing'
  if (/^https:\/\/[^/]/i.test(text) || text.startsWith('//')) return undefined
  return /^http:/i.test(text) ? 'insecure' : 'relative'
}

/** @internal Where a grant made by `grantViaEndpoint` posts: the purchase checks it before any payment. */
export const GRANT_URL = Symbol.for('vue-toss-iap.grantUrl')

const told = new Set<string>()

/**
 * Before any payment in the Toss app (or its sandbox): a grant made by `grantViaEndpoint` whose URL
 * cannot reach the app's server would leave every paid order waiting for recovery forever. Answers
 * the error to refuse the purchase with (and says so in the console, once per URL), or `undefined`.
 * A relative or `http:` URL is refused only where the page itself is https (served by Toss).
 */
export function refuseUnusableGrant(url: string | URL | undefined, kind: string, sku?: string): IapError | undefined {
  const problem = unusableEndpoint(url)
  // A relative or http: URL works from a page on a dev server (`vite dev`, `granite dev`), never
  // from the https origin Toss serves the uploaded bundle from.
  const hosted = typeof location !== 'undefined' && location.protocol === 'https:'
  if (!problem || (kind !== 'toss' && kind !== 'sandbox') || (problem !== 'missing' && !hosted)) return undefined
  const why =
    problem === 'missing'
      ? 'it was built from an unset variable (set VITE_API_URL in .env.production and build again)'
      : problem === 'relative'
        ? "a relative URL goes to Toss's host, not your server"
        : 'an http: URL cannot be reached from the Toss app'
  const error = new IapError(
    'INVALID_ARGUMENT',
    `grantViaEndpoint('${String(url)}') cannot reach your server from the Toss app: ${why}. No payment was started; use your server's absolute https URL.`,
    { sku },
  )
  if (!told.has(String(url))) {
    told.add(String(url))
    console.error(error.message)
  }
  return error
}
