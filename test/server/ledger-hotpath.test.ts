// The ledger's hot path (what every request runs): the record a grant answers, the entitlements read
// as one JSON value, prepared statements on PostgreSQL that survive another process's migration, and
// the per-order lock taken with BEGIN in one round trip, which keeps a grant and a subscription event
// of the same order from missing each other.
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  createGrantLedger,
  createSessionStore,
  parseSubscriptionEvent,
  type GrantLedger,
  type NewGrant,
  type PgPoolLike,
  type PGliteLike,
  type SubscriptionEventInput,
} from '../../src/server/index.ts'
import { subscriptionStatusChanged } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

/** The key space the ledger's order locks use (ledger.ts ORDER_LOCK). */
const ORDER_LOCK = 740_310_010

const newGrant = (orderId: string, userId = 'u1', extra: Partial<NewGrant> = {}): NewGrant => ({
  orderId,
  userId,
  sku: 'premium-monthly',
  kind: 'subscription',
  subscriptionId: `sub-${orderId}`,
  tossStatus: 'PAYMENT_COMPLETED',
  tossStatusAt: new Date('2026-11-30T01:02:03.456Z'),
  source: 'purchase',
  userKey: `uk-${userId}`,
  ...extra,
})

/** A renewal of `orderId` as the webhook stores it (made for a placeholder id: the ledger's own calls take any id). */
const eventFor = (orderId: string, at = new Date('2026-12-01T00:00:00Z')): SubscriptionEventInput => {
  const parsed = parseSubscriptionEvent(
    subscriptionStatusChanged({
      orderId: 'placeholder',
      at,
      changeReason: 'RENEWED',
      current: { status: 'ACTIVE', accessGranted: true, expiresAt: '2027-01-01 09:00:00', autoRenew: true },
    }),
  )
  if (!parsed.ok || parsed.kind !== 'status_changed') throw new Error('the fake event did not parse')
  return { ...parsed.event, orderId, key: `${parsed.event.key}:${orderId}` }
}

function suite(name: string, open: () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>) {
  describe(name, () => {
    it('a new grant answers exactly the row the ledger then reads', async () => {
      const { db, close } = await open()
      try {
        const ledger = await createGrantLedger(db)
        let seen: unknown
        const first = await ledger.grant(newGrant('hot-1'), (record) => void (seen = record))
        expect(first.created).toBe(true)
        const stored = await ledger.find('hot-1')
        expect(first.record).toEqual(stored)
        expect(seen).toEqual(stored)
        // Without the optional fields too.
        const bare = await ledger.grant({ orderId: 'hot-2', userId: 'u2', sku: 'gems', kind: 'one-time', tossStatus: 'PURCHASED' })
        expect(bare.record).toEqual(await ledger.find('hot-2'))
        // A repeat answers the stored row.
        const again = await ledger.grant(newGrant('hot-1', 'u9'))
        expect(again).toEqual({ created: false, record: stored })
      } finally {
        await close()
      }
    })

    it('ownedBy answers what ordersOf holds, newest first, with its times as dates', async () => {
      const { db, close } = await open()
      try {
        const ledger = await createGrantLedger(db)
        expect(await ledger.ownedBy('nobody')).toEqual([])
        for (const id of ['own-a', 'own-b', 'own-c']) await ledger.grant(newGrant(id, 'owner'))
        await ledger.markRefunded('own-b', {})
        await ledger.subscriptionEvents.store(eventFor('own-c'))
        await ledger.subscriptionEvents.apply('own-c')
        const owned = await ledger.ownedBy('owner')
        const orders = await ledger.ordersOf('owner')
        expect(owned).toEqual(
          orders.map((o) => ({
            orderId: o.orderId,
            sku: o.sku,
            state: o.state,
            refundedAt: o.refundedAt,
            accessActive: o.accessActive,
            subscriptionStatus: o.subscriptionStatus,
            subscriptionExpiresAt: o.subscriptionExpiresAt,
            subscriptionAutoRenew: o.subscriptionAutoRenew,
          })),
        )
        const refunded = owned.find((o) => o.orderId === 'own-b')!
        expect(refunded.refundedAt).toBeInstanceOf(Date)
        expect(refunded).toMatchObject({ state: 'refunded', accessActive: false })
        const renewed = owned.find((o) => o.orderId === 'own-c')!
        // 2027-01-01 09:00 Korean time.
        expect(renewed).toMatchObject({ subscriptionStatus: 'ACTIVE', accessActive: true, subscriptionAutoRenew: true })
        expect(renewed.subscriptionExpiresAt?.toISOString()).toBe('2027-01-01T00:00:00.000Z')
      } finally {
        await close()
      }
    })
  })
}

suite('PGlite', openPGlite)

describe('PGlite: a grant looks for events stored before it', () => {
  it('stored through another ledger on the same database, or before a restart', async () => {
    const { db, dir, close } = await openPGlite()
    try {
      // Both made before any event exists: neither looked at startup and found one.
      const storing = await createGrantLedger(db)
      const granting = await createGrantLedger(db)
      expect((await granting.grant(newGrant('before-any'))).record.subscriptionStatus).toBeNull()

      expect(await storing.subscriptionEvents.store(eventFor('early-1'))).toBe(true)
      expect(await storing.subscriptionEvents.apply('early-1')).toEqual([]) // no order yet
      const first = await granting.grant(newGrant('early-1'))
      expect(first.record).toMatchObject({ subscriptionStatus: 'ACTIVE', accessActive: true })
      expect(await granting.subscriptionEvents.pending('early-1')).toBe(0)

      // Stored, then the process stops before the order is granted.
      expect(await storing.subscriptionEvents.store(eventFor('early-2'))).toBe(true)
      await db.close()
      const { PGlite } = await import('@electric-sql/pglite')
      const reopened = new PGlite(dir)
      try {
        const after = await createGrantLedger(reopened)
        expect((await after.grant(newGrant('early-2'))).record).toMatchObject({ subscriptionStatus: 'ACTIVE', accessActive: true })
        expect(await after.subscriptionEvents.pending()).toBe(0)
      } finally {
        await reopened.close()
      }
    } finally {
      await close()
    }
  })
})

describe.skipIf(!PG_URL)('PostgreSQL', () => {
  suite('a pg Pool', () => openPgSchema('hotpath'))

  /** The names of the statements prepared on the one connection of `db` (a pool of one). */
  const prepared = async (db: pg.Pool) =>
    (await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name)

  it('prepares its statements once per connection, and none with prepare: false', async () => {
    const { db, close } = await openPgSchema('hotpath_prep', 1)
    try {
      const ledger = await createGrantLedger(db)
      await ledger.grant(newGrant('prep-1'))
      await ledger.ownerOf('prep-1')
      await ledger.ownedBy('u1')
      const names = await prepared(db)
      expect(names.length).toBe(3)
      for (const n of names) expect(n).toMatch(/^toss_iap_[0-9a-f]{24}$/)
      // Running them again prepares nothing new.
      await ledger.ownerOf('prep-1')
      await ledger.ownedBy('u1')
      expect(await prepared(db)).toEqual(names)

      const { db: plainDb, close: closePlain } = await openPgSchema('hotpath_plain', 1)
      try {
        const plain = await createGrantLedger(plainDb, { prepare: false })
        await plain.grant(newGrant('plain-1'))
        expect(await plain.ownerOf('plain-1')).toMatchObject({ userId: 'u1' })
        expect(await plain.ownedBy('u1')).toHaveLength(1)
        expect(await prepared(plainDb)).toEqual([])
      } finally {
        await closePlain()
      }
    } finally {
      await close()
    }
  })

  it('keeps working on its prepared connections after another process adds columns (a newer version migrating)', async () => {
    const { db, close } = await openPgSchema('hotpath_migrate', 2)
    try {
      const ledger = await createGrantLedger(db)
      const sessions = createSessionStore(ledger)
      const { token } = await sessions.create({ userId: 'u1', userKey: 'uk-u1' })
      // Prepare everything on both connections of the pool.
      await Promise.all([0, 1].map((i) => ledger.grant(newGrant(`mig-${i}`))))
      await Promise.all([0, 1].map((i) => Promise.all([ledger.ownerOf(`mig-${i}`), ledger.ownedBy('u1'), sessions.verify(token)])))

      // Another server, a later version: its migration adds columns to every table read here.
      const other = new pg.Client({
        connectionString: PG_URL!,
        options: `-c search_path=${(await db.query('SELECT current_schema() AS s')).rows[0].s}`,
      })
      await other.connect()
      try {
        await other.query('ALTER TABLE toss_iap_grants ADD COLUMN later_note text')
        await other.query('ALTER TABLE toss_iap_subscription_events ADD COLUMN later_note text')
        await other.query('ALTER TABLE toss_iap_sessions ADD COLUMN later_note text')
      } finally {
        await other.end()
      }

      for (let i = 0; i < 4; i++) {
        expect(await ledger.ownerOf('mig-0')).toMatchObject({ userId: 'u1' })
        expect(await ledger.ownedBy('u1')).toHaveLength(2 + Math.min(i, 2))
        expect(await sessions.verify(token)).toMatchObject({ userId: 'u1' })
        if (i < 2) expect((await ledger.grant(newGrant(`mig-late-${i}`))).created).toBe(true)
      }
    } finally {
      await close()
    }
  })

  /** Holds `orderId`'s lock on a connection of its own until `release()`. */
  async function holdOrderLock(db: pg.Pool, orderId: string) {
    const client = await db.connect()
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ORDER_LOCK, orderId])
    return {
      release: async () => {
        await client.query('COMMIT')
        client.release()
      },
    }
  }

  /** Whether `promise` settles within `ms`. */
  const settlesWithin = (promise: Promise<unknown>, ms: number) =>
    Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])

  it('a grant and a stored event take the order’s lock, whatever characters the order id has', async () => {
    const { db, close } = await openPgSchema('hotpath_lock', 6)
    try {
      const ledger = await createGrantLedger(db)
      // The first keeps the order-id rule (locked with BEGIN); the others are locked with a parameter.
      for (const orderId of ['lock.order_1:a-b', "lock o'rder \\ 1", 'lock-순서']) {
        const held = await holdOrderLock(db, orderId)
        let granting, storing
        try {
          granting = ledger.grant(newGrant(orderId))
          storing = ledger.subscriptionEvents.store(eventFor(orderId))
          expect(await settlesWithin(granting, 300)).toBe(false)
          expect(await settlesWithin(storing, 50)).toBe(false)
        } finally {
          await held.release()
        }
        expect((await granting).created).toBe(true)
        expect(await storing).toBe(true)
        // While the grant holds it, nobody else gets it.
        let inside: boolean | undefined
        await ledger.grant(newGrant(`${orderId}+`), async () => {
          const probe = await db.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS got', [
            ORDER_LOCK,
            `${orderId}+`,
          ])
          inside = probe.rows[0]!.got
        })
        expect(inside).toBe(false)
        const after = await db.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS got', [
          ORDER_LOCK,
          `${orderId}+`,
        ])
        expect(after.rows[0]!.got).toBe(true)
      }
    } finally {
      await close()
    }
  })

  it('200 orders granted while their subscription events arrive: every event is applied, none left pending', async () => {
    const { db, close } = await openPgSchema('hotpath_race', 20)
    try {
      const ledger: GrantLedger = await createGrantLedger(db)
      const ids = Array.from({ length: 200 }, (_, i) => `race-${i}`)
      await Promise.all(
        ids.flatMap((orderId, i) => {
          const grant = () => ledger.grant(newGrant(orderId, `u${i % 7}`))
          const event = async () => {
            if ((await ledger.subscriptionEvents.store(eventFor(orderId))) === false) throw new Error('a new event was a duplicate')
            await ledger.subscriptionEvents.apply(orderId)
          }
          // Either one may start first.
          return i % 2 === 0 ? [grant(), event()] : [event(), grant()]
        }),
      )
      expect(await ledger.subscriptionEvents.pending()).toBe(0)
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM toss_iap_grants WHERE order_id LIKE 'race-%' AND subscription_status = 'ACTIVE' AND access_active",
      )
      expect(rows[0]!.n).toBe(200)
    } finally {
      await close()
    }
  })
})
