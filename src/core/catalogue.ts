import type { IapClient } from './client.js'
import { singleFlight } from './timing.js'
import type { IapProduct } from './types.js'

/** The console catalogue as this page last heard it from Toss (see `createCatalogue`). */
export interface Catalogue {
  /** Toss's latest answer in this session; `null` until one came. */
  readonly latest: IapProduct[] | null
  /** Asks Toss; concurrent callers share one bridge call. Rejects with an `IapError`. */
  load(): Promise<IapProduct[]>
  /** Toss's list from this session, loading it when there is none yet. */
  ensure(): Promise<IapProduct[]>
}

/**
 * One catalogue per plugin install, shared by recovery (which looks up the kind of a pending
 * order) and the product store, so that the two never ask Toss twice for the same list.
 */
export function createCatalogue(client: IapClient): Catalogue {
  const flight = singleFlight<0, IapProduct[]>()
  let latest: IapProduct[] | null = null
  const load = () => flight.run(0, () => client.getProducts().then((list) => (latest = list)))
  return {
    get latest() {
      return latest
    },
    load,
    ensure: () => (latest && !flight.has(0) ? Promise.resolve(latest) : load()),
  }
}
