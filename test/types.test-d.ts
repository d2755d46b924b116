import { describe, expectTypeOf, it } from 'vitest'
import type { ComputedRef } from 'vue'
import { en, messageFor, type IapMessages, type MessageLocale } from '../src/messages'
import {
  createTossIap,
  IapError,
  useEntitlement,
  useIapStore,
  usePurchase,
  type GrantOrder,
  type IapErrorCode,
  type IapOrderEvent,
  type PurchaseOutcome,
  type PurchaseStatus,
} from '../src'
import { installTossSimulator, type PurchaseScript } from '../src/testing'

describe('public types', () => {
  it('usePurchase returns readonly refs and a purchase that resolves an outcome', () => {
    const r = usePurchase('gem-100')
    expectTypeOf(r.status).toEqualTypeOf<ComputedRef<PurchaseStatus>>()
    expectTypeOf(r.purchase).returns.toEqualTypeOf<Promise<PurchaseOutcome>>()
    expectTypeOf(r.error).toEqualTypeOf<ComputedRef<IapError | null>>()
    expectTypeOf<PurchaseStatus>().toEqualTypeOf<
      'idle' | 'purchasing' | 'granting' | 'granted' | 'completed' | 'pending' | 'canceled' | 'failed'
    >()
    expectTypeOf<PurchaseOutcome['status']>().not.toEqualTypeOf<PurchaseStatus>()
  })

  it('accepts a ref or a getter for the sku, and nothing else', () => {
    expectTypeOf(usePurchase).parameter(0).toEqualTypeOf<import('vue').MaybeRefOrGetter<string>>()
    // @ts-expect-error a number is not a sku
    usePurchase(42)
  })

  it('types the grant, the error codes and the events', () => {
    expectTypeOf(createTossIap).parameter(0).toHaveProperty('grant').toEqualTypeOf<(order: GrantOrder) => boolean | Promise<boolean>>()
    expectTypeOf<IapError['code']>().toEqualTypeOf<IapErrorCode>()
    expectTypeOf<'USER_CANCELED'>().toExtend<IapErrorCode>()
    expectTypeOf<'NOPE'>().not.toExtend<IapErrorCode>()
    expectTypeOf<Extract<IapOrderEvent, { sku: string }>>().toHaveProperty('error').toEqualTypeOf<IapError>()
    // @ts-expect-error createTossIap needs a grant
    createTossIap({})
  })

  it('types the store and the entitlement', () => {
    const store = useIapStore()
    expectTypeOf(store.environment.kind).toEqualTypeOf<'toss' | 'sandbox' | 'browser' | 'server'>()
    expectTypeOf(store.recover).returns.resolves.toHaveProperty('completed').toEqualTypeOf<string[]>()
    expectTypeOf(useEntitlement('x').isActive).toEqualTypeOf<ComputedRef<boolean>>()
  })

  it('types the simulator scripts', () => {
    expectTypeOf<'close-after-pay'>().toExtend<PurchaseScript>()
    expectTypeOf(installTossSimulator).returns.toHaveProperty('listenerCount').returns.toEqualTypeOf<number>()
  })
})

describe('vue-toss-iap/messages', () => {
  it('a message table must name every error code and every status', () => {
    const { UNKNOWN: _dropped, ...errors } = en.errors
    // @ts-expect-error: a table without UNKNOWN is not an IapMessages
    const incomplete: IapMessages = { errors, statuses: en.statuses }
    void incomplete
    expectTypeOf(messageFor).parameter(1).toEqualTypeOf<MessageLocale | undefined>()
  })
})
