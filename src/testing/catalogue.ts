import type { IapProduct } from '../core/types.js'

/** A small catalogue with one product of each type, used when no `products` option is given. */
export const DEFAULT_PRODUCTS: IapProduct[] = [
  {
    sku: 'gem-100',
    type: 'CONSUMABLE',
    displayName: '보석 100개',
    displayAmount: '1,100원',
    iconUrl: 'https://static.toss.im/icons/png/4x/icn-gem.png',
    description: '게임에서 쓰는 보석 100개',
  },
  {
    sku: 'remove-ads',
    type: 'NON_CONSUMABLE',
    displayName: '광고 제거',
    displayAmount: '3,300원',
    iconUrl: 'https://static.toss.im/icons/png/4x/icn-block.png',
    description: '광고 없이 평생 이용',
  },
  {
    sku: 'premium-monthly',
    type: 'SUBSCRIPTION',
    displayName: '프리미엄 (월간)',
    displayAmount: '월 4,900원',
    iconUrl: 'https://static.toss.im/icons/png/4x/icn-crown.png',
    description: '모든 기능을 매달 이용',
    renewalCycle: 'MONTHLY',
    offers: [{ type: 'FREE_TRIAL', offerId: 'trial-7d', period: 'P7D' }],
  },
]
