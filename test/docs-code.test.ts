// @vitest-environment node
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// Every TypeScript and Vue block of the READMEs and of every page in docs/ compiles, as a user would
// paste it, under a strict tsconfig with the package's public entries: each block is a module of
// its own, so it carries its imports (and `declare`s the app's own functions it calls).
//
// Info-string flags, used sparingly, each listed on every run:
// - ```ts fragment: a piece that continues the text around it and cannot stand alone. Not checked.
// - ```ts sketch: pseudo-code around services of your own (an Express app). Not checked.
// - ```ts pending-api: uses an API not merged into this branch yet. Not checked.
// - a block right after `<!-- include examples/server/NAME -->` is that file of the repository,
//   checked by `npm run typecheck` and run by test/server/mounting.test.ts (which keeps the two equal).
// - ```ts file=NAME: one file of a multi-file example (the server guide's recipe): the page's blocks
//   with a file name are checked together, as files of one folder, so they may import each other.

const SKIP_FLAGS = ['fragment', 'sketch', 'pending-api']
const README_FILES = ['README.md', 'README.ko.md']
const DOC_FILES = readdirSync('docs')
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => `docs/${f}`)

interface Block {
  file: string
  line: number
  lang: 'ts' | 'vue'
  flags: string[]
  /** From a `file=NAME` flag: the block is that file of a folder shared with the page's other named blocks. */
  fileName: string | null
  code: string
}

function blocks(file: string): Block[] {
  if (!existsSync(file)) return []
  const found: Block[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|vue)\b(.*)$/.exec(lines[i]!)
    if (!open) continue
    const included = /^<!-- include examples\//.test(lines[i - 1] ?? '')
    const start = i
    const body: string[] = []
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!)
    const flags = open[2]!.trim().split(/\s+/).filter(Boolean)
    found.push({
      file,
      line: start + 1,
      lang: open[1] as 'ts' | 'vue',
      flags: included ? [...flags, 'included'] : flags,
      fileName: flags.find((f) => f.startsWith('file='))?.slice('file='.length) ?? null,
      code: body.join('\n'),
    })
  }
  return found
}

const all = [...README_FILES.flatMap(blocks), ...DOC_FILES.flatMap(blocks)]
const skipped = all.filter((b) => b.flags.some((f) => SKIP_FLAGS.includes(f)))
const included = all.filter((b) => b.flags.includes('included'))
const checked = all.filter((b) => !skipped.includes(b) && !included.includes(b))

// The blocks are written to the same place on every run, with vue-tsc's incremental build info
// beside them: what did not change since the last run (the SDK's and Vue's types, unchanged
// blocks) is not checked again. The blocks are written afresh each run (a block that left the docs
// leaves no file behind); the build info keys each file by its content, so a change anywhere is
// checked again, and the errors of a file that did not change are reported again from it.
const cache = join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test', 'docs-code')
const dir = join(cache, 'blocks')
const buildInfo = join(cache, 'docs-code.tsbuildinfo')

describe('code blocks in the docs', () => {
  it("finds the READMEs' and every docs page's blocks", () => {
    expect(checked.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(2)
    expect(DOC_FILES).toEqual(expect.arrayContaining(['docs/server.md', 'docs/server.ko.md', 'docs/reference.md', 'docs/reference.ko.md']))
    for (const file of DOC_FILES) {
      const blocksOfPage = all.filter((b) => b.file === file)
      // A page whose blocks are all skipped checks nothing: at most one skip per page, and not all.
      if (blocksOfPage.length > 0) expect(checked.some((b) => b.file === file), file).toBe(true)
      expect(skipped.filter((b) => b.file === file).length, `${file} skips too many blocks`).toBeLessThanOrEqual(1)
    }
  })

  it('every checked block type-checks under strict settings', () => {
    // Names an example imports from the app itself.
    const stubs: Record<string, string> = {
      'App.vue': '<template><main /></template>\n',
      'BuyButton.vue':
        '<script setup lang="ts">\nimport { usePurchase } from \'vue-toss-iap\'\nconst { purchase } = usePurchase(\'gem-100\')\n</script>\n<template><button @click="purchase()">Buy</button></template>\n',
      'auth.ts': "export async function getToken(): Promise<string> {\n  return 'token'\n}\n",
      // The README's server module, as `tossIapDev({ endpoints })` imports it lazily.
      'server.ts': 'export declare const fulfil: (request: Request) => Promise<Response>\nexport declare const login: (request: Request) => Promise<Response>\n',
      'env.d.ts': '/// <reference types="vite/client" />\n',
    }
    const root = process.cwd()
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    // Where each block is written, to name it in an error: `b<n>/example.ts`, or `f<page>/<file=NAME>`.
    const places = new Map<string, Block>()
    checked.forEach((block, n) => {
      const folder = block.fileName ? `f${DOC_FILES.indexOf(block.file)}${README_FILES.indexOf(block.file)}` : `b${n}`
      const blockDir = join(dir, folder)
      if (!existsSync(blockDir)) {
        mkdirSync(blockDir)
        // A page's own named files stand in for the stubs of the same name (its server.ts, main.ts).
        const own = new Set(checked.filter((b) => b.file === block.file && b.fileName).map((b) => b.fileName))
        for (const [name, text] of Object.entries(stubs)) if (!block.fileName || !own.has(name)) writeFileSync(join(blockDir, name), text)
      }
      const name = block.fileName ?? (block.lang === 'vue' ? 'Example.vue' : 'example.ts')
      if (existsSync(join(blockDir, name)) && block.fileName) throw new Error(`${block.file}:${block.line}: a second block named ${name}`)
      writeFileSync(join(blockDir, name), `${block.code}\n`)
      places.set(`${folder}/${name}`, block)
    })
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          strict: true,
          noUncheckedIndexedAccess: true,
          noImplicitOverride: true,
          isolatedModules: true,
          verbatimModuleSyntax: true,
          skipLibCheck: true,
          noEmit: true,
          incremental: true,
          tsBuildInfoFile: buildInfo,
          types: ['node'],
          baseUrl: root,
          paths: {
            'vue-toss-iap': ['src/index.ts'],
            'vue-toss-iap/testing': ['src/testing/index.ts'],
            'vue-toss-iap/testing/server': ['src/testing/server.ts'],
            'vue-toss-iap/messages': ['src/messages/index.ts'],
            'vue-toss-iap/server': ['src/server/index.ts'],
            'vue-toss-iap/server/otel': ['src/server/otel.ts'],
            'vue-toss-iap/vite': ['src/vite/index.ts'],
            'vue-toss-iap/vite/client': ['src/vite/client.ts'],
          },
          typeRoots: [join(root, 'node_modules/@types')],
        },
        include: ['**/*.ts', '**/*.vue'],
      }),
    )
    let output = ''
    try {
      execFileSync(join(root, 'node_modules/.bin/vue-tsc'), ['--noEmit', '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' })
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error)
    }
    // Name each failing block by its place in the docs.
    const named = output.replace(/([bf][\d-]+)[\\/]([\w.-]+\.(?:ts|vue))/g, (whole, folder: string, name: string) => {
      const b = places.get(`${folder}/${name}`)
      return b ? `${b.file}:${b.line}` : whole
    })
    expect(named).toBe('')
  }, 120_000)

  it('every Korean page carries the examples of its English page', () => {
    // Korean first: the same code blocks, in the same order and of the same kinds (comments and
    // texts shown to users are translated; the code around them is not).
    const kinds = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^```(\w+)/gm)].map((m) => m[1])
    for (const ko of DOC_FILES.filter((f) => f.endsWith('.ko.md'))) {
      const en = ko.replace(/\.ko\.md$/, '.md')
      expect(kinds(ko), ko).toEqual(kinds(en))
    }
  })

  it('links that leave docs/ are absolute (docs/ is not in the npm package)', () => {
    for (const file of DOC_FILES) expect(readFileSync(file, 'utf8').match(/\]\(\.\.\/[^)]*\)/g), file).toBeNull()
  })

  it("links inside docs/ point at headings that exist (GitHub's anchors)", () => {
    const slugs = (file: string) => {
      const seen = new Map<string, number>()
      const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '')
      return new Set(
        [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => {
          const base = m[1]!
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, '')
            .replace(/\s/g, '-')
          const n = seen.get(base) ?? 0
          seen.set(base, n + 1)
          return n === 0 ? base : `${base}-${n}`
        }),
      )
    }
    const broken: string[] = []
    for (const file of DOC_FILES)
      for (const m of readFileSync(file, 'utf8').matchAll(/\]\(([\w.-]*\.md)?#([^)\s]+)\)/g)) {
        const target = m[1] ? `docs/${m[1]}` : file
        if (!existsSync(target) || !slugs(target).has(decodeURIComponent(m[2]!))) broken.push(`${file}: ${m[0]}`)
      }
    expect(broken).toEqual([])
  })

  it('lists the blocks it skips', () => {
    // Visible on every run, so that a skip is never forgotten.
    console.info(
      `docs code blocks: ${checked.length} type-checked, ${skipped.length} skipped:\n` +
        skipped.map((b) => `  ${b.file}:${b.line} (${b.flags.join(' ')})`).join('\n'),
    )
    for (const b of skipped) expect(b.flags.some((f) => SKIP_FLAGS.includes(f))).toBe(true)
  })
})
