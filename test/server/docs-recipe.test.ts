import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'

// The server guide's local recipe ("로컬에서 돌려 보기" in docs/server.ko.md, "Run it locally" in
// docs/server.md) runs as printed: its files are taken from the Korean page (the English page must
// carry the same code), written to a folder, and run with Node against the fake Toss partner API and
// a real PGlite on disk; its curl block runs too. Nothing here is a copy of the docs' code.

const root = process.cwd()

interface Recipe {
  /** `ts file=NAME` blocks: file name → code. */
  files: Map<string, string>
  /** `sh recipe` blocks, in order. */
  shell: string[]
  /** `text` blocks of the recipe section, in order: what the docs say is printed. */
  printed: string[]
}

function recipeOf(page: string, heading: RegExp): Recipe {
  const text = readFileSync(page, 'utf8')
  const files = new Map<string, string>()
  for (const m of text.matchAll(/^```ts file=(\S+)\n([\s\S]*?)\n```$/gm)) files.set(m[1]!, m[2]!)
  const shell = [...text.matchAll(/^```sh recipe\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!)
  const start = text.search(heading)
  const section = text.slice(start, text.indexOf('\n## ', start + 1))
  const printed = [...section.matchAll(/^```text\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!)
  return { files, shell, printed }
}

/** The code without its comments (the only part a translation may change): whole-line and trailing `// …`. */
const code = (source: string) =>
  source
    .split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .map((line) => line.replace(/\s+\/\/ [^'"`]*$/, '').trimEnd())
    .join('\n')

const ko = recipeOf('docs/server.ko.md', /^## 로컬에서 돌려 보기/m)
const en = recipeOf('docs/server.md', /^## Run it locally/m)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('the server guide runs as written', () => {
  const cache = join(root, 'node_modules', '.cache', 'vue-toss-iap-test')
  mkdirSync(cache, { recursive: true })
  // Inside the repository, so that the recipe's own imports (PGlite, selfsigned) resolve as in an app.
  const dir = mkdtempSync(join(cache, 'docs-recipe-'))
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
    // `npx tsx local.ts` as the docs say, here by bundling with the package's entries pointed at its sources.
    await build({
      entryPoints: [join(dir, 'local.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: join(dir, 'local.mjs'),
      alias: {
        'vue-toss-iap/server': join(root, 'src/server/index.ts'),
        'vue-toss-iap/testing/server': join(root, 'src/testing/server.ts'),
      },
      external: ['@electric-sql/pglite', 'selfsigned', 'pg'],
      logLevel: 'warning',
    })

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
