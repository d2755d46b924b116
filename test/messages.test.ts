import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { IapError, PACKAGE_ERROR_CODES, TOSS_ERROR_CODES, type IapErrorCode, type PurchaseStatus } from '../src'
import { en, ko, messageFor, messages, outcomeMessage, type MessageLocale } from '../src/messages'

// `vue-toss-iap/messages`: text a user can be shown for every code and status.

const CODES = [...TOSS_ERROR_CODES, ...PACKAGE_ERROR_CODES]
const STATUSES: PurchaseStatus[] = ['idle', 'purchasing', 'granting', 'granted', 'completed', 'pending', 'canceled', 'failed']
const HANGUL = /[\uac00-\ud7a3]/
const LOCALES: MessageLocale[] = ['ko', 'en']

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
    for (const locale of LOCALES) {
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

// Every `code` the server half can put in a JSON error body, read from its source, so that a code
// added there without a message here fails this test (the `Record` type catches it only when the
// code is also added to the `ServerErrorCode` union).
function serverCodesInSource(): { inUnion: string[]; answered: string[] } {
  const dir = 'src/server'
  const source = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(`${dir}/${f}`, 'utf8'))
    .join('\n')
  const union = /export type ServerErrorCode =([\s\S]*?)\n\n/.exec(readFileSync(`${dir}/http.ts`, 'utf8'))![1]!
  const inUnion = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!)
  const answered = new Set<string>()
  const patterns = [
    /error(?:Response|Answer)\(\s*[^,]+,\s*'([A-Z_]+)'/g, // errorResponse(404, 'ORDER_NOT_FOUND', …) or errorAnswer(…)
    /\banswer\(\s*\d+,\s*'([A-Z_]+)'/g, // the fulfilment handler's Toss-failure answers
    /new BodyError\(\s*\d+,\s*'([A-Z_]+)'/g, // body reading
    /error:\s*\{\s*code:\s*'([A-Z_]+)'/g, // a body written by hand (toNodeListener)
  ]
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) answered.add(m[1]!)
  return { inUnion, answered: [...answered].sort() }
}

describe('server error messages', () => {
  const { inUnion, answered } = serverCodesInSource()

  it('finds the codes the server answers in its source', () => {
    // The reading above works: these are answered by three different paths.
    expect(answered).toEqual(expect.arrayContaining(['ORDER_NOT_FOUND', 'TOSS_TIMEOUT', 'BODY_TOO_LARGE', 'INTERNAL', 'INVALID_EVENT']))
    expect(answered.length).toBeGreaterThanOrEqual(25)
  })

  it('every code the server answers is in ServerErrorCode and has a Korean and an English message', () => {
    for (const code of answered) expect(inUnion, `${code} is answered but not in ServerErrorCode`).toContain(code)
    for (const code of new Set([...answered, ...inUnion])) {
      expect(ko.serverErrors[code as keyof typeof ko.serverErrors], `ko ${code}`).toMatch(HANGUL)
      expect(en.serverErrors[code as keyof typeof en.serverErrors], `en ${code}`).toMatch(/^[A-Z][^\uac00-\ud7a3]+[.]$/)
    }
    expect(Object.keys(ko.serverErrors).sort()).toEqual([...inUnion].sort())
    expect(Object.keys(en.serverErrors).sort()).toEqual([...inUnion].sort())
  })

  it('messageFor reads a server code or a server error body', () => {
    expect(messageFor('UNAUTHENTICATED')).toBe('로그인이 필요해요. 다시 로그인해 주세요.')
    expect(messageFor({ error: { code: 'ORDER_IN_PROGRESS' } }, 'en')).toBe(en.serverErrors.ORDER_IN_PROGRESS)
    expect(messageFor({ error: { code: 'NOT_A_CODE' } } as never, 'en')).toBe(en.errors.UNKNOWN)
    expect(messageFor({ error: null } as never)).toBe(ko.errors.UNKNOWN)
  })
})

// What makes one message contradict itself: it says nothing was paid (or that it failed) and, at
// once, that the product is paid for or will be delivered.
const CONTRADICTIONS: Record<MessageLocale, [RegExp, RegExp][]> = {
  ko: [
    [/실패|결제된 금액은 없어요|결제된 금액 없음/, /지급돼요|지급됐어요|결제는 완료|결제됐어요/],
    [/취소/, /지급돼요|지급됐어요/],
  ],
  en: [
    [/\bfail|nothing was charged/i, /will be delivered|\bdelivered\b|\bpaid\.|It is yours/i],
    [/\bclosed the payment sheet|stopped/i, /will be delivered|It is yours/i],
  ],
}

/** Why `text` contradicts itself, or `null`. */
function contradiction(text: string, locale: MessageLocale): string | null {
  for (const [a, b] of CONTRADICTIONS[locale]) if (a.test(text) && b.test(text)) return `${a} next to ${b}`
  const sentences = text
    .split(/(?<=[.!?…])\s+/)
    .map((s) => s.trim())
    .filter(Boolean)
  if (new Set(sentences).size !== sentences.length) return 'a sentence said twice'
  return null
}

// Statuses in which Toss has taken payment: the message must never invite a new purchase.
const PAID: PurchaseStatus[] = ['granting', 'granted', 'completed', 'pending']

describe('outcomeMessage: one message for a whole outcome', () => {
  const errors: (IapErrorCode | null)[] = [null, ...CODES]

  it('the checker catches the two contradictions the README used to print', () => {
    // The old way: the status label next to the error text. Without outcomeMessage, these are what
    // a product page showed.
    expect(contradiction(`${messageFor('failed')} ${messageFor('PAYMENT_PENDING')}`, 'ko')).not.toBeNull()
    expect(contradiction(`${messageFor('failed', 'en')} ${messageFor('PAYMENT_PENDING', 'en')}`, 'en')).not.toBeNull()
    const twice = `${ko.outcomes.pending} ${ko.errors.GRANT_FAILED}`
    expect(contradiction(twice, 'ko')).toBe('a sentence said twice')
  })

  it('never contradicts itself, for every status × error code, in Korean and English', () => {
    const bad: string[] = []
    for (const locale of LOCALES)
      for (const status of STATUSES)
        for (const code of errors) {
          const error = code === null ? null : new IapError(code, 'x')
          const text = outcomeMessage({ status, error }, locale)
          const why = contradiction(text, locale)
          if (why) bad.push(`${locale} ${status} ${code}: "${text}" (${why})`)
          if ((status === 'idle') !== (text === '')) bad.push(`${locale} ${status} ${code}: empty is only for idle`)
          if (locale === 'ko' && text && !HANGUL.test(text)) bad.push(`ko ${status} ${code}: not Korean`)
          if (locale === 'en' && HANGUL.test(text)) bad.push(`en ${status} ${code}: not English`)
          // A paid order: never "nothing was charged", "failed", or "try again" (a second purchase).
          if (PAID.includes(status) && /금액은 없어요|실패|다시 시도|nothing was charged|fail|try again/i.test(text))
            bad.push(`${locale} ${status} ${code}: "${text}" reads as unpaid`)
        }
    expect(bad).toEqual([])
  })

  it('says what each outcome means', () => {
    const e = (code: IapErrorCode) => new IapError(code, 'x')
    expect(outcomeMessage({ status: 'failed', error: e('PAYMENT_PENDING') })).toBe('결제 승인을 기다리고 있어요. 승인되면 자동으로 지급돼요.')
    expect(outcomeMessage({ status: 'pending', error: e('GRANT_FAILED') })).toBe('결제는 완료됐어요. 상품은 곧 자동으로 지급돼요.')
    expect(outcomeMessage({ status: 'pending', error: e('NETWORK_ERROR') }, 'en')).toBe('Paid. It will be delivered automatically shortly.')
    expect(outcomeMessage({ status: 'failed', error: e('ITEM_ALREADY_OWNED') })).toBe('이미 가지고 있는 상품이에요.')
    expect(outcomeMessage({ status: 'failed', error: null })).toBe('구매하지 못했어요. 결제된 금액은 없어요.')
    expect(outcomeMessage({ status: 'canceled', error: e('ABORTED') }, 'en')).toBe('The purchase was stopped. Nothing was charged.')
    expect(outcomeMessage({ status: 'completed', error: null })).toBe('구매가 끝났어요. 상품이 지급됐어요.')
    // A granted order whose confirmation at Toss failed is still the user's.
    expect(outcomeMessage({ status: 'granted', error: e('NETWORK_ERROR') }, 'en')).toBe('Delivered. It is yours.')
    expect(outcomeMessage({ status: 'idle' })).toBe('')
    expect(outcomeMessage(null)).toBe('')
    expect(outcomeMessage({ status: 'SOMETHING_NEW' as never }, 'en')).toBe('')
  })
})
