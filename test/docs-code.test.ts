// @vitest-environment node
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// Every TypeScript and Vue block of the READMEs compiles, as a user would paste it, under a strict
// tsconfig with the package's public entries. In docs/, complete modules (blocks with an import)
// are checked; fragments that continue the text around them are not.
//
// Info-string flags: ```ts pending-api (uses an API the lead has not merged into this branch yet;
// skipped, and listed on every run) and ```ts sketch (pseudo-code around your own services).

const README_FILES = ['README.md', 'README.ko.md']
const DOC_FILES = ['docs/reference.md', 'docs/reference.ko.md', 'docs/apps-in-toss.md', 'docs/apps-in-toss.ko.md']

interface Block {
  file: string
  line: number
  lang: 'ts' | 'vue'
  flags: string[]
  code: string
}

function blocks(file: string): Block[] {
  if (!existsSync(file)) return []
  const found: Block[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|vue)\b(.*)$/.exec(lines[i]!)
    if (!open) continue
    const start = i
    const body: string[] = []
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!)
    found.push({
      file,
      line: start + 1,
      lang: open[1] as 'ts' | 'vue',
      flags: open[2]!.trim().split(/\s+/).filter(Boolean),
      code: body.join('\n'),
    })
  }
  return found
}

const all = [...README_FILES.flatMap(blocks), ...DOC_FILES.flatMap(blocks)]
const skipped = all.filter((b) => b.flags.includes('pending-api') || b.flags.includes('sketch'))
const checked = all.filter((b) => !skipped.includes(b) && (README_FILES.includes(b.file) || /^import /m.test(b.code) || b.lang === 'vue'))

// The blocks are written to the same place on every run, with vue-tsc's incremental build info
// beside them: what did not change since the last run (the SDK's and Vue's types, unchanged
// blocks) is not checked again. The blocks are written afresh each run (a block that left the docs
// leaves no file behind); the build info keys each file by its content, so a change anywhere is
// checked again, and the errors of a file that did not change are reported again from it.
const cache = join(process.cwd(), 'node_modules', '.cache', 'vue-toss-iap-test', 'docs-code')
const dir = join(cache, 'blocks')
const buildInfo = join(cache, 'docs-code.tsbuildinfo')

describe('code blocks in the docs', () => {
  it("finds the READMEs' blocks", () => {
    expect(checked.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(2)
  })

  it('every checked block type-checks under strict settings', () => {
    // Names an example imports from the app itself.
    const stubs: Record<string, string> = {
      'App.vue': '<template><main /></template>\n',
      'BuyButton.vue':
        '<script setup lang="ts">\nimport { usePurchase } from \'vue-toss-iap\'\nconst { purchase } = usePurchase(\'gem-100\')\n</script>\n<template><button @click="purchase()">Buy</button></template>\n',
      'auth.ts': "export async function getToken(): Promise<string> {\n  return 'token'\n}\n",
      // The README's server module, as `tossIapDev({ endpoints })` imports it lazily.
      'server.ts': 'export declare const fulfil: (request: Request) => Promise<Response>\n',
      'env.d.ts': '/// <reference types="vite/client" />\n',
    }
    const root = process.cwd()
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    checked.forEach((block, n) => {
      const blockDir = join(dir, `b${n}`)
      mkdirSync(blockDir)
      for (const [name, text] of Object.entries(stubs)) writeFileSync(join(blockDir, name), text)
      writeFileSync(join(blockDir, block.lang === 'vue' ? 'Example.vue' : 'example.ts'), `${block.code}\n`)
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
            'vue-toss-iap/messages': ['src/messages/index.ts'],
            'vue-toss-iap/server': ['src/server/index.ts'],
            'vue-toss-iap/vite': ['src/vite/index.ts'],
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
    const named = output.replace(/b(\d+)[\\/](example\.ts|Example\.vue)/g, (_, n: string) => {
      const b = checked[Number(n)]!
      return `${b.file}:${b.line}`
    })
    expect(named).toBe('')
  }, 120_000)

  it('lists the blocks it skips', () => {
    // Visible on every run, so that a skip is never forgotten.
    console.info(
      `docs code blocks: ${checked.length} type-checked, ${skipped.length} skipped:\n` +
        skipped.map((b) => `  ${b.file}:${b.line} (${b.flags.join(' ')})`).join('\n'),
    )
    for (const b of skipped) expect(b.flags.some((f) => f === 'pending-api' || f === 'sketch')).toBe(true)
  })
})
