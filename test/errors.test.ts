import { describe, expect, it } from 'vitest'
import { IapError, isCancellation, isIapError, toIapError } from '../src'

describe('toIapError', () => {
  it.each([
    ['a 2.x Error with a code', Object.assign(new Error('sheet closed'), { code: 'USER_CANCELED' }), 'USER_CANCELED'],
    ['a bare Error naming the code', new Error('ITEM_ALREADY_OWNED'), 'ITEM_ALREADY_OWNED'],
    ['a plain object', { code: 'PAYMENT_PENDING', message: 'wait' }, 'PAYMENT_PENDING'],
    ['a string', 'NETWORK_ERROR', 'NETWORK_ERROR'],
    ['the SDK browser error', new Error('ReactNativeWebView is not available in browser environment'), 'UNSUPPORTED_ENVIRONMENT'],
    ['the SDK constant error', new Error('getOperationalEnvironment is not a constant handler'), 'UNSUPPORTED_ENVIRONMENT'],
    ['an unknown code', { code: 'NEW_THING' }, 'UNKNOWN'],
    ['nothing at all', undefined, 'UNKNOWN'],
    ['null', null, 'UNKNOWN'],
    ['a number', 42, 'UNKNOWN'],
  ])('reads %s', (_, raw, code) => {
    const error = toIapError(raw)
    expect(error).toBeInstanceOf(IapError)
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe(code)
    expect(error.cause).toBe(raw)
    expect(error.name).toBe('IapError')
    expect(error.message).toMatch(/^\[vue-toss-iap\] /)
  })

  it('keeps an IapError as it is', () => {
    const error = new IapError('TIMEOUT', 'x')
    expect(toIapError(error)).toBe(error)
  })

  it('tells cancellation apart from failure', () => {
    expect(isCancellation(toIapError({ code: 'USER_CANCELED' }))).toBe(true)
    expect(isCancellation(new IapError('ABORTED', 'x'))).toBe(true)
    expect(isCancellation(toIapError({ code: 'NETWORK_ERROR' }))).toBe(false)
    expect(isIapError(new IapError('TIMEOUT', 'x'), 'TIMEOUT')).toBe(true)
    expect(isIapError(new Error('x'))).toBe(false)
  })
})

describe('codes a host may send', () => {
  it.each(['ABORTED', 'TIMEOUT', 'GRANT_FAILED', 'UNKNOWN'])('%s, one of this package’s own codes, is read as UNKNOWN: a host cannot pass a failure off as a cancellation', (code) => {
    const error = toIapError({ code, message: 'from the host' })
    expect(error.code).toBe('UNKNOWN')
    expect(isCancellation(error)).toBe(false)
    expect(error.message).toContain('from the host')
  })
})
