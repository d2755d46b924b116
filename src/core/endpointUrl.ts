import { IapError } from './errors.js'

/**
 * @internal On a grant made by `grantViaEndpoint`: `(sku) => IapError | undefined`, which the
 * purchase calls before any payment (an app that grants otherwise pays nothing for the check).
 */
export const REFUSE_PAYMENT = Symbol()
export type RefusePayment = (sku: string) => IapError | undefined

const told = new Set<string>()

/**
 * Before any payment in the Toss app (or its sandbox): a grant made by `grantViaEndpoint` whose URL
 * cannot reach the app's server would leave every paid order waiting for recovery forever. Answers
 * the error to refuse the purchase with (and says so in the console, once per URL), or `undefined`.
 * A URL built from an unset variable (`${undefined}/api/iap/fulfill`) reaches nothing from any
 * page; a relative or `http:` one works from a dev server's page (`vite dev`, `granite dev`), never
 * from the https origin Toss serves the uploaded bundle from.
 */
export function refuseUnusableGrant(url: string | URL | undefined, kind: string, sku?: string): IapError | undefined {
  const text = String(url)
  if (
    (kind !== 'toss' && kind !== 'sandbox') ||
    !(/^(undefined|null)\b|^\s*$/.test(text) || (location.protocol === 'https:' && !/^(https:)?\/\//i.test(text)))
  )
    return undefined
  const error = new IapError(
    'INVALID_ARGUMENT',
    `no payment started: grantViaEndpoint('${text}') cannot reach your server from the Toss app. Set its https URL (VITE_API_URL in .env.production)`,
    { sku },
  )
  if (!told.has(text)) (console.error(error.message), told.add(text))
  return error
}
