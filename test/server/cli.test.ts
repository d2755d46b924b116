// `vue-toss-iap reconcile` as a cron runs it: a child process configured by the environment.
import { spawn } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { build } from 'esbuild'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGrantLedger } from '../../src/server/index.ts'
import { startFakeTossPartnerApi, type FakeTossPartnerApi } from '../../src/testing/server.ts'
import { WASM_BASELINE_ONLY } from '../wasm-flags.ts'
import { PG_URL } from './pg.ts'
import { openPGlite } from './pglite.ts'

const cache = join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test')
let script: string
let api: FakeTossPartnerApi
let pgl: Awaited<ReturnType<typeof openPGlite>>
let keyFile: string
let hooksFile: string

function run(env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|TOSS_|TEST_PG_URL)/.test(k)))
  const child = spawn(process.execPath, [...WASM_BASELINE_ONLY, script, 'reconcile'], {
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

beforeAll(async () => {
  mkdirSync(cache, { recursive: true })
  script = join(cache, `cli-${process.pid}.mjs`)
  await build({
    entryPoints: [join(process.cwd(), 'src/server/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: script,
    logLevel: 'warning',
  })
  api = await startFakeTossPartnerApi()
  pgl = await openPGlite()
  const ledger = await createGrantLedger(pgl.db)
  for (const orderId of ['c-1', 'c-2', 'c-3']) {
    api.setOrder({ orderId, sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-alice' })
    await ledger.grant({ orderId, userId: 'alice', sku: 'remove-ads', kind: 'one-time', tossStatus: 'PURCHASED', userKey: 'tk-alice' })
  }
  await pgl.db.query('CREATE TABLE app_revoked (order_id text PRIMARY KEY)')
  api.refund('c-2')
  await pgl.db.close() // the CLI opens the directory itself
  keyFile = join(pgl.dir, '..', `cli-key-${process.pid}.pem`)
  writeFileSync(keyFile, api.certificates.client.key)
  hooksFile = join(cache, `cli-hooks-${process.pid}.mjs`)
  writeFileSync(
    hooksFile,
    `export async function onRevoke(order, tx) { await tx.query('INSERT INTO app_revoked (order_id) VALUES ($1)', [order.orderId]) }\n`,
  )
})
afterAll(async () => {
  await api?.close()
  await pgl?.close().catch(() => {})
  // The bundled CLI, the hooks module and the copy of the client's private key.
  for (const file of [script, hooksFile, keyFile]) if (file) rmSync(file, { force: true })
})

describe('vue-toss-iap reconcile', () => {
  it(
    'reconciles a PGlite ledger with the PEM from a file and from the environment, printing a summary and no secret',
    { timeout: 120_000 },
    async () => {
      const env = {
        DATABASE_URL: `pglite:${pgl.dir}`,
        TOSS_CERT: api.certificates.client.cert,
        TOSS_KEY: keyFile,
        TOSS_CA: api.certificates.ca.cert,
        TOSS_BASE_URL: api.url,
        TOSS_RECONCILE_HOOKS: hooksFile,
      }
      const first = await run(env)
      expect(first.stderr).toBe('')
      expect(first.code).toBe(0)
      expect(first.stdout).toContain('finished; checked 3, refunded 1, skipped 0 (no user key), failed 0')
      expect(first.stdout).toContain('refunded c-2')
      const again = await run(env)
      expect(again.code).toBe(0)
      expect(again.stdout).toContain('checked 2, refunded 0')
      for (const out of [first.stdout + first.stderr, again.stdout + again.stderr]) {
        expect(out).not.toContain('BEGIN')
        expect(out).not.toContain('tk-alice')
      }
      const db = new PGlite(pgl.dir)
      try {
        const ledger = await createGrantLedger(db)
        expect(await ledger.find('c-2')).toMatchObject({ state: 'refunded', accessActive: false })
        expect(await ledger.find('c-1')).toMatchObject({ state: 'granted', refundedAt: null })
        expect((await db.query('SELECT order_id FROM app_revoked')).rows).toEqual([{ order_id: 'c-2' }])
      } finally {
        await db.close()
      }
    },
  )

  it(
    'with TOSS_RECONCILE_LOG=json writes every event as one JSON line, the summary last, and no secret',
    { timeout: 120_000 },
    async () => {
      api.refund('c-3') // c-2 was refunded by the run above; c-1 and c-3 are still granted
      const env = {
        DATABASE_URL: `pglite:${pgl.dir}`,
        TOSS_CERT: api.certificates.client.cert,
        TOSS_KEY: keyFile,
        TOSS_CA: api.certificates.ca.cert,
        TOSS_BASE_URL: api.url,
        TOSS_RECONCILE_LOG: 'json',
      }
      const { code, stdout, stderr } = await run(env)
      expect(stderr).toBe('')
      expect(code).toBe(0)
      const lines = stdout.trim().split('\n')
      const events = lines.map((line) => JSON.parse(line) as { type: string; time: string; orderId?: string })
      for (const e of events) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT/)
      expect(events.filter((e) => e.type === 'toss.call').map((e) => e.orderId)).toEqual(['c-1', 'c-3'])
      expect(events.filter((e) => e.type === 'reconcile.checked').map((e) => e.orderId)).toEqual(['c-1', 'c-3'])
      expect(events.filter((e) => e.type === 'reconcile.revoked')).toEqual([expect.objectContaining({ orderId: 'c-3' })])
      expect(events.at(-1)).toMatchObject({ type: 'reconcile.finished', finished: true, checked: 2, refunded: 1, failed: 0 })
      expect(stdout).not.toContain('BEGIN')
      expect(stdout).not.toContain('tk-alice')
      const wrong = await run({ ...env, TOSS_RECONCILE_LOG: 'xml' })
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toMatch(/TOSS_RECONCILE_LOG must be text or json/)
    },
  )

  it('fails with exit status 1 and a message without the secret on bad configuration', { timeout: 120_000 }, async () => {
    const key = api.certificates.client.key
    const broken = key.replace(/[A-Za-z0-9]{20}/, 'AAAAAAAAAAAAAAAAAAAA')
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ TOSS_CERT: api.certificates.client.cert, TOSS_KEY: key }, /DATABASE_URL is not set/],
      [{ DATABASE_URL: `pglite:${pgl.dir}`, TOSS_CERT: api.certificates.client.cert }, /TOSS_KEY is not set/],
      [
        { DATABASE_URL: `pglite:${pgl.dir}`, TOSS_CERT: api.certificates.client.cert, TOSS_KEY: '/nope/key.pem' },
        /TOSS_KEY is neither PEM/,
      ],
      [{ DATABASE_URL: `pglite:${pgl.dir}`, TOSS_CERT: api.certificates.client.cert, TOSS_KEY: broken }, /cannot be used/],
      [{ DATABASE_URL: '/nope/ledger', TOSS_CERT: api.certificates.client.cert, TOSS_KEY: key }, /neither postgres/],
    ]
    // Independent runs: side by side.
    const results = await Promise.all(cases.map(([env]) => run(env)))
    for (const [i, [env, message]] of cases.entries()) {
      const { code, stdout, stderr } = results[i]!
      expect(code, JSON.stringify(Object.keys(env))).toBe(1)
      expect(stderr).toMatch(message)
      expect(stdout + stderr).not.toContain('BEGIN')
      expect(stdout + stderr).not.toContain(key.split('\n')[1]!)
    }
  })
})

describe.skipIf(!PG_URL)('vue-toss-iap reconcile on PostgreSQL', () => {
  it('reconciles a pg ledger given as DATABASE_URL', { timeout: 120_000 }, async () => {
    const schema = `cli_${process.pid}_${Date.now()}`
    const admin = new pg.Pool({ connectionString: PG_URL! })
    await admin.query(`CREATE SCHEMA ${schema}`)
    const pool = new pg.Pool({ connectionString: PG_URL!, options: `-c search_path=${schema}` })
    try {
      const ledger = await createGrantLedger(pool)
      for (const orderId of ['p-1', 'p-2']) {
        api.setOrder({ orderId, sku: 'remove-ads', status: 'PURCHASED', userKey: 'tk-bob' })
        await ledger.grant({ orderId, userId: 'bob', sku: 'remove-ads', kind: 'one-time', tossStatus: 'PURCHASED', userKey: 'tk-bob' })
      }
      api.refund('p-1')
      const url = new URL(PG_URL!)
      url.searchParams.set('options', `-c search_path=${schema}`)
      const { code, stdout, stderr } = await run({
        DATABASE_URL: url.href,
        TOSS_CERT: api.certificates.client.cert,
        TOSS_KEY: keyFile,
        TOSS_CA: api.certificates.ca.cert,
        TOSS_BASE_URL: api.url,
      })
      expect(stderr).toBe('')
      expect(code).toBe(0)
      expect(stdout).toContain('finished; checked 2, refunded 1')
      expect(stdout).not.toContain(url.password || 'BEGIN')
      expect(await ledger.find('p-1')).toMatchObject({ state: 'refunded' })
      expect(await ledger.find('p-2')).toMatchObject({ state: 'granted' })
    } finally {
      await pool.end()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
    }
  })
})
