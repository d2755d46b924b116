import type { GrantLedger, GrantRecord, GrantTransaction, SqlQueryable } from './ledger.js'

const ENTRIES = 'toss_iap_balance_entries'
const BALANCES = 'toss_iap_balances'

/**
 * What a refund does to a balance whose credit was already (partly) spent:
 * - `'negative'`: the whole credit is taken back; the balance may go below zero, and no spend
 *   succeeds until purchases bring it back above the amount.
 * - `'clamp'`: the balance stops at zero; the reversal takes back only what is left and is flagged
 *   (`flagged: true`), so an operator sees what the user kept.
 */
export type RefundPolicy = 'negative' | 'clamp'

/** What each sku credits: `{ 'gem-100': { gems: 100 } }`, or a function of the sku (Toss's sku, as the ledger records it). */
export type CreditTable = Record<string, Record<string, number>> | ((sku: string) => Record<string, number> | null | undefined)

export interface BalancesOptions {
  ledger: GrantLedger
  /** What each sku credits. Only the skus named here credit anything. */
  credits: CreditTable
  /** Default `'negative'`: a refunded purchase never leaves the user its gems. */
  refundPolicy?: RefundPolicy
}

/** One journal entry. Entries are only ever added; the balance is their sum. */
export interface BalanceEntry {
  id: number
  userId: string
  currency: string
  kind: 'credit' | 'spend' | 'reversal'
  /** Signed: positive for a credit, negative for a spend or a reversal. */
  amount: number
  /** The balance right after this entry. */
  balanceAfter: number
  reason: string | null
  idempotencyKey: string | null
  orderId: string | null
  /** A `'clamp'` reversal that took back less than the credit (the rest was spent). */
  flagged: boolean
  createdAt: Date
}

export interface SpendRequest {
  userId: string
  currency: string
  /** A positive whole number. */
  amount: number
  /** Why, for the journal (at most 200 characters). */
  reason: string
  /** One per spend the user meant (the page makes one per tap): the same key never spends twice. */
  idempotencyKey: string
}

/** How a spend ended. Nothing is written unless `status` is `'spent'` and `repeat` is `false`. */
export type SpendResult =
  /** Spent (`repeat: false`), or spent before by the same key (`repeat: true`: the first answer again). */
  | { status: 'spent'; repeat: boolean; entry: BalanceEntry; balance: number }
  /** The balance is less than the amount (or below zero after a refund): nothing was written. */
  | { status: 'insufficient'; balance: number }
  /** The key already spent something else (another currency or amount): nothing was written. */
  | { status: 'key-reused'; entry: BalanceEntry }

export interface Balances {
  readonly ledger: GrantLedger
  readonly refundPolicy: RefundPolicy
  /** The currencies the credit table names (empty when it is a function). */
  readonly currencies: readonly string[]
  /** What a sku credits (`{}` for none). */
  creditsOf(sku: string): Record<string, number>
  /**
   * Credits what the order's sku credits, in `tx` (the grant's transaction): the fulfilment
   * handler calls it from the grant, so a credit is written exactly when the grant is. A second
   * call for the same order throws (the journal allows one credit per order and currency).
   */
  credit(order: GrantRecord, tx: GrantTransaction): Promise<BalanceEntry[]>
  /**
   * Takes back the order's credits, in `tx` (the revoke's transaction), once, following
   * `refundPolicy`. Reads what was credited from the journal, not from today's credit table.
   */
  reverse(order: GrantRecord, tx: GrantTransaction): Promise<BalanceEntry[]>
  /**
   * Spends once per key, never below zero, atomically across processes (the balance row is locked
   * for the check and the write). Runs in `tx` when given (your own transaction: it commits or rolls
   * back with it), else in a transaction of its own. Throws `RangeError` for a malformed request.
   */
  spend(request: SpendRequest, tx?: SqlQueryable): Promise<SpendResult>
  /** The user's balance in a currency (`0` when nothing was ever credited). */
  balanceOf(userId: string, currency: string, tx?: SqlQueryable): Promise<number>
  /** Every balance of the user, the declared currencies included (at `0`). */
  balancesOf(userId: string, tx?: SqlQueryable): Promise<Record<string, number>>
  /** The user's journal, newest first (at most `limit`, default 100). */
  journal(userId: string, options?: { currency?: string; limit?: number }): Promise<BalanceEntry[]>
}

interface EntryRow {
  id: string | number | bigint
  user_id: string
  currency: string
  kind: BalanceEntry['kind']
  amount: string | number | bigint
  balance_after: string | number | bigint
  reason: string | null
  idempotency_key: string | null
  order_id: string | null
  flagged: boolean
  created_at: Date
}

const toEntry = (r: EntryRow): BalanceEntry => ({
  id: Number(r.id),
  userId: r.user_id,
  currency: r.currency,
  kind: r.kind,
  amount: Number(r.amount),
  balanceAfter: Number(r.balance_after),
  reason: r.reason,
  idempotencyKey: r.idempotency_key,
  orderId: r.order_id,
  flagged: r.flagged,
  createdAt: r.created_at,
})

/** Largest amount a spend or credit may carry (far below 2^53: sums stay exact). */
export const MAX_AMOUNT = 1_000_000_000
export const CURRENCY = /^[A-Za-z0-9_.-]{1,64}$/
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/

/** Why a spend request is malformed, or `null`. The spend handler answers it as `INVALID_SPEND`. */
export function spendProblem(r: Partial<SpendRequest>): string | null {
  if (typeof r.userId !== 'string' || r.userId === '') return 'userId is required'
  if (typeof r.currency !== 'string' || !CURRENCY.test(r.currency)) return 'currency must be 1 to 64 letters, digits, _ . or -'
  if (typeof r.amount !== 'number' || !Number.isInteger(r.amount) || r.amount < 1 || r.amount > MAX_AMOUNT)
    return `amount must be a whole number from 1 to ${MAX_AMOUNT}`
  if (typeof r.reason !== 'string' || r.reason.trim() === '' || r.reason.length > 200)
    return 'reason must be a non-empty string of at most 200 characters'
  if (typeof r.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(r.idempotencyKey))
    return 'the idempotency key must be 8 to 128 letters, digits, _ . : or - (a UUID fits)'
  return null
}

/**
 * Consumables as a balance, in the ledger's database (schema 4): an append-only journal of
 * credits, spends and reversals, and a cached balance per user and currency written in the same
 * transaction as each entry. Give it to `createFulfilmentHandler({ balances })` (credit on grant),
 * `reconcile({ balances })` (refunds follow) and the balance and spend handlers.
 */
export function createBalances(options: BalancesOptions): Balances {
  const { ledger } = options
  if (ledger.schemaVersion < 4)
    throw new TypeError('vue-toss-iap/server: balances need the ledger schema 4 (update vue-toss-iap on every server)')
  const refundPolicy = options.refundPolicy ?? 'negative'
  if (refundPolicy !== 'negative' && refundPolicy !== 'clamp')
    throw new TypeError(`vue-toss-iap/server: refundPolicy must be 'negative' or 'clamp', not ${String(refundPolicy)}`)
  const table = options.credits
  const check = (sku: string, credits: Record<string, number>) => {
    for (const [currency, amount] of Object.entries(credits)) {
      if (!CURRENCY.test(currency))
        throw new TypeError(`vue-toss-iap/server: credits of ${sku}: ${JSON.stringify(currency)} is not a currency name`)
      if (!Number.isInteger(amount) || amount < 1 || amount > MAX_AMOUNT)
        throw new TypeError(`vue-toss-iap/server: credits of ${sku}: ${currency} must be a whole number from 1 to ${MAX_AMOUNT}`)
    }
    return credits
  }
  if (typeof table !== 'function') for (const [sku, credits] of Object.entries(table)) check(sku, credits)
  const currencies = typeof table === 'function' ? [] : [...new Set(Object.values(table).flatMap((c) => Object.keys(c)))].sort()
  const creditsOf = (sku: string) =>
    typeof table === 'function' ? check(sku, table(sku) ?? {}) : Object.hasOwn(table, sku) ? table[sku]! : {}

  const insertEntry = async (
    q: SqlQueryable,
    e: { userId: string; currency: string; kind: BalanceEntry['kind']; amount: number; balanceAfter: number } & Partial<
      Pick<BalanceEntry, 'reason' | 'idempotencyKey' | 'orderId' | 'flagged'>
    >,
    onConflict = '',
  ) => {
    const { rows } = await q.query<EntryRow>(
      `INSERT INTO ${ENTRIES} (user_id, currency, kind, amount, balance_after, reason, idempotency_key, order_id, flagged)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ${onConflict} RETURNING *`,
      [
        e.userId,
        e.currency,
        e.kind,
        e.amount,
        e.balanceAfter,
        e.reason ?? null,
        e.idempotencyKey ?? null,
        e.orderId ?? null,
        e.flagged ?? false,
      ],
    )
    return rows[0] ? toEntry(rows[0]) : null
  }
  /** Adds `delta` to the cached balance (creating the row), under the row lock; the new balance. */
  const add = async (q: SqlQueryable, userId: string, currency: string, delta: number) => {
    const { rows } = await q.query<{ balance: string }>(
      `INSERT INTO ${BALANCES} (user_id, currency, balance) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, currency) DO UPDATE SET balance = ${BALANCES}.balance + EXCLUDED.balance, updated_at = now()
       RETURNING balance`,
      [userId, currency, delta],
    )
    return Number(rows[0]!.balance)
  }
  const byKey = async (q: SqlQueryable, userId: string, key: string) => {
    const { rows } = await q.query<EntryRow>(`SELECT * FROM ${ENTRIES} WHERE user_id = $1 AND idempotency_key = $2`, [userId, key])
    return rows[0] ? toEntry(rows[0]) : null
  }
  const answerFor = (entry: BalanceEntry, r: SpendRequest): SpendResult =>
    entry.currency === r.currency && -entry.amount === r.amount
      ? { status: 'spent', repeat: true, entry, balance: entry.balanceAfter }
      : { status: 'key-reused', entry }

  const spendIn = async (q: SqlQueryable, r: SpendRequest): Promise<SpendResult> => {
    // The row lock serialises every spend of this balance, in every process, from here to commit.
    const { rows } = await q.query<{ balance: string }>(`SELECT balance FROM ${BALANCES} WHERE user_id = $1 AND currency = $2 FOR UPDATE`, [
      r.userId,
      r.currency,
    ])
    const balance = rows[0] ? Number(rows[0].balance) : 0
    // Read after the lock: a spend of this key that held it has committed (or rolled back) by now.
    const earlier = await byKey(q, r.userId, r.idempotencyKey)
    if (earlier) return answerFor(earlier, r)
    if (balance < r.amount) return { status: 'insufficient', balance }
    // The unique key index is the last word (the same key in another currency holds another row lock).
    const entry = await insertEntry(
      q,
      {
        userId: r.userId,
        currency: r.currency,
        kind: 'spend',
        amount: -r.amount,
        balanceAfter: balance - r.amount,
        reason: r.reason,
        idempotencyKey: r.idempotencyKey,
      },
      'ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING',
    )
    if (!entry) return answerFor((await byKey(q, r.userId, r.idempotencyKey))!, r)
    await q.query(`UPDATE ${BALANCES} SET balance = $3, updated_at = now() WHERE user_id = $1 AND currency = $2`, [
      r.userId,
      r.currency,
      entry.balanceAfter,
    ])
    return { status: 'spent', repeat: false, entry, balance: entry.balanceAfter }
  }

  const balanceOf = async (userId: string, currency: string, q: SqlQueryable = ledger) => {
    const { rows } = await q.query<{ balance: string }>(`SELECT balance FROM ${BALANCES} WHERE user_id = $1 AND currency = $2`, [
      userId,
      currency,
    ])
    return rows[0] ? Number(rows[0].balance) : 0
  }

  return {
    ledger,
    refundPolicy,
    currencies,
    creditsOf,
    credit: async (order, tx) => {
      const entries: BalanceEntry[] = []
      for (const [currency, amount] of Object.entries(creditsOf(order.sku)).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const balanceAfter = await add(tx, order.userId, currency, amount)
        entries.push(
          (await insertEntry(tx, {
            userId: order.userId,
            currency,
            kind: 'credit',
            amount,
            balanceAfter,
            orderId: order.orderId,
            reason: `purchase ${order.sku}`,
          }))!,
        )
      }
      return entries
    },
    reverse: async (order, tx) => {
      const { rows } = await tx.query<EntryRow>(`SELECT * FROM ${ENTRIES} WHERE order_id = $1 AND kind = 'credit' ORDER BY currency`, [
        order.orderId,
      ])
      const entries: BalanceEntry[] = []
      for (const credit of rows.map(toEntry)) {
        // Locks the balance row (created at the credit): spends wait, and see the reversal.
        const { rows: held } = await tx.query<{ balance: string }>(
          `SELECT balance FROM ${BALANCES} WHERE user_id = $1 AND currency = $2 FOR UPDATE`,
          [credit.userId, credit.currency],
        )
        const balance = held[0] ? Number(held[0].balance) : 0
        const take = refundPolicy === 'negative' ? credit.amount : Math.min(credit.amount, Math.max(balance, 0))
        const entry = await insertEntry(
          tx,
          {
            userId: credit.userId,
            currency: credit.currency,
            kind: 'reversal',
            amount: -take,
            balanceAfter: balance - take,
            orderId: order.orderId,
            reason: `refund ${order.sku}`,
            flagged: take < credit.amount,
          },
          'ON CONFLICT (order_id, currency, kind) WHERE order_id IS NOT NULL DO NOTHING',
        )
        if (!entry) continue // reversed before
        await add(tx, credit.userId, credit.currency, -take)
        entries.push(entry)
      }
      return entries
    },
    spend: async (request, tx) => {
      const problem = spendProblem(request)
      if (problem) throw new RangeError(`vue-toss-iap/server: spend: ${problem}`)
      return tx ? spendIn(tx, request) : ledger.transaction((t) => spendIn(t, request))
    },
    balanceOf,
    balancesOf: async (userId, q = ledger) => {
      const { rows } = await q.query<{ currency: string; balance: string }>(
        `SELECT currency, balance FROM ${BALANCES} WHERE user_id = $1 ORDER BY currency`,
        [userId],
      )
      const all: Record<string, number> = Object.fromEntries(currencies.map((c) => [c, 0]))
      for (const r of rows) all[r.currency] = Number(r.balance)
      return all
    },
    journal: async (userId, { currency, limit = 100 } = {}) => {
      const { rows } = await ledger.query<EntryRow>(
        `SELECT * FROM ${ENTRIES} WHERE user_id = $1 ${currency === undefined ? '' : 'AND currency = $3'} ORDER BY id DESC LIMIT $2`,
        currency === undefined ? [userId, limit] : [userId, limit, currency],
      )
      return rows.map(toEntry)
    },
  }
}
