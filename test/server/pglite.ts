import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { inject } from 'vitest'

/** A fresh PGlite database on disk, copied from the run's template; `close` also removes it. */
export async function openPGlite(): Promise<{ db: PGlite; dir: string; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'vue-toss-iap-test-'))
  cpSync(inject('pgliteTemplate'), dir, { recursive: true })
  const db = new PGlite(dir)
  await db.waitReady
  return {
    db,
    dir,
    // Removes the directory even when the database was closed already (closing twice throws).
    close: async () => {
      try {
        if (!db.closed) await db.close()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
