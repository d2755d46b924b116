import type { GrantOrderKind } from '../core/types.js'

/** A query runner: a PGlite transaction, a pooled `pg` client, or the ledger's own wrapper of them. */
export interface SqlQueryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>
}

/** The transaction `onGrant` runs in: write the product here and it commits with the ledger row. */
export type GrantTransaction = SqlQueryable

/** A PGlite instance (only what the ledger uses of it). */
export interface PGliteLike extends SqlQueryable {
  transaction<T>(callback: (tx: SqlQueryable) => Promise<T>): Promise<T>
}

/** A `pg` Pool (only what the ledger uses of it). A single `pg.Client` is refused: it cannot run concurrent transactions. */
export interface PgPoolLike extends SqlQueryable {
  connect(): Promise<SqlQueryable & { release(error?: Error | boolean): void }>
  readonly totalCount: number
}

/** Where an order stands in the ledger. `#10` (webhooks, refunds) adds states; unknown ones are kept. */
export type GrantState = 'granted' | 'refunded' | (string & {})

/** One ledger row: an order granted to a user, once. */
export interface GrantRecord {
  orderId: string
  /** The app's user the order belongs to: the first one who claimed it. */
  userId: string
  /** The sku Toss answered for the order (the client's only when Toss gave none). */
  sku: string
  kind: GrantOrderKind
  subscriptionId: string | null
  state: GrantState
  /** Toss's status when last asked, as Toss spelled it. */
  tossStatus: string
  tossStatusAt: Date | null
  /** `purchase` or `recovery`, as the page said. */
  source: string | null
  grantedAt: Date
  refundedAt: Date | null
  updatedAt: Date
  /** Last known subscription state (set by the subscription webhook of a later version); `null` until then. */
  subscriptionStatus: string | null
  subscriptionExpiresAt: Date | null
  /** `false` once access was taken back; `null` while nothing beyond the grant is known. */
  accessActive: boolean | null
}

export interface NewGrant {
  orderId: string
  userId: string
  sku: string
  kind: GrantOrderKind
  subscriptionId?: string | null
  tossStatus: string
  tossStatusAt?: Date | null
  source?: string | null
}

export interface GrantResult {
  record: GrantRecord
  /** `true` when this call wrote the row (and ran `onGrant`); `false` when the order was already there. */
  created: boolean
}

export interface GrantOptions {
  /**
   * How long `onGrant` may take before the grant is given up and rolled back (on PostgreSQL the
   * connection is closed rather than reused, since `onGrant` may still be using it). Default 20 s:
   * Toss waits about 30 s for the page's answer.
   */
  timeoutMs?: number
}

/** `onGrant` took longer than `timeoutMs`: nothing was recorded. */
export class GrantTimeoutError extends Error {
  override readonly name = 'GrantTimeoutError'
  constructor(timeoutMs: number) {
    super(`vue-toss-iap/server: onGrant did not finish within ${timeoutMs} ms; the grant was rolled back`)
  }
}

export interface GrantLedger {
  readonly driver: 'pglite' | 'pg'
  readonly schemaVersion: number
  find(orderId: string): Promise<GrantRecord | null>
  /**
   * Writes the grant and runs `onGrant` in one transaction, once per order: the row is inserted
   * with `ON CONFLICT DO NOTHING`, so a concurrent request for the same order (from any process)
   * waits for the first one's transaction and then sees its row. If `onGrant` throws, nothing is written.
   */
  grant(grant: NewGrant, onGrant?: (record: GrantRecord, tx: GrantTransaction) => Promise<void> | void, options?: GrantOptions): Promise<GrantResult>
  /** Every order of a user, newest grant first. */
  ordersOf(userId: string): Promise<GrantRecord[]>
  /** Runs `fn` in a transaction of the ledger's database. */
  transaction<T>(fn: (tx: GrantTransaction) => Promise<T>): Promise<T>
}

const TABLE = 'toss_iap_grants'
/** Any constant: the lock that serialises schema migrations across processes. */
const MIGRATION_LOCK = 740_310_012

/** Schema changes, in order. Only ever append: a running older version must keep working. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE ${TABLE} (
     order_id text PRIMARY KEY,
     user_id text NOT NULL,
     sku text NOT NULL,
     kind text NOT NULL CHECK (kind IN ('one-time', 'subscription', 'unknown')),
     subscription_id text,
     state text NOT NULL DEFAULT 'granted',
     toss_status text NOT NULL,
     toss_status_at timestamptz,
     source text,
     granted_at timestamptz NOT NULL DEFAULT now(),
     refunded_at timestamptz,
     updated_at timestamptz NOT NULL DEFAULT now(),
     subscription_status text,
     subscription_expires_at timestamptz,
     access_active boolean
   );
   CREATE INDEX ${TABLE}_user ON ${TABLE} (user_id, granted_at DESC);`,
]

interface Row {
  order_id: string
  user_id: string
  sku: string
  kind: GrantOrderKind
  subscription_id: string | null
  state: string
  toss_status: string
  toss_status_at: Date | null
  source: string | null
  granted_at: Date
  refunded_at: Date | null
  updated_at: Date
  subscription_status: string | null
  subscription_expires_at: Date | null
  access_active: boolean | null
}

const toRecord = (r: Row): GrantRecord => ({
  orderId: r.order_id,
  userId: r.user_id,
  sku: r.sku,
  kind: r.kind,
  subscriptionId: r.subscription_id,
  state: r.state,
  tossStatus: r.toss_status,
  tossStatusAt: r.toss_status_at,
  source: r.source,
  grantedAt: r.granted_at,
  refundedAt: r.refunded_at,
  updatedAt: r.updated_at,
  subscriptionStatus: r.subscription_status,
  subscriptionExpiresAt: r.subscription_expires_at,
  accessActive: r.access_active,
})

const isPool = (db: unknown): db is PgPoolLike =>
  typeof (db as PgPoolLike).connect === 'function' && typeof (db as PgPoolLike).totalCount === 'number'
const isPGlite = (db: unknown): db is PGliteLike =>
  typeof (db as PGliteLike).transaction === 'function' && typeof (db as PGliteLike).query === 'function'

/** Splits a migration into statements (PGlite's and pg's extended protocol take one at a time). */
const statements = (sql: string) =>
  sql
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)

/**
 * The grant ledger on PGlite or PostgreSQL (a `pg` Pool). Creates or migrates its table on first
 * use, under an advisory lock, so that many processes starting at once migrate once.
 */
export async function createGrantLedger(db: PGliteLike | PgPoolLike): Promise<GrantLedger> {
  let transaction: <T>(fn: (tx: GrantTransaction) => Promise<T>) => Promise<T>
  let driver: GrantLedger['driver']
  if (isPool(db)) {
    driver = 'pg'
    transaction = async (fn) => {
      const client = await db.connect()
      let broken: Error | undefined
      try {
        await client.query('BEGIN')
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        // A timed-out onGrant may still be running a query on this client: close it instead of
        // rolling back (PostgreSQL rolls back a closed connection's transaction) and never reuse it.
        if (error instanceof GrantTimeoutError) broken = error
        else await client.query('ROLLBACK').catch((e: Error) => (broken = e))
        throw error
      } finally {
        client.release(broken)
      }
    }
  } else if (isPGlite(db)) {
    driver = 'pglite'
    transaction = (fn) => db.transaction(fn)
  } else {
    throw new TypeError(
      'vue-toss-iap/server: createGrantLedger takes a PGlite instance or a pg Pool (a single pg Client cannot run concurrent transactions)',
    )
  }

  const schemaVersion = await transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await tx.query(
      'CREATE TABLE IF NOT EXISTS toss_iap_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    )
    const { rows } = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM toss_iap_schema')
    const current = rows[0]?.version ?? 0
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      for (const statement of statements(MIGRATIONS[v - 1]!)) await tx.query(statement)
      await tx.query('INSERT INTO toss_iap_schema (version) VALUES ($1)', [v])
    }
    return Math.max(current, MIGRATIONS.length)
  })

  const find = async (q: SqlQueryable, orderId: string) => {
    const { rows } = await q.query<Row>(`SELECT * FROM ${TABLE} WHERE order_id = $1`, [orderId])
    return rows[0] ? toRecord(rows[0]) : null
  }

  return {
    driver,
    schemaVersion,
    find: (orderId) => find(db, orderId),
    grant: (grant, onGrant, { timeoutMs = 20_000 } = {}) =>
      transaction(async (tx) => {
        const { rows } = await tx.query<Row>(
          `INSERT INTO ${TABLE} (order_id, user_id, sku, kind, subscription_id, toss_status, toss_status_at, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (order_id) DO NOTHING
           RETURNING *`,
          [
            grant.orderId,
            grant.userId,
            grant.sku,
            grant.kind,
            grant.subscriptionId ?? null,
            grant.tossStatus,
            grant.tossStatusAt ?? null,
            grant.source ?? null,
          ],
        )
        if (rows[0]) {
          const record = toRecord(rows[0])
          if (onGrant) {
            let timer: ReturnType<typeof setTimeout> | undefined
            try {
              await Promise.race([
                Promise.resolve().then(() => onGrant(record, tx)),
                new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new GrantTimeoutError(timeoutMs)), timeoutMs))),
              ])
            } finally {
              clearTimeout(timer)
            }
          }
          return { record, created: true }
        }
        // Someone else's committed row (READ COMMITTED: this statement sees what the insert waited for).
        const record = await find(tx, grant.orderId)
        if (!record) throw new Error(`vue-toss-iap/server: order ${grant.orderId} conflicted but is not in the ledger`)
        return { record, created: false }
      }),
    ordersOf: async (userId) => {
      const { rows } = await db.query<Row>(`SELECT * FROM ${TABLE} WHERE user_id = $1 ORDER BY granted_at DESC, order_id`, [userId])
      return rows.map(toRecord)
    },
    transaction,
  }
}
