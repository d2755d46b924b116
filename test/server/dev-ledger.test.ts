import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { emptyDatabase } from '../../src/vite/serverHalf.ts'
import { pgliteVersion } from '../pglite-template.ts'
import { openPGlite } from './pglite.ts'

// The server half of `vite dev` (vue-toss-iap/vite) starts from an empty in-memory PGlite. The
// empty database comes from a dump in Vite's cache folder after the first start, instead of an
// initdb per start.

const cacheDir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-dev-ledger-'))
const copies: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of copies) await close()
  rmSync(cacheDir, { recursive: true, force: true })
})
/**
 * PGlite, with the options of each `create` recorded. A `create()` without options (an initdb, about
 * 5 s of CPU) is answered with a real PGlite opened on a copy of the run's empty template instead:
 * the same empty database, made the way the other server tests make theirs.
 */
const created: unknown[][] = []
const Recorded = {
  create: async (...args: unknown[]) => {
    created.push(args)
    if (args.length) return (PGlite.create as (...a: unknown[]) => Promise<PGlite>)(...args)
    const copy = await openPGlite()
    copies.push(copy.close)
    return copy.db
  },
} as typeof PGlite

describe("the dev server's empty ledger", () => {
  // The first start meets a torn dump, the second loads the one the first wrote.
  it(
    'a start with a torn dump makes a new database and replaces the dump; the next start loads it, as empty as a new database',
    { timeout: 120_000 },
    async () => {
      const folder = join(cacheDir, 'vue-toss-iap')
      mkdirSync(folder)
      const file = join(folder, `empty-ledger-pglite-${pgliteVersion()}.tar.gz`)
      writeFileSync(file, 'not a tarball')
      const first = await emptyDatabase(Recorded, cacheDir)
      expect(created).toEqual([[{ loadDataDir: expect.any(Blob) }], []]) // tried the dump, then a new database
      expect(statSync(file).size).toBeGreaterThan(1_000_000)
      expect(readdirSync(folder)).toEqual([basename(file)]) // no temporary file left beside it
      await first.query('CREATE TABLE kept (n int)')
      await first.close()

      const second = await emptyDatabase(Recorded, cacheDir)
      expect(created).toHaveLength(3)
      expect(created[2]).toEqual([{ loadDataDir: expect.any(Blob) }])
      // Nothing of the first start's data: the dump was taken empty. And it takes writes.
      expect((await second.query(`SELECT to_regclass('kept') AS t`)).rows).toEqual([{ t: null }])
      await second.query('CREATE TABLE t (n int)')
      await second.query('INSERT INTO t VALUES (1)')
      expect((await second.query('SELECT n FROM t')).rows).toEqual([{ n: 1 }])
      await second.close()
    },
  )
})
