import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string
  }
}

/**
 * Integration tests need a real PostgreSQL: TEST_PG_URL (or DATABASE_URL). Without one they are
 * skipped with one line, except under CI, where a missing PostgreSQL fails the run.
 *
 * PGlite takes seconds to create a database on a slow machine (initdb in WebAssembly) and well
 * under one to open one: it is created once here, and each test copies it (see pglite.ts).
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_PG_URL ?? process.env.DATABASE_URL
  if (!url) {
    if (process.env.CI === 'true' || process.env.CI === '1')
      throw new Error('CI=true but no PostgreSQL: set TEST_PG_URL (.ci/run starts one with scripts/start-postgres.sh)')
    console.log('PostgreSQL integration tests skipped: no TEST_PG_URL (scripts/start-postgres.sh starts a local one)')
  }
  const template = mkdtempSync(join(tmpdir(), 'vue-toss-iap-pglite-'))
  const db = new PGlite(template)
  await db.query('SELECT 1')
  await db.close()
  project.provide('pgliteTemplate', template)
  return () => rmSync(template, { recursive: true, force: true })
}
