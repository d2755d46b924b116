import { rmSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  createGrantLedger,
  GrantTimeoutError,
  type GrantLedger,
  type NewGrant,
  type PgPoolLike,
  type PGliteLike,
} from '../../src/server/index.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const grant = (orderId: string, userId = 'u1'): NewGrant => ({
  orderId,
  userId,
  sku: 'remove-ads',
  kind: 'one-time',
  tossStatus: 'PAYMENT_COMPLETED',
  source: 'purchase',
})

/** The same behaviour, on PGlite (anywhere) and on PostgreSQL (when the integration tests have one). */
function suite(name: string, open: () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let ledger: GrantLedger
    let close: () => Promise<void>
    const products = async (orderId: string) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM test_products WHERE order_id = $1', [orderId])).rows[0]!.n

    it('creates its schema on first use, once', async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
      expect(ledger.schemaVersion).toBe(4)
      expect((await createGrantLedger(db)).schemaVersion).toBe(4)
      const { rows } = await db.query<{ version: number }>('SELECT version FROM toss_iap_schema ORDER BY version')
      expect(rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }])
      await db.query('CREATE TABLE IF NOT EXISTS test_products (order_id text NOT NULL)')
    })

    it('writes the row and the product in one transaction, once', async () => {
      const id = `order-${name}-a`
      let calls = 0
      const first = await ledger.grant(grant(id), async (record, tx) => {
        calls++
        expect(record).toMatchObject({ orderId: id, userId: 'u1', sku: 'remove-ads', state: 'granted', kind: 'one-time' })
        await tx.query('INSERT INTO test_products (order_id) VALUES ($1)', [record.orderId])
      })
      expect(first.created).toBe(true)
      expect(first.record.grantedAt).toBeInstanceOf(Date)
      const again = await ledger.grant(grant(id, 'u2'), async () => void calls++)
      expect(again).toMatchObject({ created: false, record: { userId: 'u1' } })
      expect(calls).toBe(1)
      expect(await products(id)).toBe(1)
      expect(await ledger.find(id)).toMatchObject({ orderId: id, userId: 'u1', tossStatus: 'PAYMENT_COMPLETED' })
      expect(await ledger.find('nobody')).toBeNull()
    })

    it('writes nothing when onGrant throws, and grants on the next try', async () => {
      const id = `order-${name}-b`
      const boom = new Error('product service down')
      await expect(
        ledger.grant(grant(id), async (record, tx) => {
          await tx.query('INSERT INTO test_products (order_id) VALUES ($1)', [record.orderId])
          throw boom
        }),
      ).rejects.toBe(boom)
      expect(await ledger.find(id)).toBeNull()
      expect(await products(id)).toBe(0)
      await ledger.grant(
        grant(id),
        async (record, tx) => void (await tx.query('INSERT INTO test_products (order_id) VALUES ($1)', [record.orderId])),
      )
      expect(await products(id)).toBe(1)
    })

    it('rolls back an onGrant that never finishes, frees its connection, and grants on the next try', async () => {
      const id = `order-${name}-t`
      const stuck = ledger.grant(
        grant(id),
        async (record, tx) => {
          await tx.query('INSERT INTO test_products (order_id) VALUES ($1)', [record.orderId])
          // PGlite: a query on the database itself inside the transaction waits forever; pg: never resolves.
          await (name === 'PGlite' ? db.query('SELECT 1') : new Promise(() => {}))
        },
        { timeoutMs: 300 },
      )
      await expect(stuck).rejects.toBeInstanceOf(GrantTimeoutError)
      expect(await ledger.find(id)).toBeNull()
      expect(await products(id)).toBe(0)
      const next = await ledger.grant(
        grant(id),
        async (record, tx) => void (await tx.query('INSERT INTO test_products (order_id) VALUES ($1)', [record.orderId])),
      )
      expect(next.created).toBe(true)
      expect(await products(id)).toBe(1)
    })

    it('runs onGrant once for 30 concurrent grants of one order', async () => {
      const id = `order-${name}-c`
      let calls = 0
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          ledger.grant(grant(id, i % 2 ? 'u1' : 'u9'), async (record, tx) => {
            calls++
            await new Promise((r) => setTimeout(r, 5))
            await tx.query('INSERT INTO test_products (order_id) VALUES ($1)', [record.orderId])
          }),
        ),
      )
      expect(results.filter((r) => r.created)).toHaveLength(1)
      expect(new Set(results.map((r) => r.record.userId)).size).toBe(1)
      expect(calls).toBe(1)
      expect(await products(id)).toBe(1)
    })

    it('lists a user’s orders, newest first', async () => {
      const orders = await ledger.ordersOf('u1')
      expect(orders.map((o) => o.orderId)).toContain(`order-${name}-a`)
      expect(orders.every((o) => o.userId === 'u1')).toBe(true)
      expect(await ledger.ordersOf('nobody')).toEqual([])
      await close()
    })
  })
}

suite('PGlite', openPGlite)

describe('PGlite on disk', () => {
  it('keeps the ledger across a restart', async () => {
    const first = await openPGlite()
    await (await createGrantLedger(first.db)).grant(grant('kept'))
    await first.db.close()
    const second = new PGlite(first.dir)
    const ledger = await createGrantLedger(second)
    expect(await ledger.find('kept')).toMatchObject({ orderId: 'kept', userId: 'u1' })
    await second.close()
    rmSync(first.dir, { recursive: true, force: true })
  })
})

describe('a database that is neither', () => {
  it('refuses a single pg Client', async () => {
    const client = new pg.Client({ connectionString: 'postgres://127.0.0.1:1/none' })
    await expect(createGrantLedger(client as never)).rejects.toThrow(/PGlite instance or a pg Pool/)
  })
})

describe.skipIf(!PG_URL)('PostgreSQL', () => {
  it('migrates once when many processes start at once', async () => {
    const schema = `mig_${process.pid}_${Date.now()}`
    const admin = new pg.Pool({ connectionString: PG_URL! })
    await admin.query(`CREATE SCHEMA ${schema}`)
    const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: PG_URL!, options: `-c search_path=${schema}` }))
    const ledgers = await Promise.all(pools.map((p) => createGrantLedger(p)))
    expect(ledgers.map((l) => l.schemaVersion)).toEqual([4, 4, 4, 4, 4, 4])
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.toss_iap_schema`)).rows[0].n).toBe(4)
    await Promise.all(pools.map((p) => p.end()))
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  })
})

if (PG_URL) suite('PostgreSQL', () => openPgSchema('ledger'))
