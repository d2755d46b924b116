import { IAP } from '@apps-in-toss/web-framework'
import { afterEach, describe, expect, it } from 'vitest'
import { installTossSimulator, type TossSimulator } from '../src/testing'

let sim: TossSimulator
afterEach(() => sim?.uninstall())

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('the simulator speaks the bridge protocol the real SDK uses', () => {
  it('lists the catalogue through IAP.getProductItemList', async () => {
    sim = installTossSimulator()
    const result = await IAP.getProductItemList()
    expect(result?.products.map((p) => p.sku)).toEqual(['gem-100', 'remove-ads', 'premium-monthly'])
    expect(sim.callsTo('iapGetProductItemList')).toHaveLength(1)
  })

  it('a raw one-time purchase leaves the ledger the notes predict', async () => {
    sim = installTossSimulator()
    const events: unknown[] = []
    const granted: string[] = []
    await new Promise<void>((resolve, reject) => {
      const cleanup = IAP.createOneTimePurchaseOrder({
        options: {
          sku: 'gem-100',
          processProductGrant: ({ orderId }) => {
            granted.push(orderId)
            return true
          },
        },
        onEvent: async (event) => {
          events.push(event)
          await IAP.completeProductGrant({ params: { orderId: event.data.orderId } })
          cleanup()
          resolve()
        },
        onError: (e) => {
          cleanup()
          reject(e)
        },
      })
    })
    expect(granted).toHaveLength(1)
    const order = sim.order(granted[0]!)!
    expect(order).toMatchObject({ sku: 'gem-100', kind: 'one-time', paid: true, grantAnswers: [true], completed: true, refunded: false })
    expect(events).toEqual([
      { type: 'success', data: expect.objectContaining({ orderId: order.orderId, displayName: '보석 100개', currency: 'KRW' }) },
    ])
    expect(sim.callsTo('requestOneTimePurchase').map((c) => c.type)).toEqual(['addEventListener', 'removeEventListener'])
    expect(sim.callsTo('processProductGrant')[0]!.args).toEqual([{ orderId: order.orderId, isProductGranted: true }])
    expect(sim.pendingOrders()).toEqual([])
    expect(sim.openSubscriptions()).toBe(0)
    expect(sim.listenerCount()).toBe(0)
  })

  it('a grant that says false leaves the order pending at Toss with PRODUCT_NOT_GRANTED_BY_PARTNER', async () => {
    sim = installTossSimulator()
    const error = await new Promise<any>((resolve) => {
      const cleanup = IAP.createOneTimePurchaseOrder({
        options: { sku: 'gem-100', processProductGrant: () => false },
        onEvent: () => {},
        onError: (e) => {
          cleanup()
          resolve(e)
        },
      })
    })
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe('PRODUCT_NOT_GRANTED_BY_PARTNER')
    expect(sim.pendingOrders()).toHaveLength(1)
    expect(sim.pendingOrders()[0]!.grantAnswers).toEqual([false])
    const pending = await IAP.getPendingOrders()
    expect(pending.orders).toEqual([{ orderId: sim.orders[0]!.orderId, sku: 'gem-100', paymentCompletedDate: sim.orders[0]!.paidAt }])
  })

  it('below the minimum version the raw SDK silently does nothing (the trap this package closes)', async () => {
    sim = installTossSimulator({ appVersion: '5.200.0' })
    let called = false
    const cleanup = IAP.createOneTimePurchaseOrder({
      options: { sku: 'gem-100', processProductGrant: () => true },
      onEvent: () => void (called = true),
      onError: () => void (called = true),
    })
    await tick()
    cleanup()
    expect(called).toBe(false)
    expect(sim.calls).toHaveLength(0)
    expect(await IAP.getProductItemList()).toBeUndefined()
  })

  it('outside the app the raw SDK throws synchronously', () => {
    expect(() =>
      IAP.createOneTimePurchaseOrder({ options: { sku: 'gem-100', processProductGrant: () => true }, onEvent() {}, onError() {} }),
    ).toThrow(/not a constant handler/)
  })
})

describe('the simulator', () => {
  it('keeps its ledger across page loads when asked to, as Toss does', async () => {
    const storage = new Map<string, string>()
    const persist = {
      storage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) },
    }
    sim = installTossSimulator({ persist })
    const order = sim.addPaidOrder('gem-100')
    await IAP.completeProductGrant({ params: { orderId: order.orderId } })
    sim.uninstall()
    sim = installTossSimulator({ persist })
    expect(sim.orders).toEqual([expect.objectContaining({ orderId: order.orderId, completed: true })])
    const next = sim.addPaidOrder('gem-100')
    expect(next.orderId).not.toBe(order.orderId)
    sim.clearLedger()
    sim.uninstall()
    sim = installTossSimulator({ persist })
    expect(sim.orders).toEqual([])
  })

  it('holds no state across uninstall() without persistence', () => {
    sim = installTossSimulator()
    sim.addPaidOrder('gem-100')
    sim.nextPurchase('cancel')
    sim.uninstall()
    expect(window.ReactNativeWebView).toBeUndefined()
    expect(window.__CONSTANT_HANDLER_MAP).toBeUndefined()
    sim = installTossSimulator()
    expect(sim.orders).toEqual([])
    expect(sim.calls).toEqual([])
  })
})
