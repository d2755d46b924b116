import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
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
 * PGlite takes seconds to create a database on a slow machine (initdb in WebAssembly) and about
 * one to open one: an empty one is made once and cached, and each test copies it (see pglite.ts).
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_PG_URL ?? process.env.DATABASE_URL
  if (!url) {
    if (process.env.CI === 'true' || process.env.CI === '1')
      throw new Error('CI=true but no PostgreSQL: set TEST_PG_URL (.ci/run starts one with scripts/start-postgres.sh)')
    console.log('PostgreSQL integration tests skipped: no TEST_PG_URL (scripts/start-postgres.sh starts a local one)')
  }
  project.provide('pgliteTemplate', await pgliteTemplate())
}

/**
 * An empty PGlite database, made once per PGlite version and kept in node_modules/.cache (made
 * beside it and renamed into place, so a run killed halfway never leaves half a template).
 */
async function pgliteTemplate(): Promise<string> {
  const { version } = JSON.parse(readFileSync(join(process.cwd(), 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as {
    version: string
  }
  const cache = join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test')
  const template = join(cache, `pglite-${version}`)
  if (existsSync(join(template, 'PG_VERSION'))) return template
  mkdirSync(cache, { recursive: true })
  const building = mkdtempSync(join(cache, 'pglite-building-'))
  const db = new PGlite(building)
  await db.query('SELECT 1')
  await db.close()
  try {
    renameSync(building, template)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another run got there first
  }
  return template
}
