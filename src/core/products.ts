import { IAP } from '@apps-in-toss/web-framework'
import type { IapClient } from './client.js'
import { invalid, isObj, str } from './normalize.js'
import type { IapOffer, IapProduct, ProductType } from './types.js'

// The console catalogue, in a module of its own: an app that only sells never ships it.

const PRODUCT_TYPES: ReadonlySet<string> = new Set(['CONSUMABLE', 'NON_CONSUMABLE', 'SUBSCRIPTION'])
const CYCLES: ReadonlySet<string> = new Set(['WEEKLY', 'MONTHLY', 'YEARLY'])
const OFFER_TYPES: ReadonlySet<string> = new Set(['FREE_TRIAL', 'NEW_SUBSCRIPTION', 'RETURNING'])

function toOffer(v: unknown): IapOffer | null {
  if (!isObj(v) || typeof v.offerId !== 'string' || !OFFER_TYPES.has(str(v.type))) return null
  const offer: IapOffer = { type: v.type as IapOffer['type'], offerId: v.offerId, period: str(v.period) }
  if (typeof v.displayAmount === 'string') offer.displayAmount = v.displayAmount
  return offer
}

/** Items without a string `sku` or a known `type` are dropped: nothing could be bought with them. */
export function normalizeProducts(value: unknown): IapProduct[] {
  if (!isObj(value) || !Array.isArray(value.products)) throw invalid('getProductItemList', value)
  const products: IapProduct[] = []
  for (const item of value.products) {
    if (!isObj(item) || typeof item.sku !== 'string' || !item.sku || !PRODUCT_TYPES.has(str(item.type))) continue
    const product: IapProduct = {
      sku: item.sku,
      type: item.type as ProductType,
      displayName: str(item.displayName, item.sku),
      displayAmount: str(item.displayAmount),
      iconUrl: str(item.iconUrl),
      description: str(item.description),
    }
    if (product.type === 'SUBSCRIPTION') {
      if (CYCLES.has(str(item.renewalCycle))) product.renewalCycle = item.renewalCycle as IapProduct['renewalCycle']
      if (Array.isArray(item.offers)) product.offers = item.offers.map(toOffer).filter((o): o is IapOffer => o !== null)
    }
    products.push(product)
  }
  return products
}

/** The console catalogue, from Toss (`getProductItemList`), through the client's checks and timeout. */
export function getProducts(client: IapClient): Promise<IapProduct[]> {
  return client.request('products', 'getProductItemList', () => IAP.getProductItemList(), normalizeProducts)
}
