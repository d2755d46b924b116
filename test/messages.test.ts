import { describe, expect, it } from 'vitest'
import { IapError, PACKAGE_ERROR_CODES, TOSS_ERROR_CODES, type PurchaseStatus } from '../src'
import { en, ko, messageFor, messages } from '../src/messages'

// `vue-toss-iap/messages`: text a user can be shown for every code and status.

const CODES = [...TOSS_ERROR_CODES, ...PACKAGE_ERROR_CODES]
const STATUSES: PurchaseStatus[] = ['idle', 'purchasing', 'granting', 'granted', 'completed', 'pending', 'canceled', 'failed']
const HANGUL = /[\uac00-\ud7a3]/

describe('messages', () => {
  it('has Korean and English text for every error code, and no text for a code that does not exist', () => {
    for (const code of CODES) {
      expect(ko.errors[code], code).toMatch(HANGUL)
      expect(en.errors[code], code).toMatch(/^[A-Z][^\uac00-\ud7a3]+[.]$/)
    }
    expect(Object.keys(ko.errors).sort()).toEqual([...CODES].sort())
    expect(Object.keys(en.errors).sort()).toEqual([...CODES].sort())
  })

  it('has a label for every purchase status; only idle is empty', () => {
    for (const locale of ['ko', 'en'] as const) {
      expect(Object.keys(messages[locale].statuses).sort()).toEqual([...STATUSES].sort())
      for (const status of STATUSES) expect(messages[locale].statuses[status] === '', `${locale} ${status}`).toBe(status === 'idle')
    }
    for (const status of STATUSES.filter((s) => s !== 'idle')) expect(ko.statuses[status]).toMatch(HANGUL)
  })

  it('messageFor reads codes, statuses and errors, in Korean unless told otherwise', () => {
    expect(messageFor('ITEM_ALREADY_OWNED')).toBe('이미 가지고 있는 상품이에요.')
    expect(messageFor('ITEM_ALREADY_OWNED', 'en')).toBe('You already own this.')
    expect(messageFor('pending')).toBe(ko.statuses.pending)
    expect(messageFor('failed', 'en')).toBe('Failed; nothing was charged')
    expect(messageFor(new IapError('USER_CANCELED', 'closed'), 'en')).toBe('You closed the payment sheet. Nothing was charged.')
    expect(messageFor(null)).toBe('')
    expect(messageFor(undefined, 'en')).toBe('')
    // A code from a newer host that this version does not know.
    expect(messageFor('SOMETHING_NEW' as never, 'en')).toBe(en.errors.UNKNOWN)
    expect(messageFor('toString' as never, 'en')).toBe(en.errors.UNKNOWN)
  })
})
