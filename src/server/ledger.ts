import { hash } from 'node:crypto'
import { readOrderId } from '../core/errors.js'
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

/** `pg`'s query with a config object (a named statement). */
interface PgNamedQueryable {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>
}

export interface GrantLedgerOptions {
  /**
   * PostgreSQL (`pg.Pool`) only: the statements every request runs (a repeat's owner lookup, the
   * grant's insert, entitlements, sessions) are prepared once per connection and then only
   * executed, as `pg`'s named statements. Default `true`. Set `false` behind a pooler in
   * transaction mode that cannot keep prepared statements (PgBouncer before 1.21, or with
   * `max_prepared_statements = 0`; Supabase's transaction pooler on port 6543).
   */
  prepare?: boolean
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
  /** The subscription's `autoRenew` in the last applied webhook event; `null` until one. */
  subscriptionAutoRenew: boolean | null
  /** The `changeReason` of the last applied webhook event, as Toss spelled it. */
  subscriptionChangeReason: string | null
  /** `occurredAt` of the last applied webhook event (read as Korean time). */
  subscriptionEventAt: Date | null
  /**
   * `true` when the stored events of this subscription do not chain: some event's `previous`
   * disagrees with the `current` of the event before it (an event Toss sent was lost). Cleared if
   * the missing event arrives after all.
   */
  subscriptionEventLost: boolean
  /** The Toss user key the order was verified with (refund reconciliation asks Toss with it); `null` for older rows. */
  userKey: string | null
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
  /** The Toss user key order-status was asked with: kept so that `reconcile()` can ask again. */
  userKey?: string | null
}

/** The part of a `GrantRecord` entitlements are made of. */
export type OwnedOrder = Pick<
  GrantRecord,
  'orderId' | 'sku' | 'state' | 'refundedAt' | 'accessActive' | 'subscriptionStatus' | 'subscriptionExpiresAt' | 'subscriptionAutoRenew'
>

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
  grant(
    grant: NewGrant,
    onGrant?: (record: GrantRecord, tx: GrantTransaction) => Promise<void> | void,
    options?: GrantOptions,
  ): Promise<GrantResult>
  /** Every order of a user, newest grant first. */
  ordersOf(userId: string): Promise<GrantRecord[]>
  /** Who owns an order and its sku (what a repeat is answered with), reading only those columns; `null` when unknown. */
  ownerOf(orderId: string): Promise<Pick<GrantRecord, 'orderId' | 'userId' | 'sku'> | null>
  /** `ordersOf` with only what entitlements are made of (the entitlements endpoint reads it on every app start). */
  ownedBy(userId: string): Promise<OwnedOrder[]>
  /** Runs `fn` in a transaction of the ledger's database. */
  transaction<T>(fn: (tx: GrantTransaction) => Promise<T>): Promise<T>
  /** Runs one statement on the ledger's database, outside any transaction (sessions read through it). */
  query: SqlQueryable['query']
  /**
   * Marks a granted order refunded, once: only the call that moves it from `refunded_at IS NULL`
   * runs `onRevoke`, in the same transaction (throwing rolls the mark back). `null` when the order
   * is unknown or was already refunded.
   */
  markRefunded(
    orderId: string,
    details: { tossStatusAt?: Date | null },
    onRevoke?: (record: GrantRecord, tx: GrantTransaction) => Promise<void> | void,
  ): Promise<GrantRecord | null>
  /** Subscription webhook events: stored, then applied (see subscriptions.ts). */
  readonly subscriptionEvents: SubscriptionEventStore
}

/** One `subscription.status_changed` snapshot as the ledger keeps it (unknown values as sent). */
export interface SubscriptionSnapshot {
  status: string
  /** `null` when Toss did not send it. */
  accessGranted: boolean | null
  /** `expiresAt` read as Korean time; `null` when absent or unreadable. */
  expiresAt: Date | null
  autoRenew: boolean | null
}

/** A parsed `subscription.status_changed` event, ready to store. */
export interface SubscriptionEventInput {
  /** Derived from the content (Toss sends no event id): equal events share it. */
  key: string
  orderId: string
  sku: string | null
  occurredAt: Date
  changeReason: string | null
  current: SubscriptionSnapshot
  previous: SubscriptionSnapshot | null
  /** The event as Toss sent it. */
  payload: unknown
}

/**
 * A change of a ledger row's subscription state, as `onSubscriptionChange` gets it: one per stored
 * event that changed the row, never one for an event that changed nothing. `eventKey` to
 * `previous` describe that event as Toss sent it; `record` is the state the row now has, the one to
 * act on (for a `late` event it is not `current`).
 */
export interface SubscriptionChange {
  orderId: string
  userId: string
  sku: string
  eventKey: string
  occurredAt: Date
  changeReason: string | null
  current: SubscriptionSnapshot
  previous: SubscriptionSnapshot | null
  /**
   * `true` when the event sorts before the newest event already applied (it arrived late): the row
   * was re-derived from all the order's events in time order, and `record` shows what the late
   * event changed there (an access that an unknown status carried over, the lost-event flag), not
   * the event's own `current`.
   */
  late: boolean
  /** The row before the change. */
  before: GrantRecord
  /** The row after the change (committed with whatever `onSubscriptionChange` writes through `tx`). */
  record: GrantRecord
  /** `previous` disagrees with the event before this one: an event was lost. */
  lostEvent: boolean
}

export type SubscriptionListener = (change: SubscriptionChange, tx: GrantTransaction) => Promise<void> | void

export interface SubscriptionEventStore {
  /**
   * Stores an event durably (committed when this resolves). `false` for a duplicate. Takes the
   * same per-order lock as `grant`, so an event and the grant of its order never miss each other.
   */
  store(event: SubscriptionEventInput): Promise<boolean>
  /**
   * Applies the order's stored, not yet applied events in one transaction, oldest first. The row
   * ends as the in-order replay of every applied event, whatever order they were stored in: an
   * event older than the row's last one re-derives the state (and changes nothing when nothing
   * differs). Nothing happens while the order is not in the ledger (the grant applies them).
   * Throws, leaving them pending, if the listener does.
   */
  apply(orderId: string): Promise<SubscriptionChange[]>
  /** Applies every pending event whose order is in the ledger. One indexed query when there is none. */
  applyPending(): Promise<{ applied: number; failed: number }>
  /** Called inside each change's transaction, also by `grant` for events that waited for the order. */
  listen(listener: SubscriptionListener | undefined): void
  /** Events stored and not applied yet (waiting for their order, or for a retry). */
  pending(orderId?: string): Promise<number>
}

const TABLE = 'toss_iap_grants'
const EVENTS = 'toss_iap_subscription_events'
/** Whether the order `$1` has subscription events stored and not applied (they came before the grant). */
const EVENTS_WAITING = `EXISTS (SELECT 1 FROM ${EVENTS} e WHERE e.order_id = $1 AND e.applied_at IS NULL)`
/** Key space of the per-order advisory locks (grant and subscription event). */
const ORDER_LOCK = 740_310_010
/**
 * The ledger's runner for the package's own fixed statements (sessions use it too): on PostgreSQL
 * with `prepare`, a named statement per SQL text (the name is a hash of it, so two ledgers on one
 * pool agree). Never given the app's SQL: each distinct text stays prepared on every connection.
 */
export const PREPARED = Symbol('vue-toss-iap/server prepared')

export type PreparedQuery = <R = Record<string, unknown>>(q: SqlQueryable, sql: string, params: unknown[]) => Promise<{ rows: R[] }>

/** A ledger's prepared-statement runner, or plain queries for a ledger without one (a hand-made one in tests). */
export const preparedOf = (ledger: object): PreparedQuery =>
  (ledger as { [PREPARED]?: PreparedQuery })[PREPARED] ?? ((q, sql, params) => q.query(sql, params))

/**
 * PGlite only, per database: whether a grant must look for subscription events stored before its
 * order (`any`), and how many events this process stored (`stored`). Shared by every ledger on the
 * same PGlite. `any` starts `true`, turns `false` at startup only when no event is pending and none
 * was stored meanwhile, and turns `true` again inside the transaction of every stored event. PGlite
 * runs one transaction at a time and is one process's database, so a grant reads `any` after every
 * event stored before it, which is what the look costs otherwise: a subquery planned on each grant.
 */
const pgliteEvents = new WeakMap<object, { any: boolean; stored: number }>()

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
  // 2: subscription webhooks and refund reconciliation (#10).
  `ALTER TABLE ${TABLE} ADD COLUMN subscription_auto_renew boolean;
   ALTER TABLE ${TABLE} ADD COLUMN subscription_change_reason text;
   ALTER TABLE ${TABLE} ADD COLUMN subscription_event_at timestamptz;
   ALTER TABLE ${TABLE} ADD COLUMN subscription_event_key text;
   ALTER TABLE ${TABLE} ADD COLUMN subscription_event_lost boolean NOT NULL DEFAULT false;
   ALTER TABLE ${TABLE} ADD COLUMN toss_user_key text;
   CREATE INDEX ${TABLE}_granted ON ${TABLE} (granted_at, order_id);
   CREATE TABLE ${EVENTS} (
     event_key text PRIMARY KEY,
     order_id text NOT NULL,
     sku text,
     occurred_at timestamptz NOT NULL,
     change_reason text,
     status text NOT NULL,
     access_granted boolean,
     expires_at timestamptz,
     auto_renew boolean,
     previous_status text,
     previous_access_granted boolean,
     has_previous boolean NOT NULL,
     payload jsonb NOT NULL,
     received_at timestamptz NOT NULL DEFAULT now(),
     applied_at timestamptz,
     outcome text
   );
   CREATE INDEX ${EVENTS}_order ON ${EVENTS} (order_id, occurred_at, event_key);
   CREATE INDEX ${EVENTS}_pending ON ${EVENTS} (order_id) WHERE applied_at IS NULL;
   CREATE TABLE toss_iap_reconcile (
     name text PRIMARY KEY,
     window_from timestamptz,
     cursor_granted_at timestamptz,
     cursor_order_id text,
     run_started_at timestamptz,
     last_finished_at timestamptz,
     lease_until timestamptz,
     updated_at timestamptz NOT NULL DEFAULT now()
   );`,
  // 3: Toss login's sessions and unlink callbacks (#19).
  `CREATE TABLE toss_iap_sessions (
     token_hash text PRIMARY KEY,
     user_id text NOT NULL,
     user_key text NOT NULL,
     referrer text,
     created_at timestamptz NOT NULL DEFAULT now(),
     last_used_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL,
     max_expires_at timestamptz NOT NULL,
     revoked_at timestamptz,
     revoked_reason text
   );
   CREATE INDEX toss_iap_sessions_user ON toss_iap_sessions (user_id);
   CREATE INDEX toss_iap_sessions_user_key ON toss_iap_sessions (user_key);
   CREATE TABLE toss_iap_unlinks (
     id bigserial PRIMARY KEY,
     user_key text,
     referrer text,
     payload jsonb NOT NULL,
     sessions_ended integer NOT NULL,
     received_at timestamptz NOT NULL DEFAULT now()
   );`,
  // 4: consumables as a balance (#22): an append-only journal and the balance it sums to.
  `CREATE TABLE toss_iap_balance_entries (
     id bigserial PRIMARY KEY,
     user_id text NOT NULL,
     currency text NOT NULL,
     kind text NOT NULL CHECK (kind IN ('credit', 'spend', 'reversal')),
     amount bigint NOT NULL,
     balance_after bigint NOT NULL,
     reason text,
     idempotency_key text,
     order_id text,
     flagged boolean NOT NULL DEFAULT false,
     created_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE UNIQUE INDEX toss_iap_balance_entries_key ON toss_iap_balance_entries (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
   CREATE UNIQUE INDEX toss_iap_balance_entries_order ON toss_iap_balance_entries (order_id, currency, kind) WHERE order_id IS NOT NULL;
   CREATE INDEX toss_iap_balance_entries_user ON toss_iap_balance_entries (user_id, currency, id);
   CREATE TABLE toss_iap_balances (
     user_id text NOT NULL,
     currency text NOT NULL,
     balance bigint NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (user_id, currency)
   );`,
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
  subscription_auto_renew: boolean | null
  subscription_change_reason: string | null
  subscription_event_at: Date | null
  subscription_event_key: string | null
  subscription_event_lost: boolean
  toss_user_key: string | null
}

/** An owned order as `ownedBy` reads it: the columns of `OwnedOrder` in order, times as JSON text. */
type OwnedTuple = [string, string, string, string | null, boolean | null, string | null, string | null, boolean | null]

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
  subscriptionAutoRenew: r.subscription_auto_renew,
  subscriptionChangeReason: r.subscription_change_reason,
  subscriptionEventAt: r.subscription_event_at,
  subscriptionEventLost: r.subscription_event_lost,
  userKey: r.toss_user_key,
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
export async function createGrantLedger(db: PGliteLike | PgPoolLike, options: GrantLedgerOptions = {}): Promise<GrantLedger> {
  /**
   * A transaction; with `order`, holding that order's lock (the one `grant` and
   * `subscriptionEvents.store` share, released at commit).
   */
  let transactionOf: <T>(order: string | null, fn: (tx: GrantTransaction) => Promise<T>) => Promise<T>
  let driver: GrantLedger['driver']
  let prepared: PreparedQuery = (q, sql, params) => q.query(sql, params)
  if (isPool(db)) {
    driver = 'pg'
    if (options.prepare !== false) {
      const names = new Map<string, string>()
      const nameOf = (sql: string) => {
        let name = names.get(sql)
        if (name === undefined) names.set(sql, (name = `toss_iap_${hash('sha256', sql, 'hex').slice(0, 24)}`))
        return name
      }
      prepared = (q, sql, params) => (q as unknown as PgNamedQueryable).query({ name: nameOf(sql), text: sql, values: params })
    }
    transactionOf = async (order, fn) => {
      const client = await db.connect()
      let broken: Error | undefined
      try {
        // The order's lock goes with BEGIN in one round trip when its id keeps the order-id rule
        // (nothing in it needs quoting); any other id takes it as a parameter.
        const inline = order !== null && readOrderId(order) !== null
        await client.query(inline ? `BEGIN; SELECT pg_advisory_xact_lock(${ORDER_LOCK}, hashtext('${order}'))` : 'BEGIN')
        if (order !== null && !inline) await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ORDER_LOCK, order])
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
    // No order lock: PGlite runs one transaction or statement at a time (every query and
    // transaction waits for its mutex), and no other process can open its database.
    transactionOf = (_order, fn) => db.transaction(fn)
  } else {
    throw new TypeError(
      'vue-toss-iap/server: createGrantLedger takes a PGlite instance or a pg Pool (a single pg Client cannot run concurrent transactions)',
    )
  }
  const transaction = <T>(fn: (tx: GrantTransaction) => Promise<T>) => transactionOf(null, fn)

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

  // Whether a new grant looks for subscription events stored before it: always on PostgreSQL (many
  // processes), on PGlite only once there may be one (see pgliteEvents).
  let events: { any: boolean; stored: number } = { any: true, stored: 0 }
  if (driver === 'pglite') {
    const known = pgliteEvents.get(db)
    if (known) events = known
    else {
      pgliteEvents.set(db, events)
      const before = events.stored
      const { rows } = await db.query<{ pending: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${EVENTS} WHERE applied_at IS NULL) AS pending`)
      if (!rows[0]!.pending && events.stored === before) events.any = false
    }
  }

  const find = async (q: SqlQueryable, orderId: string) => {
    const { rows } = await q.query<Row>(`SELECT * FROM ${TABLE} WHERE order_id = $1`, [orderId])
    return rows[0] ? toRecord(rows[0]) : null
  }

  let listener: SubscriptionListener | undefined
  const subscriptionEvents = createEventStore(
    db,
    transactionOf,
    () => listener,
    (l) => (listener = l),
    () => {
      events.any = true
      events.stored++
    },
  )

  const ledger: GrantLedger = {
    driver,
    schemaVersion,
    find: (orderId) => find(db, orderId),
    grant: (grant, onGrant, { timeoutMs = 20_000 } = {}) =>
      transactionOf(grant.orderId, async (tx) => {
        const values = {
          orderId: grant.orderId,
          userId: grant.userId,
          sku: grant.sku,
          kind: grant.kind,
          subscriptionId: grant.subscriptionId ?? null,
          tossStatus: grant.tossStatus,
          // (A copy: the record must not share a Date the caller may change.)
          tossStatusAt: grant.tossStatusAt ? new Date(grant.tossStatusAt.getTime()) : null,
          source: grant.source ?? null,
          userKey: grant.userKey ?? null,
        }
        // Only what the database decides comes back: the rest of the new row is what was written.
        const { rows } = await prepared<{ granted_at: Date; updated_at: Date; events_waiting: boolean }>(
          tx,
          `INSERT INTO ${TABLE} (order_id, user_id, sku, kind, subscription_id, toss_status, toss_status_at, source, toss_user_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (order_id) DO NOTHING
           RETURNING granted_at, updated_at, ${events.any ? EVENTS_WAITING : 'false'} AS events_waiting`,
          [
            values.orderId,
            values.userId,
            values.sku,
            values.kind,
            values.subscriptionId,
            values.tossStatus,
            values.tossStatusAt,
            values.source,
            values.userKey,
          ],
        )
        if (rows[0]) {
          // Written out, not `{ ...values, … }`: on Node 20 that spread cost 20 µs a grant.
          let record: GrantRecord = {
            orderId: values.orderId,
            userId: values.userId,
            sku: values.sku,
            kind: values.kind,
            subscriptionId: values.subscriptionId,
            state: 'granted',
            tossStatus: values.tossStatus,
            tossStatusAt: values.tossStatusAt,
            source: values.source,
            grantedAt: rows[0].granted_at,
            refundedAt: null,
            updatedAt: rows[0].updated_at,
            subscriptionStatus: null,
            subscriptionExpiresAt: null,
            accessActive: null,
            subscriptionAutoRenew: null,
            subscriptionChangeReason: null,
            subscriptionEventAt: null,
            subscriptionEventLost: false,
            userKey: values.userKey,
          }
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
          // Subscription events that came before the order: applied now, in the grant's transaction.
          // A failing listener must not cost the grant: the events stay pending for applyPending().
          // (Read by the insert, under the order's lock: an event stored meanwhile waits for this commit.)
          if (rows[0].events_waiting) {
            await tx.query('SAVEPOINT toss_iap_events')
            try {
              await applyEvents(tx, grant.orderId, listener)
              await tx.query('RELEASE SAVEPOINT toss_iap_events')
              record = (await find(tx, grant.orderId)) ?? record
            } catch (error) {
              await tx.query('ROLLBACK TO SAVEPOINT toss_iap_events')
              reportListenerError(error, grant.orderId)
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
    ownerOf: async (orderId) => {
      const { rows } = await prepared<Pick<Row, 'user_id' | 'sku'>>(db, `SELECT user_id, sku FROM ${TABLE} WHERE order_id = $1`, [orderId])
      return rows[0] ? { orderId, userId: rows[0].user_id, sku: rows[0].sku } : null
    },
    ownedBy: async (userId) => {
      // One JSON value instead of a row per order: PGlite turns each field of each row into a JS
      // value one at a time, which made this read cost half again a three-column one.
      const { rows } = await prepared<{ owned: OwnedTuple[] | string | null }>(
        db,
        `SELECT json_agg(json_build_array(order_id, sku, state, refunded_at, access_active, subscription_status,
                                          subscription_expires_at, subscription_auto_renew)
                         ORDER BY granted_at DESC, order_id) AS owned
           FROM ${TABLE} WHERE user_id = $1`,
        [userId],
      )
      const owned = rows[0]?.owned ?? null
      // (A string when the app told its driver to leave json as text.)
      const tuples: OwnedTuple[] = typeof owned === 'string' ? JSON.parse(owned) : (owned ?? [])
      return tuples.map(([orderId, sku, state, refundedAt, accessActive, status, expiresAt, autoRenew]) => ({
        orderId,
        sku,
        state,
        refundedAt: refundedAt === null ? null : new Date(refundedAt),
        accessActive,
        subscriptionStatus: status,
        subscriptionExpiresAt: expiresAt === null ? null : new Date(expiresAt),
        subscriptionAutoRenew: autoRenew,
      }))
    },
    transaction,
    query: (sql, params) => db.query(sql, params),
    markRefunded: (orderId, { tossStatusAt = null }, onRevoke) =>
      transaction(async (tx) => {
        const { rows } = await tx.query<Row>(
          `UPDATE ${TABLE}
              SET state = 'refunded', refunded_at = now(), access_active = false, toss_status = 'REFUNDED',
                  toss_status_at = COALESCE($2, toss_status_at), updated_at = now()
            WHERE order_id = $1 AND refunded_at IS NULL
            RETURNING *`,
          [orderId, tossStatusAt],
        )
        if (!rows[0]) return null
        const record = toRecord(rows[0])
        if (onRevoke) await onRevoke(record, tx)
        return record
      }),
    subscriptionEvents,
  }
  Object.defineProperty(ledger, PREPARED, { value: prepared })
  return ledger
}

const reportListenerError = (error: unknown, orderId: string) =>
  console.error(
    `vue-toss-iap/server: subscription events of order ${orderId} stay pending: ${error instanceof Error ? error.message : String(error)}`,
  )

interface EventRow {
  event_key: string
  order_id: string
  sku: string | null
  occurred_at: Date
  change_reason: string | null
  status: string
  access_granted: boolean | null
  expires_at: Date | null
  auto_renew: boolean | null
  previous_status: string | null
  previous_access_granted: boolean | null
  has_previous: boolean
  payload: unknown
  applied_at: Date | null
  outcome: string | null
}

/** What a status means for access when Toss did not say (`accessGranted` missing); `null` for an unknown status. */
const ACCESS_BY_STATUS: Record<string, boolean> = {
  ACTIVE: true,
  IN_GRACE_PERIOD: true,
  EXPIRED: false,
  ON_HOLD: false,
  PAUSED: false,
  REVOKED: false,
}

/** (occurredAt, key): a total order on events, the same in every process and every replay. */
const after = (a: { at: Date; key: string }, b: { at: Date | null; key: string | null }) =>
  b.at === null || a.at.getTime() > b.at.getTime() || (a.at.getTime() === b.at.getTime() && a.key > (b.key ?? ''))
const byTime = (a: EventRow, b: EventRow) =>
  a.occurred_at.getTime() - b.occurred_at.getTime() || (a.event_key < b.event_key ? -1 : a.event_key > b.event_key ? 1 : 0)

/** `previous` of `event` disagrees with the `current` of the event before it. */
const breaksChain = (event: EventRow, before: EventRow | undefined) =>
  before !== undefined &&
  event.has_previous &&
  (event.previous_status !== before.status ||
    (event.previous_access_granted !== null && before.access_granted !== null && event.previous_access_granted !== before.access_granted))

/** The subscription columns of a ledger row: what its stored events and its grant decide. */
interface Derived {
  status: string | null
  expiresAt: Date | null
  access: boolean | null
  autoRenew: boolean | null
  changeReason: string | null
  at: Date | null
  key: string | null
  lost: boolean
}

const derivedOf = (r: Row): Derived => ({
  status: r.subscription_status,
  expiresAt: r.subscription_expires_at,
  access: r.access_active,
  autoRenew: r.subscription_auto_renew,
  changeReason: r.subscription_change_reason,
  at: r.subscription_event_at,
  key: r.subscription_event_key,
  lost: r.subscription_event_lost,
})

const time = (d: Date | null) => d?.getTime() ?? null
const sameDerived = (a: Derived, b: Derived) =>
  a.status === b.status &&
  time(a.expiresAt) === time(b.expiresAt) &&
  a.access === b.access &&
  a.autoRenew === b.autoRenew &&
  a.changeReason === b.changeReason &&
  time(a.at) === time(b.at) &&
  a.key === b.key &&
  a.lost === b.lost

/**
 * The in-order replay: `events` (sorted by occurredAt, then key) applied one after another to the
 * grant, which knows nothing of the subscription. Each event sets the columns to what it says; a
 * missing `accessGranted` is read from the status, and an unknown status leaves access as the
 * event before it left it. A refunded order never has access, whatever the events say.
 */
function derive(events: readonly EventRow[], refunded: boolean): Derived {
  let s: Derived = { status: null, expiresAt: null, access: null, autoRenew: null, changeReason: null, at: null, key: null, lost: false }
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    s = {
      status: e.status,
      expiresAt: e.expires_at,
      access: e.access_granted ?? (Object.hasOwn(ACCESS_BY_STATUS, e.status) ? ACCESS_BY_STATUS[e.status]! : s.access),
      autoRenew: e.auto_renew,
      changeReason: e.change_reason,
      at: e.occurred_at,
      key: e.event_key,
      lost: s.lost || breaksChain(e, events[i - 1]),
    }
  }
  if (refunded) s.access = false
  return s
}

/**
 * Applies an order's pending events inside `tx`. The caller holds the transaction; the row is
 * locked here. The row always ends as `derive` of every applied event, so the state depends only
 * on which events are stored, never on the order they came in: a late event that sorts before the
 * newest one re-derives the state. Pending events are taken one at a time, oldest first; each one
 * that changes the row is told to the listener once, with the row before and after it.
 */
async function applyEvents(tx: SqlQueryable, orderId: string, listener: SubscriptionListener | undefined): Promise<SubscriptionChange[]> {
  const { rows: grants } = await tx.query<Row>(`SELECT * FROM ${TABLE} WHERE order_id = $1 FOR UPDATE`, [orderId])
  if (!grants[0]) return []
  const { rows } = await tx.query<EventRow>(`SELECT * FROM ${EVENTS} WHERE order_id = $1`, [orderId])
  const events = rows.sort(byTime)
  const pending = events.filter((e) => e.applied_at === null)
  if (pending.length === 0) return []
  const applied = new Set(events.filter((e) => e.applied_at !== null).map((e) => e.event_key))
  const refunded = grants[0].refunded_at !== null
  let before = toRecord(grants[0])
  let state = derivedOf(grants[0])
  const changes: SubscriptionChange[] = []
  for (const e of pending) {
    applied.add(e.event_key)
    const known = events.filter((x) => applied.has(x.event_key))
    const next = derive(known, refunded)
    const newest = after({ at: e.occurred_at, key: e.event_key }, state)
    const changed = !sameDerived(next, state)
    await tx.query(`UPDATE ${EVENTS} SET applied_at = now(), outcome = $2 WHERE event_key = $1`, [
      e.event_key,
      !changed ? 'stale' : newest ? 'applied' : 'late',
    ])
    if (!changed) continue
    state = next
    const { rows: updated } = await tx.query<Row>(
      `UPDATE ${TABLE}
          SET subscription_status = $2, subscription_expires_at = $3, access_active = $4, subscription_auto_renew = $5,
              subscription_change_reason = $6, subscription_event_at = $7, subscription_event_key = $8,
              subscription_event_lost = $9, updated_at = now()
        WHERE order_id = $1
        RETURNING *`,
      [orderId, next.status, next.expiresAt, next.access, next.autoRenew, next.changeReason, next.at, next.key, next.lost],
    )
    const record = toRecord(updated[0]!)
    const prev = (e.payload as { subscription?: { previous?: Record<string, unknown> } } | null)?.subscription?.previous
    const change: SubscriptionChange = {
      orderId,
      userId: record.userId,
      sku: record.sku,
      eventKey: e.event_key,
      occurredAt: e.occurred_at,
      changeReason: e.change_reason,
      current: { status: e.status, accessGranted: e.access_granted, expiresAt: e.expires_at, autoRenew: e.auto_renew },
      previous: e.has_previous
        ? {
            status: e.previous_status ?? '',
            accessGranted: e.previous_access_granted,
            expiresAt: typeof prev?.expiresAt === 'string' ? parseKoreanTime(prev.expiresAt) : null,
            autoRenew: typeof prev?.autoRenew === 'boolean' ? prev.autoRenew : null,
          }
        : null,
      late: !newest,
      before,
      record,
      lostEvent: breaksChain(e, known[known.indexOf(e) - 1]),
    }
    if (listener) await listener(change, tx)
    changes.push(change)
    before = record
  }
  return changes
}

/** Reads a Toss time: with `Z` or an offset as given, without one as Korean time (UTC+9). */
function parseKoreanTime(value: string): Date | null {
  let text = value.trim().replace(' ', 'T')
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) text += '+09:00'
  const time = Date.parse(text)
  return Number.isNaN(time) ? null : new Date(time)
}

function createEventStore(
  db: SqlQueryable,
  transactionOf: <T>(order: string | null, fn: (tx: GrantTransaction) => Promise<T>) => Promise<T>,
  getListener: () => SubscriptionListener | undefined,
  setListener: (listener: SubscriptionListener | undefined) => void,
  /** Called inside each storing transaction, before its insert. */
  onStore: () => void,
): SubscriptionEventStore {
  const apply = (orderId: string) => transactionOf(null, (tx) => applyEvents(tx, orderId, getListener()))
  return {
    store: (e) =>
      transactionOf(e.orderId, async (tx) => {
        onStore()
        const { rows } = await tx.query(
          `INSERT INTO ${EVENTS} (event_key, order_id, sku, occurred_at, change_reason, status, access_granted, expires_at, auto_renew,
                                  previous_status, previous_access_granted, has_previous, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (event_key) DO NOTHING
           RETURNING event_key`,
          [
            e.key,
            e.orderId,
            e.sku,
            e.occurredAt,
            e.changeReason,
            e.current.status,
            e.current.accessGranted,
            e.current.expiresAt,
            e.current.autoRenew,
            e.previous?.status ?? null,
            e.previous?.accessGranted ?? null,
            e.previous !== null,
            JSON.stringify(e.payload),
          ],
        )
        return rows.length > 0
      }),
    apply,
    applyPending: async () => {
      const { rows } = await db.query<{ order_id: string }>(
        `SELECT DISTINCT e.order_id FROM ${EVENTS} e JOIN ${TABLE} g ON g.order_id = e.order_id WHERE e.applied_at IS NULL`,
      )
      let applied = 0
      let failed = 0
      for (const { order_id } of rows) {
        try {
          applied += (await apply(order_id)).length
        } catch (error) {
          failed++
          reportListenerError(error, order_id)
        }
      }
      return { applied, failed }
    },
    listen: setListener,
    pending: async (orderId) => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${EVENTS} WHERE applied_at IS NULL ${orderId === undefined ? '' : 'AND order_id = $1'}`,
        orderId === undefined ? [] : [orderId],
      )
      return rows[0]!.n
    },
  }
}
