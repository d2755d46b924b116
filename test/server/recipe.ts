import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { build } from 'esbuild'

// What the docs' runnable recipes share (docs/server*.md, docs/login*.md): their blocks, read from a
// page, and the bundling that stands in for `npx tsx`.

export interface Recipe {
  /** `ts file=NAME` blocks: file name → code. */
  files: Map<string, string>
  /** `sh recipe` blocks, in order. */
  shell: string[]
  /** `text` blocks of the recipe section, in order: what the docs say is printed. */
  printed: string[]
}

/** The recipe of `page`: its named files, and the shell and text blocks of the section under `heading`. */
export function recipeOf(page: string, heading: RegExp): Recipe {
  const text = readFileSync(page, 'utf8')
  const files = new Map<string, string>()
  for (const m of text.matchAll(/^```(?:ts|vue) file=(\S+)\n([\s\S]*?)\n```$/gm)) files.set(m[1]!, m[2]!)
  const shell = [...text.matchAll(/^```sh recipe\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!)
  const start = text.search(heading)
  const section = text.slice(start, text.indexOf('\n## ', start + 1))
  const printed = [...section.matchAll(/^```text\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!)
  return { files, shell, printed }
}

/** The code without its comments (the only part a translation may change): whole-line and trailing `// …`. */
export const code = (source: string) =>
  source
    .split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .map((line) => line.replace(/\s+\/\/ [^'"`]*$/, '').trimEnd())
    .join('\n')

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A folder for a recipe's files inside the repository, so that its own imports (PGlite, selfsigned) resolve as in an app. */
export function recipeDir(name: string): string {
  const cache = join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test')
  mkdirSync(cache, { recursive: true })
  return mkdtempSync(join(cache, `${name}-`))
}

/** `npx tsx <entry>` as the docs say, here by bundling with the package's entries pointed at its sources. */
export async function bundleRecipe(dir: string, entry: string): Promise<string> {
  const root = process.cwd()
  const outfile = join(dir, entry.replace(/\.ts$/, '.mjs'))
  await build({
    entryPoints: [join(dir, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    alias: {
      'vue-toss-iap/server': join(root, 'src/server/index.ts'),
      'vue-toss-iap/testing/server': join(root, 'src/testing/server.ts'),
    },
    external: ['@electric-sql/pglite', 'selfsigned', 'pg'],
    logLevel: 'warning',
  })
  return outfile
}
