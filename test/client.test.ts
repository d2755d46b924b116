import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  getProducts,
  createIapClient,
  detectCapabilities,
  detectEnvironment,
  getOrderHistory,
  getSubscriptionInfo,
  IapError,
  isCancellation,
  TOSS_ERROR_CODES,
  type IapClient,
} from '../src'
import { installTossSimulator, POST_PAYMENT_ERROR_CODES, type TossSimulator } from '../src/testing'
import { createTestServer, flush } from './helpers'

let sim: TossSimulator | undefined
afterEach(() => {
  sim?.uninstall()
  sim = undefined
  vi.useRealTimers()
})

function setup(options: Parameters<typeof installTossSimulator>[0] = {}, timeouts = {}) {
  sim = installTossSimulator(options)
  const server = createTestServer()
  const client = createIapClient({ grant: server.grant, timeouts })
  return { sim, server, client }
}

/** Nothing of a flow may stay registered on the bridge once it has settled. */
function expectNoListeners(s: TossSimulator) {
  expect(s.openSubscriptions()).toBe(0)
  expect(s.listenerCount()).toBe(0)
}

describe('environment and capabilities', () => {
  it('tells toss, sandbox and a plain browser apart without throwing', () => {
    expect(detectEnvironment()).toEqual({ kind: 'browser', appVersion: null, os: null })
    sim = installTossSimulator({ environment: 'toss', appVersion: '5.240.0', os: 'ios' })
    expect(detectEnvironment()).toEqual({ kind: 'toss', appVersion: '5.240.0', os: 'ios' })
    sim.configure({ environment: 'sandbox' })
    expect(detectEnvironment().kind).toBe('sandbox')
  })

  it.each([
    [
      'android',
      '5.218.9',
      { products: false, purchase: false, completeProductGrant: false, pendingOrders: false, orderHistory: false, subscriptions: false },
    ],
    [
      'android',
      '5.231.0',
      { products: true, purchase: false, completeProductGrant: false, pendingOrders: false, orderHistory: true, subscriptions: false },
    ],
    [
      'android',
      '5.233.0',
      // The purchase flow exists, but no getPendingOrders: a failed grant could never be recovered.
      { products: true, purchase: false, completeProductGrant: true, pendingOrders: false, orderHistory: true, subscriptions: false },
    ],
    [
      'android',
      '5.234.0',
      { products: true, purchase: true, completeProductGrant: true, pendingOrders: true, orderHistory: true, subscriptions: false },
    ],
    [
      'ios',
      '5.231.0',
      // No completeProductGrant yet: purchases are refused.
      { products: true, purchase: false, completeProductGrant: false, pendingOrders: true, orderHistory: true, subscriptions: false },
    ],
    [
      'ios',
      '5.233.0',
      { products: true, purchase: true, completeProductGrant: true, pendingOrders: true, orderHistory: true, subscriptions: false },
    ],
    [
      'android',
      '5.248.0',
      { products: true, purchase: true, completeProductGrant: true, pendingOrders: true, orderHistory: true, subscriptions: true },
    ],
    [
      'ios',
      '5.248.0',
      { products: true, purchase: true, completeProductGrant: true, pendingOrders: true, orderHistory: true, subscriptions: false },
    ],
  ] as const)('on %s %s follows the minimum-version table', (os, appVersion, expected) => {
    sim = installTossSimulator({ os, appVersion })
    expect(detectCapabilities()).toEqual(expected)
  })

  it('supports everything in the sandbox app and nothing in a plain browser', () => {
    expect(Object.values(detectCapabilities()).every((v) => v === false)).toBe(true)
    sim = installTossSimulator({ environment: 'sandbox', appVersion: '5.0.0' })
    expect(Object.values(detectCapabilities()).every((v) => v === true)).toBe(true)
  })
})

describe('bridge calls', () => {
  it('loads the catalogue', async () => {
    const { client } = setup()
    const products = await getProducts(client)
    expect(products.map((p) => [p.sku, p.type])).toEqual([
      ['gem-100', 'CONSUMABLE'],
      ['remove-ads', 'NON_CONSUMABLE'],
      ['premium-monthly', 'SUBSCRIPTION'],
    ])
    expect(products[2]!.offers).toEqual([{ type: 'FREE_TRIAL', offerId: 'trial-7d', period: 'P7D' }])
  })

  it('fails fast with UNSUPPORTED_APP_VERSION on an old app instead of resolving undefined', async () => {
    const { client, sim } = setup({ appVersion: '5.210.0' })
    await expect(getProducts(client)).rejects.toMatchObject({
      code: 'UNSUPPORTED_APP_VERSION',
      message: expect.stringMatching(/^\[vue-toss-iap\] products needs Toss 5\.219\.0/),
    })
    await expect(client.getPendingOrders()).rejects.toMatchObject({ code: 'UNSUPPORTED_APP_VERSION' })
    expect(sim.calls).toHaveLength(0)
  })

  it('fails with UNSUPPORTED_ENVIRONMENT in a plain browser instead of throwing the SDK error', async () => {
    const client = createIapClient({ grant: () => true })
    const error = await getProducts(client).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IapError)
    expect(error).toMatchObject({ code: 'UNSUPPORTED_ENVIRONMENT', message: expect.stringContaining('plain browser') })
  })

  it('times out a host that never answers and leaves no listener behind', async () => {
    vi.useFakeTimers()
    const { client, sim } = setup({}, { call: 1000 })
    sim.failNext('iapGetProductItemList', 'hang')
    const result = getProducts(client).catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(999)
    expect(sim.listenerCount()).toBe(2) // the SDK waits on resolve and reject
    await vi.advanceTimersByTimeAsync(1)
    expect(await result).toMatchObject({ code: 'TIMEOUT' })
    expect(sim.listenerCount()).toBe(0)
  })

  it('uses the default 15 s timeout when none is given', async () => {
    vi.useFakeTimers()
    const { client, sim } = setup()
    sim.failNext('completeProductGrant', 'hang')
    const result = client.completeProductGrant('x').catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(14_999)
    let settled = false
    void result.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(await result).toMatchObject({ code: 'TIMEOUT' })
  })

  it.each([
    ['a 2.x error with a code', { error: 'NETWORK_ERROR' }, 'NETWORK_ERROR'],
    ['a bare error from a newer host', { error: 'APP_BRIDGE_THROTTLED', bare: true }, 'APP_BRIDGE_THROTTLED'],
    ['an unknown code', { error: 'SOMETHING_NEW' }, 'UNKNOWN'],
  ] as const)('reads %s into a typed IapError with the original as cause', async (_, fault, code) => {
    const { client, sim } = setup()
    sim.failNext('iapGetProductItemList', fault)
    const error = (await getProducts(client).catch((e: unknown) => e)) as IapError
    expect(error).toBeInstanceOf(IapError)
    expect(error.code).toBe(code)
    expect(error.cause).toBeInstanceOf(Error)
    expect(error.message.startsWith('[vue-toss-iap] ')).toBe(true)
  })

  it.each([
    ['undefined', undefined],
    ['a string', 'nope'],
    ['products that is not a list', { products: 'gem-100' }],
  ])('turns a product list of %s into INVALID_RESPONSE', async (_, respond) => {
    const { client, sim } = setup()
    sim.failNext('iapGetProductItemList', { respond })
    await expect(getProducts(client)).rejects.toMatchObject({ code: 'INVALID_RESPONSE' })
  })

  it('drops products that could not be bought (no sku, unknown type) and fills missing text', async () => {
    const { client, sim } = setup()
    sim.failNext('iapGetProductItemList', {
      respond: { products: [{ type: 'CONSUMABLE' }, { sku: 'x', type: 'WEIRD' }, { sku: 'ok', type: 'CONSUMABLE', displayName: 7 }, null] },
    })
    expect(await getProducts(client)).toEqual([
      { sku: 'ok', type: 'CONSUMABLE', displayName: 'ok', displayAmount: '', iconUrl: '', description: '' },
    ])
  })

  it('reads pending orders from `orders`, from `orderIds`, and `{}` as none', async () => {
    const { client, sim } = setup({ pendingOrdersFormat: 'orderIds' })
    const order = sim.addPaidOrder('gem-100')
    expect(await client.getPendingOrders()).toEqual([{ orderId: order.orderId, sku: '', paymentCompletedDate: null }])
    sim.failNext('getPendingOrders', { respond: {} })
    expect(await client.getPendingOrders()).toEqual([])
    sim.failNext('getPendingOrders', { respond: undefined })
    await expect(client.getPendingOrders()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' })
  })

  it('merges `orders` and `orderIds` when a host sends both', async () => {
    const { client, sim } = setup({ pendingOrdersFormat: 'both' })
    const a = sim.addPaidOrder('gem-100')
    const b = sim.addPaidOrder('remove-ads')
    expect(await client.getPendingOrders()).toEqual([
      { orderId: a.orderId, sku: 'gem-100', paymentCompletedDate: a.paidAt },
      { orderId: b.orderId, sku: 'remove-ads', paymentCompletedDate: b.paidAt },
    ])
  })

  it('counts only `true` from completeProductGrant as confirmed', async () => {
    const { client, sim } = setup()
    const order = sim.addPaidOrder('gem-100')
    sim.failNext('completeProductGrant', { respond: undefined })
    expect(await client.completeProductGrant(order.orderId)).toBe(false)
    sim.failNext('completeProductGrant', { respond: 'yes' })
    expect(await client.completeProductGrant(order.orderId)).toBe(false)
    expect(sim.order(order.orderId)!.completed).toBe(false)
    expect(await client.completeProductGrant(order.orderId)).toBe(true)
    expect(sim.order(order.orderId)!.completed).toBe(true)
  })

  it('rejects an empty orderId with INVALID_ARGUMENT before calling Toss', async () => {
    const { client, sim } = setup()
    await expect(client.completeProductGrant('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(getSubscriptionInfo(client, undefined as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(sim.calls).toHaveLength(0)
  })

  it('pages the order history by passing { key }', async () => {
    const { client, sim } = setup({ historyPageSize: 2 })
    for (let i = 0; i < 5; i++) await client.completeProductGrant(sim.addPaidOrder('gem-100').orderId)
    const first = await getOrderHistory(client)
    expect(first.orders).toHaveLength(2)
    expect(first.hasNext).toBe(true)
    const second = await getOrderHistory(client, { key: first.nextKey })
    expect(sim.callsTo('getCompletedOrRefundedOrders').map((c) => c.args)).toEqual([[], [{ key: first.nextKey }]])
    const third = await getOrderHistory(client, { key: second.nextKey })
    expect(third.hasNext).toBe(false)
    const ids = [...first.orders, ...second.orders, ...third.orders].map((o) => o.orderId)
    expect(new Set(ids).size).toBe(5)
  })

  it('reads a subscription, and `{}` as unknown rather than active', async () => {
    const { client, sim } = setup()
    const order = sim.addPaidOrder('premium-monthly')
    expect(await getSubscriptionInfo(client, order.orderId)).toMatchObject({ status: 'ACTIVE', isAccessible: true, isAutoRenew: true })
    sim.setSubscription(order.orderId, { status: 'EXPIRED' })
    expect(await getSubscriptionInfo(client, order.orderId)).toMatchObject({ status: 'EXPIRED', isAccessible: false })
    expect(await getSubscriptionInfo(client, 'unknown-order')).toBeNull()
    sim.failNext('getSubscriptionInfo', { respond: { subscription: { status: 'ACTIVE', isAccessible: 'yes' } } })
    expect(await getSubscriptionInfo(client, order.orderId)).toMatchObject({ status: 'ACTIVE', isAccessible: false })
  })

  it('refuses a client without a grant function or with a bad timeout', () => {
    expect(() => createIapClient({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => createIapClient({ grant: () => true, timeouts: { call: -1 } })).toThrow(/timeouts\.call/)
  })
})

describe('one purchase as one promise', () => {
  let client: IapClient
  let server: ReturnType<typeof createTestServer>
  let s: TossSimulator
  beforeEach(() => {
    ;({ client, server, sim: s } = setup())
  })

  it.each([null, undefined, 'gem-100', { sku: 7 }])('answers %j, which is no purchase request, with INVALID_ARGUMENT instead of throwing', async (request) => {
    const result = client.purchase(request as never)
    expect(result).toBeInstanceOf(Promise)
    expect(await result).toMatchObject({ status: 'failed', error: { code: 'INVALID_ARGUMENT' } })
    expect(s.calls).toEqual([])
  })

  it('succeeds once the grant said true and Toss confirmed', async () => {
    const purchased: string[] = []
    const result = await client.purchase({ sku: 'gem-100', onPurchased: (o) => purchased.push(o.orderId) })
    expect(result).toMatchObject({ status: 'success', receipt: { displayName: '보석 100개', amount: 1100, currency: 'KRW' } })
    const orderId = (result as { orderId: string }).orderId
    expect(purchased).toEqual([orderId])
    expect(server.calls).toEqual([{ orderId, sku: 'gem-100', kind: 'one-time', source: 'purchase' }])
    expect(s.order(orderId)).toMatchObject({ paid: true, grantAnswers: [true], completed: false })
    expect(s.callsTo('requestOneTimePurchase').map((c) => c.type)).toEqual(['addEventListener', 'removeEventListener'])
    expectNoListeners(s)
  })

  it('passes the subscriptionId to the grant of a subscription, with the offer', async () => {
    const result = await client.purchase({ sku: 'premium-monthly', kind: 'subscription', offerId: 'trial-7d' })
    expect(result.status).toBe('success')
    expect(s.callsTo('requestSubscriptionPurchase')[0]!.args).toEqual({ sku: 'premium-monthly', offerId: 'trial-7d' })
    expect(server.calls[0]).toMatchObject({ kind: 'subscription', subscriptionId: expect.stringMatching(/^sub-/) })
  })

  it('tells a user cancel apart from a failure, and removes its listeners', async () => {
    s.nextPurchase('cancel', { error: 'INVALID_USER_ENVIRONMENT' }, { error: 'USER_CANCELED', bare: true })
    expect(s.queuedPurchases()).toEqual(['cancel', { error: 'INVALID_USER_ENVIRONMENT' }, { error: 'USER_CANCELED', bare: true }])
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'canceled', error: { code: 'USER_CANCELED' } })
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'failed', error: { code: 'INVALID_USER_ENVIRONMENT' } })
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'canceled', error: { code: 'USER_CANCELED' } })
    expect(s.queuedPurchases()).toEqual([])
    expect(s.orders).toHaveLength(0)
    expect(server.calls).toHaveLength(0)
    expect(s.callsTo('requestOneTimePurchase').filter((c) => c.type === 'removeEventListener')).toHaveLength(3)
    expectNoListeners(s)
  })

  it.each(TOSS_ERROR_CODES.filter((c) => c !== 'USER_CANCELED' && !POST_PAYMENT_ERROR_CODES.includes(c)))(
    'reports %s from the payment sheet as a failure with that code',
    async (code) => {
      s.nextPurchase({ error: code })
      const result = await client.purchase({ sku: 'gem-100' })
      expect(result).toMatchObject({ status: 'failed', error: { code } })
      expect(isCancellation((result as { error: IapError }).error)).toBe(false)
      expect(server.calls).toHaveLength(0)
      expectNoListeners(s)
    },
  )

  it('fails with INVALID_PRODUCT_ID for a sku the console does not know', async () => {
    expect(await client.purchase({ sku: 'nope' })).toMatchObject({ status: 'failed', error: { code: 'INVALID_PRODUCT_ID' } })
  })

  it('refuses an empty sku with INVALID_ARGUMENT and opens nothing', async () => {
    expect(await client.purchase({ sku: ' ' })).toMatchObject({ status: 'failed', error: { code: 'INVALID_ARGUMENT' } })
    expect(s.calls).toHaveLength(0)
  })

  it('a scripted PRODUCT_NOT_GRANTED_BY_PARTNER comes only after an order exists and the grant ran', async () => {
    s.nextPurchase({ error: 'PRODUCT_NOT_GRANTED_BY_PARTNER' })
    const result = await client.purchase({ sku: 'gem-100' })
    expect(result).toMatchObject({ status: 'unfinished', granted: true, error: { code: 'PRODUCT_NOT_GRANTED_BY_PARTNER' } })
    expect(server.calls.map((c) => c.orderId)).toEqual([(result as { orderId: string }).orderId])
    expect(s.pendingOrders().map((o) => [o.orderId, o.grantAnswers])).toEqual([[(result as { orderId: string }).orderId, [true]]])
    expectNoListeners(s)
  })

  it('answers ITEM_ALREADY_OWNED for a non-consumable the user holds, and sells it again after a refund', async () => {
    const first = await client.purchase({ sku: 'remove-ads' })
    expect(first.status).toBe('success')
    expect(await client.purchase({ sku: 'remove-ads' })).toMatchObject({ status: 'failed', error: { code: 'ITEM_ALREADY_OWNED' } })
    expect(s.orders).toHaveLength(1)
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'success' })
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'success' }) // consumables sell again
    s.refund((first as { orderId: string }).orderId)
    expect(await client.purchase({ sku: 'remove-ads' })).toMatchObject({ status: 'success' })
    expectNoListeners(s)
  })

  it('leaves the order unfinished and pending at Toss when the grant says false', async () => {
    server.respond('false')
    const result = await client.purchase({ sku: 'gem-100' })
    expect(result).toMatchObject({ status: 'unfinished', granted: false, error: { code: 'PRODUCT_NOT_GRANTED_BY_PARTNER' } })
    expect(s.pendingOrders().map((o) => o.grantAnswers)).toEqual([[false]])
    expectNoListeners(s)
  })

  it('answers false to Toss when the grant throws, instead of leaving Toss waiting', async () => {
    server.respond('throw')
    const answers: unknown[] = []
    const result = await client.purchase({ sku: 'gem-100', onGrantAnswer: (_, o) => answers.push(o) })
    expect(result).toMatchObject({ status: 'unfinished', granted: false })
    expect(answers).toEqual([
      {
        granted: false,
        error: expect.objectContaining({ code: 'GRANT_FAILED', cause: expect.objectContaining({ message: 'server is down' }) }),
      },
    ])
    expect(s.pendingOrders()[0]!.grantAnswers).toEqual([false])
  })

  it('answers false when the grant outlasts its budget, and still records its late true', async () => {
    vi.useFakeTimers()
    ;({ client, server, sim: s } = (s.uninstall(), setup({}, { grant: 25_000 })))
    server.respond({ delay: 40_000 })
    const result = client.purchase({ sku: 'gem-100' })
    await vi.advanceTimersByTimeAsync(25_000)
    expect(await result).toMatchObject({ status: 'unfinished', granted: false })
    const orderId = s.orders[0]!.orderId
    expect(s.order(orderId)!.grantAnswers).toEqual([false])
    expect(client.grants.isGranted(orderId)).toBe(false)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(client.grants.isGranted(orderId)).toBe(true)
    expect(server.grants.size).toBe(1)
  })

  it('runs the grant once when Toss sends the same purchased event twice', async () => {
    s.nextPurchase('duplicate-purchased')
    const result = await client.purchase({ sku: 'gem-100' })
    expect(result.status).toBe('success')
    expect(server.calls).toHaveLength(1)
    expect(s.orders).toHaveLength(1)
    expectNoListeners(s)
  })

  it('never grants an order again once its grant said true, and joins a grant already running', async () => {
    const order = { orderId: 'o-1', sku: 'gem-100', kind: 'one-time', source: 'recovery' } as const
    const [a, b] = await Promise.all([client.grant(order), client.grant(order)])
    expect(await client.grant(order)).toEqual({ granted: true })
    expect([a, b]).toEqual([{ granted: true }, { granted: true }])
    expect(server.calls).toHaveLength(1)
    server.respond('false')
    const other = { ...order, orderId: 'o-2' }
    expect((await client.grant(other)).granted).toBe(false)
    server.respond('ok')
    expect((await client.grant(other)).granted).toBe(true) // a failed grant may be tried again
    expect(server.calls.map((c) => c.orderId)).toEqual(['o-1', 'o-2', 'o-2'])
  })

  it('times out a payment sheet that never answers, and removes its listeners', async () => {
    vi.useFakeTimers()
    s.nextPurchase('hang')
    const result = client.purchase({ sku: 'gem-100' })
    await vi.advanceTimersByTimeAsync(300_000)
    expect(await result).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } })
    expect(s.callsTo('requestOneTimePurchase').map((c) => c.type)).toEqual(['addEventListener', 'removeEventListener'])
    expectNoListeners(s)
  })

  it('aborts through an AbortSignal, before and during the sheet', async () => {
    const early = new AbortController()
    early.abort()
    expect(await client.purchase({ sku: 'gem-100', signal: early.signal })).toMatchObject({
      status: 'canceled',
      error: { code: 'ABORTED' },
    })
    expect(s.calls).toHaveLength(0)
    s.nextPurchase('hang')
    const controller = new AbortController()
    const result = client.purchase({ sku: 'gem-100', signal: controller.signal })
    await flush()
    controller.abort()
    expect(await result).toMatchObject({ status: 'canceled', error: { code: 'ABORTED' } })
    expectNoListeners(s)
  })

  it('aborted during the grant, it settles at once; the grant finishes and Toss hears its answer', async () => {
    vi.useFakeTimers()
    server.respond({ delay: 1000 })
    const controller = new AbortController()
    const result = client.purchase({ sku: 'gem-100', signal: controller.signal, onPurchased: () => controller.abort() })
    expect(await result).toMatchObject({ status: 'unfinished', granted: null, error: { code: 'ABORTED' } })
    expect(s.openSubscriptions()).toBe(0)
    await vi.advanceTimersByTimeAsync(1000)
    const order = s.orders[0]!
    expect(order.grantAnswers).toEqual([true])
    expect(client.grants.isGranted(order.orderId)).toBe(true)
    expect(s.pendingOrders()).toEqual([order]) // recovery completes it
    await vi.advanceTimersByTimeAsync(15_000)
    expect(s.listenerCount()).toBe(0)
  })

  it('leaves no listener when the host never answers the grant answer', async () => {
    vi.useFakeTimers()
    s.failNext('processProductGrant', 'hang')
    const result = client.purchase({ sku: 'gem-100' })
    await vi.advanceTimersByTimeAsync(15_000)
    expect(await result).toMatchObject({ status: 'unfinished', granted: true, error: { code: 'TIMEOUT' } })
    expectNoListeners(s)
  })

  it('does not believe a success for an order the app never granted', async () => {
    server.respond('false')
    // A host that reports success whatever the grant said.
    s.failNext('processProductGrant', { respond: true })
    const result = client.purchase({ sku: 'gem-100' })
    await flush()
    const order = s.orders[0]!
    const eventId = s.callsTo('requestOneTimePurchase')[0]!.eventId
    window.__GRANITE_NATIVE_EMITTER!.emit(`requestOneTimePurchase/onEvent/${eventId}`, {
      type: 'success',
      data: { orderId: order.orderId },
    })
    expect(await result).toMatchObject({ status: 'unfinished', granted: false, error: { code: 'INVALID_RESPONSE' } })
  })

  it('refuses with UNSUPPORTED_APP_VERSION where the raw SDK would hang forever', async () => {
    s.configure({ appVersion: '5.225.0' })
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'failed', error: { code: 'UNSUPPORTED_APP_VERSION' } })
    s.configure({ appVersion: '5.240.0' })
    expect(await client.purchase({ sku: 'premium-monthly', kind: 'subscription' })).toMatchObject({
      status: 'failed',
      error: { code: 'UNSUPPORTED_APP_VERSION' },
    })
    expect(s.calls).toHaveLength(0)
  })

  it('refuses with UNSUPPORTED_ENVIRONMENT in a plain browser where the raw SDK throws', async () => {
    s.uninstall()
    expect(await client.purchase({ sku: 'gem-100' })).toMatchObject({ status: 'failed', error: { code: 'UNSUPPORTED_ENVIRONMENT' } })
  })
})
