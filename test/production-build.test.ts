// @vitest-environment node
import { fileURLToPath } from 'node:url'
import { build, type Rolldown } from 'vite'
import { describe, expect, it } from 'vitest'

// What ships: production bundles carry neither the devtools integration nor the simulator.

const root = fileURLToPath(new URL('..', import.meta.url))

/** Builds in memory. Vitest runs with NODE_ENV=test, which Vite would bake in; a real build has NODE_ENV unset or production. */
async function bundle(options: Parameters<typeof build>[0], nodeEnv = 'production'): Promise<string> {
  const saved = process.env.NODE_ENV
  process.env.NODE_ENV = nodeEnv
  const result = (await build({ logLevel: 'silent', ...options }).finally(() => (process.env.NODE_ENV = saved))) as
    Rolldown.RolldownOutput | Rolldown.RolldownOutput[]
  const outputs = Array.isArray(result) ? result : [result]
  return outputs
    .flatMap((o) => o.output)
    .map((chunk) => (chunk.type === 'chunk' ? chunk.code : ''))
    .join('\n')
}

function appBuild(mode: 'production' | 'development') {
  return bundle(
    {
      configFile: false,
      root,
      mode,
      define: { 'process.env.NODE_ENV': JSON.stringify(mode) },
      build: {
        write: false,
        minify: mode === 'production',
        lib: { entry: 'test/fixtures/app-entry.ts', formats: ['es'], fileName: 'app' },
        rolldownOptions: { external: [/^vue/, /^pinia/, /^@apps-in-toss\//, /^@vueuse\//] },
      },
    },
    mode,
  )
}

describe('production builds', () => {
  it('leave the devtools integration out of an app built for production, and keep it in development', async () => {
    const production = await appBuild('production')
    expect(production).not.toContain('Toss IAP')
    expect(production).not.toContain('@vue/devtools-api')
    const development = await appBuild('development')
    expect(development).toContain('Toss IAP')
    expect(development).toContain('addTimelineLayer')
  }, 60_000)

  it('leave the simulator out of the playground unless asked for', async () => {
    const playground = (env?: string) => {
      if (env) process.env.VITE_TOSS_SIMULATOR = env
      else delete process.env.VITE_TOSS_SIMULATOR
      return bundle({ configFile: 'playground/vite.config.ts', build: { write: false } }).finally(
        () => delete process.env.VITE_TOSS_SIMULATOR,
      )
    }
    const plain = await playground()
    expect(plain).toContain('/api/iap/fulfill') // the app itself is there
    expect(plain).not.toContain('installTossSimulator needs a window')
    expect(plain).not.toContain('playground:toss-ledger')
    // vite-plugin-vue-devtools serves the DevTools in `vite dev` only.
    expect(plain).not.toMatch(/__devtools__|vue-devtools|__VUE_DEVTOOLS_KIT/)
    const withSimulator = await playground('true')
    expect(withSimulator).toContain('installTossSimulator needs a window')
  }, 60_000)
})
