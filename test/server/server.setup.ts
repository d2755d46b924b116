import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { pgliteTemplate } from '../pglite-template.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this run's test processes bundle the multi-process worker script (see processes.ts). */
    workerDir: string
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
  // In node_modules/.cache, so that the bundle's imports (`pg`, PGlite) resolve from there. The run
  // removes it at the end: Vitest stops its test processes without their 'exit' handlers.
  const cache = join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test')
  mkdirSync(cache, { recursive: true })
  const workerDir = mkdtempSync(join(cache, 'workers-'))
  project.provide('workerDir', workerDir)
  return () => rmSync(workerDir, { recursive: true, force: true })
}
