// The health answer for a load balancer: database, schema, client certificate expiry; 200 or 503.
import selfsigned from 'selfsigned'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createGrantLedger,
  createHealthHandler,
  createTossPartnerClient,
  type GrantLedger,
  type HealthBody,
  type PgPoolLike,
  type PGliteLike,
  type ServerEvent,
  type TossPartnerClient,
} from '../../src/server/index.ts'
import { createTestCertificates, type TestCertificates } from '../../src/testing/server.ts'
import { openPgSchema, PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const DAY = 86_400_000
const get = async (handler: (r: Request) => Promise<Response>, method = 'GET') => {
  const response = await handler(new Request('http://lb.internal/healthz', { method }))
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, body: (text === '' ? null : JSON.parse(text)) as HealthBody }
}

/** A client certificate from the test CA, valid from `from` to `to`. */
async function clientCertificate(ca: TestCertificates['ca'], from: Date, to: Date) {
  const made = await selfsigned.generate([{ name: 'commonName', value: 'health mini-app' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: from,
    notAfterDate: to,
    ca,
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  } as never)
  return { cert: made.cert, key: made.private }
}

let certs: TestCertificates
beforeAll(async () => {
  certs = await createTestCertificates()
})

type Open = () => Promise<{ db: PGliteLike | PgPoolLike; close: () => Promise<void> }>

function suite(name: string, open: Open) {
  describe(name, () => {
    let db: PGliteLike | PgPoolLike
    let close: () => Promise<void>
    let ledger: GrantLedger
    const clients: TossPartnerClient[] = []
    const client = (...pairs: Array<{ cert: string; key: string }>) => {
      const c = createTossPartnerClient({ credentials: pairs, ca: certs.ca.cert, baseUrl: 'https://127.0.0.1:1' })
      clients.push(c)
      return c
    }

    beforeAll(async () => {
      ;({ db, close } = await open())
      ledger = await createGrantLedger(db)
    })
    afterAll(async () => {
      for (const c of clients) c.close()
      await close?.().catch(() => {})
    })

    it('answers 200 with the schema version and the days the soonest certificate has left, and nothing secret', async () => {
      const now = Date.now()
      const soon = await clientCertificate(certs.ca, new Date(now - DAY), new Date(now + 5 * DAY + 3_600_000))
      const later = await clientCertificate(certs.ca, new Date(now - DAY), new Date(now + 300 * DAY))
      const events: ServerEvent[] = []
      const health = createHealthHandler({ ledger, toss: client(later, soon), onEvent: (e) => void events.push(e) })
      const { status, headers, body, text } = await get(health)
      expect(status).toBe(200)
      expect(headers.get('cache-control')).toBe('no-store')
      expect(body.status).toBe('ok')
      expect(body.checks.database).toMatchObject({ ok: true })
      expect(body.checks.migrations).toEqual({ ok: true, version: ledger.schemaVersion, expected: ledger.schemaVersion })
      expect(body.checks.certificates).toMatchObject({ ok: true, daysLeft: 5, valid: 2, total: 2 })
      expect(body.warnings).toEqual(['a client certificate expires in 5 days: register its successor'])
      for (const secret of ['BEGIN', soon.key.split('\n')[1]!, soon.cert.split('\n')[1]!, PG_URL ?? 'postgres://'])
        expect(text).not.toContain(secret)
      await new Promise((r) => setImmediate(r))
      expect(events).toEqual([
        { type: 'health.checked', healthy: true, failing: [], certificateDaysLeft: 5, durationMs: expect.any(Number) },
      ])
      const head = await get(health, 'HEAD')
      expect(head.status).toBe(200)
      expect(head.text).toBe('')
      expect((await get(health, 'POST')).status).toBe(405)
    })

    it('answers 503 once every client certificate has expired (one still valid is enough)', async () => {
      const now = Date.now()
      const expired = await clientCertificate(certs.ca, new Date(now - 30 * DAY), new Date(now - 2 * DAY - 3_600_000))
      const fine = await clientCertificate(certs.ca, new Date(now - DAY), new Date(now + 90 * DAY))
      const rotating = await get(createHealthHandler({ ledger, toss: client(fine, expired) }))
      expect(rotating.status).toBe(200)
      expect(rotating.body.checks.certificates).toMatchObject({ ok: true, daysLeft: -3, valid: 1, total: 2 })
      const dead = await get(createHealthHandler({ ledger, toss: client(expired) }))
      expect(dead.status).toBe(503)
      expect(dead.body).toMatchObject({ status: 'fail', checks: { database: { ok: true }, certificates: { ok: false, valid: 0 } } })
    })

    it('answers 503 when the schema is behind what this process needs', async () => {
      await ledger.transaction((tx) => tx.query('DELETE FROM toss_iap_schema WHERE version = $1', [ledger.schemaVersion]))
      try {
        const { status, body } = await get(createHealthHandler({ ledger }))
        expect(status).toBe(503)
        expect(body.checks.migrations).toEqual({ ok: false, version: ledger.schemaVersion - 1, expected: ledger.schemaVersion })
      } finally {
        await ledger.transaction((tx) => tx.query('INSERT INTO toss_iap_schema (version) VALUES ($1)', [ledger.schemaVersion]))
      }
      expect((await get(createHealthHandler({ ledger }))).status).toBe(200)
    })

    it('answers 503 "timeout" when the database does not answer in time', async () => {
      // Another session holds the schema table exclusively (PGlite: any open transaction blocks).
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let locked!: () => void
      const isLocked = new Promise<void>((resolve) => (locked = resolve))
      const holder = ledger.transaction(async (tx) => {
        await tx.query('LOCK TABLE toss_iap_schema IN ACCESS EXCLUSIVE MODE')
        locked()
        await held
      })
      await isLocked
      try {
        const { status, body } = await get(createHealthHandler({ ledger, timeoutMs: 200 }))
        expect(status).toBe(503)
        expect(body.checks.database).toMatchObject({ ok: false, error: 'timeout' })
      } finally {
        release()
        await holder
      }
    })

    it('answers 503 "unreachable" once the database is closed', async () => {
      await close()
      const { status, body, text } = await get(createHealthHandler({ ledger }))
      expect(status).toBe(503)
      expect(body).toMatchObject({ status: 'fail', checks: { database: { ok: false, error: 'unreachable' }, migrations: { ok: false } } })
      expect(text).not.toMatch(/password|postgres:\/\//i)
    })
  })
}

suite('on PGlite', async () => {
  const pgl = await openPGlite()
  return { db: pgl.db, close: pgl.close }
})

describe.skipIf(!PG_URL)('PostgreSQL', () => {
  suite('on PostgreSQL', () => openPgSchema('health'))
})
