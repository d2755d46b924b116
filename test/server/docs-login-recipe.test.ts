import { execFile } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { bundleRecipe, code, recipeDir, recipeOf } from './recipe.ts'

// The login guide's local recipe ("로컬에서 전체 흐름 돌려 보기" in docs/login.ko.md) runs as printed:
// Toss login, a grant with the session, logout, against the fake Toss and a real PGlite on disk.

const ko = recipeOf('docs/login.ko.md', /^## 로컬에서 전체 흐름 돌려 보기/m)
const en = recipeOf('docs/login.md', /^## The whole chain locally/m)

describe('the login guide runs as written', () => {
  const dir = recipeDir('docs-login')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('the Korean and the English page carry the same code', () => {
    expect([...ko.files.keys()].sort()).toEqual(['LoginBar.vue', 'local.ts', 'main.ts', 'server.ts'])
    for (const [name, source] of ko.files) if (name.endsWith('.ts')) expect(code(en.files.get(name)!), name).toBe(code(source))
    expect(en.printed).toEqual(ko.printed)
    expect(ko.printed).toHaveLength(1)
  })

  it('local.ts logs in, buys with the session and logs out, printing what the docs print', async () => {
    for (const name of ['server.ts', 'local.ts']) writeFileSync(join(dir, name), `${ko.files.get(name)!}\n`)
    const script = await bundleRecipe(dir, 'local.ts')
    const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: dir, timeout: 90_000 })
    expect(stdout.trim()).toBe(ko.printed[0])
    const db = new PGlite(join(dir, 'data', 'login'))
    try {
      expect((await db.query('SELECT order_id, user_id FROM owned')).rows).toEqual([{ order_id: 'order-1', user_id: '9007199254740993' }])
      expect((await db.query('SELECT revoked_reason FROM toss_iap_sessions')).rows).toEqual([{ revoked_reason: 'logout' }])
    } finally {
      await db.close()
    }
  }, 120_000)
})
