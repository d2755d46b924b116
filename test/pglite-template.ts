import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string
  }
}

/**
 * An empty PGlite database, made once per PGlite version and kept in node_modules/.cache (made
 * beside it and renamed into place, so a run killed halfway never leaves half a template).
 * PGlite's initdb costs seconds of CPU on a slow machine; a copy of the template costs a fraction
 * of one. One build per run even when several projects' global setups ask at once.
 */
export function pgliteTemplate(): Promise<string> {
  const key = Symbol.for('vue-toss-iap-test.pgliteTemplate')
  const store = globalThis as { [key]?: Promise<string> }
  return (store[key] ??= buildTemplate())
}

/** The installed PGlite's version: a database it made is only opened by the same version. */
export function pgliteVersion(): string {
  return (JSON.parse(readFileSync(join(process.cwd(), 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string })
    .version
}

async function buildTemplate(): Promise<string> {
  const version = pgliteVersion()
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
