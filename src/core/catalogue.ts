import type { IapProduct } from './types.js'

/** The console catalogue as this page last heard it from Toss (see `createCatalogue`). */
export interface Catalogue {
  /** Runs `ask` (the product store's `getProducts`), or joins the run under way. Rejects as `ask` does. */
  load(ask: () => Promise<IapProduct[]>): Promise<IapProduct[]>
  /** What the page knows without asking Toss: the answer of a load under way, else the latest list. Never rejects. */
  known(): Promise<IapProduct[] | null>
}

/**
 * One catalogue per plugin install, written by the product store and read by recovery (to tell a
 * pending order's kind), so that the two never ask Toss twice for the same list and an app that
 * only sells never ships the catalogue's code.
 */
export function createCatalogue(): Catalogue {
  let latest: IapProduct[] | null = null
  let pending: Promise<IapProduct[]> | null = null
  return {
    load(ask) {
      pending ??= ask()
        .then((list) => (latest = list))
        .finally(() => {
          pending = null
        })
      return pending
    },
    known: () => (pending ? pending.catch(() => latest) : Promise.resolve(latest)),
  }
}
