// The orderId rule: what the docs state, in every place that states it, is what every entry point
// enforces, page and server alike (readOrderId).
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IapError, ORDER_ID_RULE, readOrderId, requireOrderId } from '../../src/core/errors.ts'
import { normalizePendingOrders } from '../../src/core/normalize.ts'
import {
  createGrantLedger,
  createTossPartnerClient,
  parseGrantOrder,
  parseSubscriptionEvent,
  reconcile,
  TossApiError,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { startFakeTossPartnerApi, subscriptionStatusChanged, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { openPGlite } from './pglite.ts'

/** Each row: a value, and whether the documented rule accepts it. */
const TABLE: Array<[string, unknown, boolean]> = [
  ['empty', '', false],
  ['1 character', 'a', true],
  ['a UUID, as Toss documents', '0f8fad5b-d9cb-469f-a165-70867728950e', true],
  ['an upper-case UUID', '0F8FAD5B-D9CB-469F-A165-70867728950E', true],
  ['a ULID', '01HZX3M8Q0V4T7KX9B2C5D6E7F', true],
  ['separators of other id formats', 'ord_2030.08:alpha-1', true],
  ['base64url without padding', 'q-_Zx09AbC', true],
  ['dots alone (an id is data, never a path)', '..', true],
  ['128 characters', 'a'.repeat(128), true],
  ['129 characters', 'a'.repeat(129), false],
  ['200 characters (the old limit)', 'x'.repeat(200), false],
  ['a path', 'order/../../admin', false],
  ['markup', 'order<script>', false],
  ['a backslash', 'a\\b', false],
  ['percent-encoding', 'a%2Fb', false],
  ['a query', 'a?b', false],
  ['a fragment', 'a#b', false],
  ['an ampersand', 'a&b', false],
  ['a quote', "a'b", false],
  ['a double quote', 'a"b', false],
  ['base64 padding', 'YQ==', false],
  ['a plus', 'a+b', false],
  ['a leading space', ' a', false],
  ['a space inside', 'a b', false],
  ['a newline', 'a\n', false],
  ['a tab', '\t', false],
  ['a NUL', 'a\u0000', false],
  ['a zero-width space', 'a\u200bb', false],
  ['Hangul', '주문1', false],
  ['a full-width letter', '\uff41', false],
  ['an accented letter', 'caf\u00e9', false],
  ['the Kelvin sign, a K look-alike', '\u212a', false],
  ['null', null, false],
  ['a number', 42, false],
  ['an object', { orderId: 'a' }, false],
]

/**
 * Reads the rule a doc states in prose (`min`, `max`, and the `extra` characters beside ASCII
 * letters and digits) and every regular expression for it the doc writes out.
 */
function statedRule(file: string, prose: RegExp) {
  const text = readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8')
  const groups = text.match(prose)?.groups
  if (!groups) throw new Error(`${file} does not state the orderId rule as this test reads it`)
  const others = groups.extra!.split(' ')
  const accepts = (v: unknown) =>
    typeof v === 'string' &&
    v.length >= Number(groups.min) &&
    v.length <= Number(groups.max) &&
    [...v].every((c) => /^[A-Za-z0-9]$/.test(c) || others.includes(c))
  const literals = [...text.matchAll(/`(\/\^\[[^`]*\/)`/g)].map((m) => m[1])
  return { accepts, literals }
}

const DOCS = [
  statedRule(
    'server.md',
    /Order ids must be (?<min>\d+)–(?<max>\d+) characters, each an ASCII letter, a digit or one of `(?<extra>[^`]+)`/,
  ),
  statedRule('server.ko.md', /주문 ID는 (?<min>\d+)–(?<max>\d+)자이고, 각 글자는 ASCII 영문자, 숫자, `(?<extra>[^`]+)` 중 하나/),
  statedRule('reference.md', /an orderId outside (?<min>\d+)–(?<max>\d+) letters, digits and `(?<extra>[^`]+)`/),
  statedRule('reference.ko.md', /영문자·숫자·`(?<extra>[^`]+)`로 된 (?<min>\d+)–(?<max>\d+)자가 아닌 orderId/),
]

describe('the documented orderId rule', () => {
  it('is the regular expression the code uses, wherever a doc writes it out', () => {
    const code = ORDER_ID_RULE.replace('orderId must match ', '')
    expect(code).toBe('/^[A-Za-z0-9_.:-]{1,128}$/')
    const written = DOCS.flatMap((d) => d.literals)
    expect(written.length).toBeGreaterThanOrEqual(2)
    for (const literal of written) expect(literal).toBe(code)
  })

  it.each(TABLE)('%s: what every doc states is what readOrderId does', (_, value, accepted) => {
    for (const doc of DOCS) expect(doc.accepts(value)).toBe(accepted)
    expect(readOrderId(value)).toBe(accepted ? value : null)
  })
})

describe('every entry point applies it', () => {
  let api: FakeTossPartnerApi
  let toss: TossPartnerClient
  beforeAll(async () => {
    api = await startFakeTossPartnerApi()
    toss = createTossPartnerClient({ ...api.clientOptions(), retry: false })
  })
  afterAll(async () => {
    toss?.close()
    await api?.close()
  })

  const event = subscriptionStatusChanged({
    orderId: 'x',
    at: new Date('2030-08-01T00:00:00Z'),
    changeReason: 'PURCHASED',
    current: { status: 'ACTIVE', accessGranted: true },
  })

  it.each(TABLE)('%s: page, fulfilment body, webhook body and order-status agree', async (_, value, accepted) => {
    // The page: an app's call, and the pending list recovery reads.
    if (accepted) expect(requireOrderId(value)).toBe(value)
    else expect(() => requireOrderId(value)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as IapError)
    const pending = normalizePendingOrders({ orders: [{ orderId: value, sku: 'coins' }], orderIds: [value] })
    expect(pending.map((o) => o.orderId)).toEqual(accepted ? [value] : [])

    // The server: the body the page posts, and the body Toss posts.
    const grant = parseGrantOrder({ orderId: value, sku: 'coins' })
    expect(grant.ok).toBe(accepted)
    if (!grant.ok && typeof value === 'string' && value !== '') expect(grant.message).toBe(ORDER_ID_RULE)
    const parsed = parseSubscriptionEvent({ ...event, orderId: value })
    expect(parsed.ok).toBe(accepted)
    if (!parsed.ok) expect(parsed.message).toBe(ORDER_ID_RULE)

    // Order-status: a refused id never reaches Toss.
    const before = api.requests.length
    const asked = toss.getOrderStatus(value as string, { userKey: 'tk-1' }).then(
      () => null,
      (error: unknown) => error,
    )
    const error = await asked
    if (accepted) {
      expect(error === null || (error instanceof TossApiError && error.code !== 'INVALID_ARGUMENT')).toBe(true)
      expect(api.requests.length).toBe(before + 1)
    } else {
      expect(error).toBeInstanceOf(TossApiError)
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(ORDER_ID_RULE) })
      expect(api.requests.length).toBe(before)
    }
  })

  it('reconcile reports a ledger row from before the rule as failed, without spending a request on it', async () => {
    const { db, close } = await openPGlite()
    try {
      const ledger = await createGrantLedger(db)
      for (const orderId of ['order/../../admin', 'a'.repeat(150), 'ok-1'])
        await ledger.grant({ orderId, userId: 'u', sku: 'coins', kind: 'one-time', tossStatus: 'PAYMENT_COMPLETED', userKey: 'tk-u' })
      const before = api.requests.length
      const summary = await reconcile({ ledger, toss, onRevoke: () => {} })
      // Granted in this order, so reconciled in this order: two failed, one asked.
      expect(summary.failed).toEqual([
        { orderId: 'order/../../admin', code: 'INVALID_ARGUMENT' },
        { orderId: 'a'.repeat(150), code: 'INVALID_ARGUMENT' },
      ])
      expect(summary.requests).toBe(1)
      expect(api.requests.length).toBe(before + 1)
    } finally {
      await close()
    }
  })
})
