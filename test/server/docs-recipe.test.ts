import { execFile, spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { bundleRecipe, code, freePort, recipeDir, recipeOf } from './recipe.ts'

// The server guide's local recipe ("로컬에서 돌려 보기" in docs/server.ko.md, "Run it locally" in
// docs/server.md) runs as printed: its files are taken from the Korean page (the English page must
// carry the same code), written to a folder, and run with Node against the fake Toss partner API and
// a real PGlite on disk; its curl block runs too. Nothing here is a copy of the docs' code.

const ko = recipeOf('docs/server.ko.md', /^## 로컬에서 돌려 보기/m)
const en = recipeOf('docs/server.md', /^## Run it locally/m)

describe('the server guide runs as written', () => {
  const dir = recipeDir('docs-recipe')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('the Korean and the English page carry the same recipe', () => {
    expect([...ko.files.keys()].sort()).toEqual(['local.ts', 'main.ts', 'server.ts'])
    expect([...en.files.keys()].sort()).toEqual([...ko.files.keys()].sort())
    for (const [name, source] of ko.files) expect(code(en.files.get(name)!), name).toBe(code(source))
    expect(en.shell).toEqual(ko.shell)
    expect(en.printed).toEqual(ko.printed)
    expect(ko.shell).toHaveLength(1)
    expect(ko.printed).toHaveLength(2)
  })

  it('local.ts grants a paid order through the fake Toss into its own table, and the curl block shows the repeat and the entitlement', async () => {
    for (const [name, source] of ko.files) writeFileSync(join(dir, name), `${source}\n`)
    await bundleRecipe(dir, 'local.ts')

    const port = await freePort()
    const child = spawn(process.execPath, ['local.mjs'], { cwd: dir, env: { ...process.env, PORT: String(port) } })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)))
    try {
      // What the docs say local.ts prints, with this run's port.
      const expected = ko.printed[0]!.replaceAll('8787', String(port))
      const lines = expected.split('\n').length
      await expect.poll(() => out.split('\n').length > lines || child.exitCode !== null, { timeout: 90_000, interval: 100 }).toBe(true)
      expect(out.trim(), err).toBe(expected)

      // The curl block, as printed (port aside), while local.ts keeps serving.
      const { stdout } = await promisify(execFile)('bash', ['-c', ko.shell[0]!.replaceAll('8787', String(port))])
      expect(stdout.trim()).toBe(ko.printed[1])
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited, err).toBe(0) // its Ctrl+C handler closed everything

    // The folder the recipe created holds the ledger row and, from onGrant, the app's own row.
    const db = new PGlite(join(dir, 'data', 'ledger'))
    try {
      expect((await db.query('SELECT order_id, user_id, sku FROM owned')).rows).toEqual([
        { order_id: 'order-1', user_id: 'user-1', sku: 'remove-ads' },
      ])
      expect((await db.query('SELECT order_id, user_id, state FROM toss_iap_grants')).rows).toEqual([
        { order_id: 'order-1', user_id: 'user-1', state: 'granted' },
      ])
    } finally {
      await db.close()
    }
  }, 180_000)
})
