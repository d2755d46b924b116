import { expect, vi } from 'vitest'
import { isIapError, PACKAGE_ERROR_CODES, TOSS_ERROR_CODES } from '../../src'

// Hostile host answers, and the means to deliver them: what the simulator cannot express
// (a rejection with any payload, an event of any shape) is emitted here on the page's bridge.

/** A value whose every property read throws, though `typeof` says object. */
export function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

const boom = () => {
  throw new Error('a field that throws when read')
}
/** An object whose every trap throws. */
export const throwingProxy = () =>
  new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom })

/** Error-ish payloads a host may reject with, or pass to onError. */
export function hostileErrors(): Array<[string, unknown]> {
  const withThrowingFields = {
    get code(): unknown {
      throw new Error('code')
    },
    get message(): unknown {
      throw new Error('message')
    },
  }
  const errorWithThrowingFields = new Error('x')
  Object.defineProperty(errorWithThrowingFields, 'message', { get: boom })
  Object.defineProperty(errorWithThrowingFields, 'code', { get: boom })
  return [
    ['undefined', undefined],
    ['null', null],
    ['an empty string', ''],
    ['a code as a bare string', 'NETWORK_ERROR'],
    ['a string', 'something broke'],
    ['a number', 42],
    ['NaN', Number.NaN],
    ['a symbol', Symbol('error')],
    ['a bigint', 10n],
    ['a function', () => 'error'],
    ['an empty object', {}],
    ['an object with no prototype', Object.create(null)],
    ['a numeric code', { code: 42, message: 5 }],
    ['an object code', { code: {}, message: {} }],
    ['an unknown code', { code: 'NOT_A_CODE', message: 'who knows' }],
    ['a bridge error without a code', { __isError: true, message: 'bare' }],
    ['a bridge error without anything', { __isError: true }],
    ['a bridge error with a code that is no string', { __isError: true, code: ['INTERNAL_ERROR'] }],
    ['an Error without a code', new Error('plain')],
    ['fields that throw when read', withThrowingFields],
    ['an Error whose fields throw when read', errorWithThrowingFields],
    [
      'a bridge error whose fields throw when read',
      {
        __isError: true,
        get code(): unknown {
          return boom()
        },
      },
    ],
    ['a proxy that throws on every read', throwingProxy()],
    ['a revoked proxy', revokedProxy()],
  ]
}

/** orderIds no grant may ever see. */
export function oddOrderIds(): Array<[string, unknown]> {
  return [
    ['empty', ''],
    ['a space', ' '],
    ['a newline', '\n'],
    ['a tab', '\t'],
    ['spaces around', ' sim-1 '],
    ['a newline inside', 'sim-\n1'],
    ['a NUL', 'sim-\u00001'],
    ['100,000 characters', 'x'.repeat(100_000)],
    ['a number', 12345],
    ['NaN', Number.NaN],
    ['null', null],
    ['undefined', undefined],
    ['true', true],
    ['an object', { id: 'sim-1' }],
    ['an array', ['sim-1']],
    ['a boxed string', Object('sim-1')],
    ['a revoked proxy', revokedProxy()],
  ]
}

/** Answers (in place of a resolve) of every wrong type and shape. */
export function hostileAnswers(): Array<[string, unknown]> {
  return [
    ['undefined', undefined],
    ['null', null],
    ['an empty string', ''],
    ['a string', 'orders'],
    ['zero', 0],
    ['a number', 42],
    ['NaN', Number.NaN],
    ['true', true],
    ['false', false],
    ['an empty array', []],
    ['an array', [1, 'a', null]],
    ['an empty object', {}],
    ['null lists', { orders: null, orderIds: null, products: null, subscription: null }],
    ['string lists', { orders: 'a', orderIds: 'b', products: 'c', subscription: 'd' }],
    ['object lists', { orders: {}, orderIds: {}, products: {} }],
    ['lists of junk', { orders: [null, 1, 'a', [], {}], orderIds: [null, 1, {}, []], products: [null, 1, 'a', {}] }],
    [
      'items with odd orderIds',
      { orders: oddOrderIds().map(([, orderId]) => ({ orderId, sku: 'gem-100' })), orderIds: oddOrderIds().map(([, id]) => id) },
    ],
    [
      'items with fields of the wrong type',
      { orders: [{ orderId: 1, sku: 2, status: 3, date: 4 }], products: [{ sku: 1, type: 2 }], hasNext: 'yes', nextKey: 7 },
    ],
    ['a history that never ends', { orders: [], hasNext: true, nextKey: 'again' }],
    ['a subscription of junk', { subscription: { status: 7, isAccessible: 'yes', expiresAt: 5, catalogId: 'x' } }],
    ['a proxy that throws on every read', throwingProxy()],
    ['a revoked proxy', revokedProxy()],
    ['lists whose items throw when read', { orders: [throwingProxy()], orderIds: [throwingProxy()], products: [throwingProxy()] }],
  ]
}

type Bridge = { postMessage(raw: string): void }
type Emitter = { emit(event: string, payload?: unknown): void }

/**
 * Sits between the page and the simulated host: `reject(fn, payload)` makes the next call of a
 * bridge method reject with exactly `payload`; `sheets` lists the payment sheets the page opened,
 * so a test can `emit` any event into one.
 */
export function interceptBridge() {
  const win = window as unknown as { ReactNativeWebView: Bridge; __GRANITE_NATIVE_EMITTER: Emitter }
  const host = win.ReactNativeWebView
  const rejects = new Map<string, unknown[]>()
  const sheets: Array<{ functionName: string; eventId: string }> = []
  const emit = (event: string, payload: unknown) => {
    try {
      win.__GRANITE_NATIVE_EMITTER.emit(event, payload)
    } catch {
      // The SDK's own listener may choke on the payload (it reads `__isError`): that is the point.
    }
  }
  win.ReactNativeWebView = {
    postMessage(raw) {
      const msg = JSON.parse(raw) as { type: string; functionName: string; eventId: string }
      const queue = rejects.get(msg.functionName)
      if (msg.type === 'method' && queue?.length) {
        const payload = queue.shift()
        void Promise.resolve().then(() => emit(`${msg.functionName}/reject/${msg.eventId}`, payload))
        return
      }
      if (msg.type === 'addEventListener') sheets.push({ functionName: msg.functionName, eventId: msg.eventId })
      host.postMessage(raw)
    },
  }
  return {
    reject(functionName: string, payload: unknown) {
      rejects.set(functionName, [...(rejects.get(functionName) ?? []), payload])
    },
    sheets,
    /** Emits `payload` as an event (or, with `error`, an error) of the last sheet opened. */
    emitToSheet(payload: unknown, channel: 'onEvent' | 'onError' = 'onEvent') {
      const sheet = sheets.at(-1)
      if (!sheet) throw new Error('no payment sheet is open')
      emit(`${sheet.functionName}/${channel}/${sheet.eventId}`, payload)
    },
    restore() {
      win.ReactNativeWebView = host
    },
  }
}

const CODES: ReadonlySet<string> = new Set<string>([...TOSS_ERROR_CODES, ...PACKAGE_ERROR_CODES])

/** A typed IapError with one of the documented codes. */
export function expectTypedError(error: unknown, what: string) {
  expect(isIapError(error), `${what}: an IapError, got ${String(error)}`).toBe(true)
  expect(CODES.has((error as { code: string }).code), `${what}: a documented code`).toBe(true)
}

/**
 * Lets `promise` run for `ms` of fake time and says how it settled; fails when it did not
 * (a hang).
 */
export async function settleWithin<T>(promise: Promise<T>, ms: number, what: string) {
  let result: { ok: true; value: T } | { ok: false; error: unknown } | undefined
  promise.then(
    (value) => (result = { ok: true, value }),
    (error: unknown) => (result = { ok: false, error }),
  )
  await vi.advanceTimersByTimeAsync(ms)
  expect(result, `${what} settles within ${ms} ms`).toBeDefined()
  return result!
}

/** A valid orderId, as a grant may see it. */
export const isCleanOrderId = (id: unknown) =>
  typeof id === 'string' && id.length > 0 && id.length <= 10_000 && !/[\s\u0000-\u001f\u007f]/.test(id)
