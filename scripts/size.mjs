// Bundle sizes as an app would ship them: esbuild, minified, NODE_ENV=production, with vue,
// pinia, @vueuse/*, the SDK and @vue/devtools-api left to the app (they are its dependencies
// anyway). Every library is measured the same way in the same run.
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const EXTERNAL = ['vue', 'pinia', '@vueuse/*', '@apps-in-toss/*', '@vue/devtools-api']

/** Gzip budgets in bytes, checked by `npm run check:package` (scripts/check-size.mjs). */
export const BUDGETS = {
  'vue-toss-iap (whole main entry)': 11 * 1024,
  'vue-toss-iap: createTossIap + usePurchase': 9 * 1024,
}

export async function measure(name, contents) {
  const result = await build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'ts', sourcefile: `${name}.ts` },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    write: false,
    external: EXTERNAL,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  const code = result.outputFiles[0].contents
  return { name, min: code.length, gzip: gzipSync(code, { level: 9 }).length, brotli: brotliCompressSync(code).length }
}

export const ENTRIES = {
  'vue-toss-iap (whole main entry)': "export * from './src/index.ts'",
  'vue-toss-iap: createTossIap + usePurchase': "export { createTossIap, usePurchase } from './src/index.ts'",
  'vue-toss-iap/testing': "export * from './src/testing/index.ts'",
  'vue-toss-iap/messages': "export * from './src/messages/index.ts'",
  '@pinia/colada: useQuery + useMutation + PiniaColada': "export { useQuery, useMutation, PiniaColada } from '@pinia/colada'",
  '@tanstack/vue-query: useQuery + useMutation + VueQueryPlugin':
    "export { useQuery, useMutation, VueQueryPlugin } from '@tanstack/vue-query'",
}

export async function measureAll() {
  const rows = []
  for (const [name, contents] of Object.entries(ENTRIES)) rows.push(await measure(name, contents))
  return rows
}
